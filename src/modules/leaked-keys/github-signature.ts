// GitHub's secret scanning partner program (docs.github.com: "Secret scanning partner program").
// A delivery carries `Github-Public-Key-Identifier` (which of GitHub's keys signed it) and
// `Github-Public-Key-Signature` (base64 of an ASN.1 DER ECDSA signature, P-256 with SHA-256, over
// the raw body). GitHub lists its keys at https://api.github.com/meta/public_keys/secret_scanning;
// Tollgate reads them from config only (leaked_keys.github.public_keys) and never calls GitHub.
import { type KeyObject, verify } from "node:crypto";
import { parseGithubPublicKey } from "../../config/github-keys";

export const GITHUB_KEY_IDENTIFIER_HEADER = "github-public-key-identifier";
export const GITHUB_SIGNATURE_HEADER = "github-public-key-signature";

/** Every way a delivery can fail its check; the server log names which, the caller never learns. */
export enum GithubRefusal {
  SignatureMissing = "signature_missing",
  UnknownKeyIdentifier = "unknown_key_identifier",
  SignatureMalformed = "signature_malformed",
  SignatureMismatch = "signature_mismatch",
}

/** What GitHub's meta API lists for one key, as config holds it. */
export interface GithubPublicKey {
  key_identifier: string;
  key: string;
}

/** GitHub's keys by identifier, parsed once (config validation has checked every one). */
export function githubKeysOf(keys: GithubPublicKey[]): Map<string, KeyObject> {
  const parsed = new Map<string, KeyObject>();
  for (const { key_identifier, key } of keys) {
    const publicKey = parseGithubPublicKey(key);
    if (typeof publicKey !== "string") parsed.set(key_identifier, publicKey);
  }
  return parsed;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** A DER ECDSA P-256 signature is at most 72 bytes: 96 base64 characters. Anything longer is not one. */
const SIGNATURE_MAX_CHARS = 96;

/** Checks a delivery's signature over its raw body; null when GitHub signed it. */
export function checkGithubSignature(
  keys: ReadonlyMap<string, KeyObject>,
  identifier: string | null,
  signature: string | null,
  body: Uint8Array,
): GithubRefusal | null {
  const id = identifier?.trim() ?? "";
  const sent = signature?.trim() ?? "";
  if (id === "" || sent === "") return GithubRefusal.SignatureMissing;
  const key = keys.get(id);
  if (key === undefined) return GithubRefusal.UnknownKeyIdentifier;
  if (sent.length > SIGNATURE_MAX_CHARS || !BASE64.test(sent)) return GithubRefusal.SignatureMalformed;
  let valid: boolean;
  try {
    valid = verify("sha256", body, { key, dsaEncoding: "der" }, Buffer.from(sent, "base64"));
  } catch {
    // Not DER at all: OpenSSL refuses to read it rather than answering false.
    return GithubRefusal.SignatureMalformed;
  }
  return valid ? null : GithubRefusal.SignatureMismatch;
}
