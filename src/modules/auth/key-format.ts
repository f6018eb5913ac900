import { randomBytes } from "node:crypto";

export type KeyKind = "sk" | "pk";
export type KeyMode = "live" | "test";

const KEY_PATTERN = /^(sk|pk)_(live|test)_[0-9a-f]{64}$/;
export const STORED_KEY_LENGTH = 72;
const RANDOM_BYTES = 28;

function checksum(body: string): string {
  return (Bun.hash.crc32(body) >>> 0).toString(16).padStart(8, "0");
}

/**
 * `{sk|pk}_{live|test}_` + 56 hex of CSPRNG output + the CRC-32 of everything before it, so
 * typos and random guesses are rejected without a lookup and scanners can spot real keys offline.
 */
export function generateApiKey(kind: KeyKind, mode: KeyMode): string {
  const body = `${kind}_${mode}_${randomBytes(RANDOM_BYTES).toString("hex")}`;
  return body + checksum(body);
}

/** Format and checksum only; says nothing about whether the key exists. */
export function isWellFormedApiKey(key: string): boolean {
  if (key.length !== STORED_KEY_LENGTH || !KEY_PATTERN.test(key)) return false;
  return checksum(key.slice(0, -8)) === key.slice(-8);
}

/** `sk_test_3f9a***c0de`: enough to tell keys apart in a list, too little to use. */
export function displayIdOf(key: string): string {
  return `${key.slice(0, 12)}***${key.slice(-4)}`;
}
