// AES-256-GCM for integration credentials (SPEC §12), with node:crypto: no hand-rolled crypto.
// A stored value reads `v1.<key id>.<nonce>.<ciphertext+tag>` (base64url parts): the format
// version, the fingerprint of the master key that sealed it (so a wrong key is named at start and
// a rotation can tell old rows from new), a random 96-bit nonce, and GCM's output. The additional
// data binds the value to its row (secret id, tenant, environment): a value copied into another
// row does not open.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

/** Where the master key is configured; every message about it names both. */
export const KEY_SETTING = "secrets.encryption_key (TOLLGATE_SECRETS_ENCRYPTION_KEY)";

const FORMAT = "v1";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * 32 bytes, as 64 hex characters or as base64 (standard or url-safe, padded or not); null for
 * anything else. The error is the caller's to word: config names the setting.
 */
export function parseEncryptionKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
  if (!/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(trimmed)) return null;
  const bytes = Buffer.from(trimmed.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return bytes.length === 32 ? bytes : null;
}

/** A new random master key, as 64 hex characters. */
export function generateEncryptionKey(): string {
  return randomBytes(32).toString("hex");
}

/** What a sealed value is bound to. */
export interface SealedTo {
  secretId: string;
  tenantId: string;
  environmentId: string;
}

/** A value that does not open under this key for this row: tampered, moved, or another key's. */
export class UnsealError extends Error {}

export class SecretBox {
  /** 8 hex characters of HMAC(key, …): names the key without revealing anything of it. */
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error("The master key must be 32 bytes");
    this.keyId = keyIdOf(key);
  }

  seal(plaintext: string, to: SealedTo): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    cipher.setAAD(additionalData(to));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return [FORMAT, this.keyId, nonce.toString("base64url"), body.toString("base64url")].join(".");
  }

  open(sealed: string, to: SealedTo): string {
    const parts = sealed.split(".");
    if (parts.length !== 4 || parts[0] !== FORMAT) throw new UnsealError("Unknown sealed value format");
    if (parts[1] !== this.keyId) throw new UnsealError("Sealed under another master key");
    const nonce = Buffer.from(parts[2] as string, "base64url");
    const body = Buffer.from(parts[3] as string, "base64url");
    if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) throw new UnsealError("Malformed sealed value");
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, nonce);
      decipher.setAAD(additionalData(to));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      throw new UnsealError("Sealed value does not authenticate for this row");
    }
  }
}

/** The key id a sealed value names (its second part), or null when it is not one. */
export function keyIdOfSealed(sealed: string): string | null {
  const parts = sealed.split(".");
  return parts.length === 4 && parts[0] === FORMAT ? (parts[1] as string) : null;
}

function keyIdOf(key: Buffer): string {
  return createHmac("sha256", key).update("tollgate integration secrets key id").digest("hex").slice(0, 8);
}

function additionalData({ secretId, tenantId, environmentId }: SealedTo): Buffer {
  return Buffer.from(JSON.stringify(["tollgate.integration.v1", secretId, tenantId, environmentId]), "utf8");
}
