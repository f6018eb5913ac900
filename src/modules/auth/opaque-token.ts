import { randomBytes } from "node:crypto";

/**
 * The opaque tokens of SPEC §10, built like stored keys: a prefix, 56 hex characters of CSPRNG
 * output (224 bits), then the CRC-32 of everything before it, 68 characters in all. A guess or
 * a truncated copy fails the checksum without a store lookup, and secret scanners can
 * recognise them offline (`\btg[sp]_[0-9a-f]{64}\b`). Only their SHA-256 is ever stored.
 *
 * - `tgs_`: a session of a person who signed in (`Authorization: Bearer`, the dashboard cookie).
 * - `tgp_`: a one-time link that sets a password (first-person setup, an invite).
 */
export type OpaqueTokenKind = "tgs" | "tgp";

const RANDOM_BYTES = 28;
const TOKEN_LENGTH = 4 + RANDOM_BYTES * 2 + 8;
const PATTERNS: Record<OpaqueTokenKind, RegExp> = {
  tgs: /^tgs_[0-9a-f]{64}$/,
  tgp: /^tgp_[0-9a-f]{64}$/,
};

function checksum(body: string): string {
  return (Bun.hash.crc32(body) >>> 0).toString(16).padStart(8, "0");
}

export function generateOpaqueToken(kind: OpaqueTokenKind): string {
  const body = `${kind}_${randomBytes(RANDOM_BYTES).toString("hex")}`;
  return body + checksum(body);
}

/** Format and checksum only; says nothing about whether the token exists. */
export function isWellFormedOpaqueToken(token: string, kind: OpaqueTokenKind): boolean {
  if (token.length !== TOKEN_LENGTH || !PATTERNS[kind].test(token)) return false;
  return checksum(token.slice(0, -8)) === token.slice(-8);
}
