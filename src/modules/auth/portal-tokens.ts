import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { type Queries, SqliteStore, type Store } from "../../db";
import { nextUlid, nowIso } from "../../db/ids";
import { ApiError } from "../../http/errors";

/** A portal token names this audience; an API-key JWT or any other token of ours never does. */
const AUDIENCE = "tollgate:customer-portal";
const ISSUER = "tollgate";
/** Where versions before the key file kept the generated key, in clear; moved out at start. */
const LEGACY_SIGNING_KEY_SETTING = "customer_portal.signing_key";
/** The generated key's file: the database path plus this. */
export const PORTAL_KEY_FILE_SUFFIX = ".portal-key";
const GENERATED_KEY_BYTES = 32;
/** A session id: the ULID the token was issued with (upper-case Crockford base32). */
const SESSION_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export interface PortalSession {
  tenantId: string;
  environmentId: string;
  customerId: string;
  externalId: string;
}

export const INVALID_SESSION = () => new ApiError(401, "permission_denied", "Invalid or expired session token");
export const SESSION_REQUIRED = () => new ApiError(401, "permission_denied", "Session token required");

/**
 * Customer-portal session tokens: HS256 JWTs signed with a key used for nothing else, bound to
 * one customer in one tenant and environment, with an audience, an expiry and a session id.
 *
 * A token is honoured for at most the configured TTL from its `iat`, whatever its `exp` says
 * (so a token minted with a long `exp`, or under a longer TTL before a restart, is capped), and
 * only if it was issued after the customer's last "sign out everywhere".
 *
 * The signing key: `customer_portal.signing_key` when configured (required on PostgreSQL, where
 * every server must sign with the same key and the database is no place for it; see config).
 * Otherwise a generated one, kept out of the database: in `<database path>.portal-key` (32 random
 * bytes, mode 0600) beside a SQLite file, so a copy of the database alone cannot forge sessions;
 * a per-store random key for an in-memory store (its sessions end with the process, as its data
 * does).
 */
export class PortalTokens {
  readonly #key: Uint8Array;

  private constructor(
    private readonly db: Queries,
    key: Uint8Array,
    readonly ttlSeconds: number,
  ) {
    this.#key = key;
  }

  static async open(store: Store, configuredKey: string, ttlSeconds: number): Promise<PortalTokens> {
    return new PortalTokens(store, await signingKey(store, configuredKey), ttlSeconds);
  }

  async issue(session: PortalSession): Promise<{ token: string; expiresAt: string }> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + this.ttlSeconds;
    const token = await new SignJWT({ tid: session.tenantId, env: session.environmentId, ext: session.externalId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(session.customerId)
      // Monotonic: orders this session against a revocation even within one millisecond.
      .setJti(nextUlid())
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /**
   * The session a token carries; any defect (signature, audience, expiry, a lifetime over the
   * TTL, an `iat` in the future, a revoked session, shape) is a 401.
   */
  async verify(token: string): Promise<PortalSession> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: ["HS256"],
        audience: AUDIENCE,
        issuer: ISSUER,
        requiredClaims: ["sub", "exp", "iat", "jti"],
        // Refuses an iat older than the TTL, and an iat in the future.
        maxTokenAge: this.ttlSeconds,
      });
      const { tid, env, ext, sub, jti, iat, exp } = payload;
      if (
        typeof tid !== "string" ||
        typeof env !== "string" ||
        typeof ext !== "string" ||
        typeof sub !== "string" ||
        typeof jti !== "string" ||
        !SESSION_ID.test(jti) ||
        // A lifetime longer than the TTL was not issued here (or was, under an older TTL).
        (exp as number) - (iat as number) > this.ttlSeconds ||
        (await isRevoked(this.db, sub, jti))
      ) {
        throw INVALID_SESSION();
      }
      return { tenantId: tid, environmentId: env, customerId: sub, externalId: ext };
    } catch (error) {
      if (error instanceof ApiError || error instanceof joseErrors.JOSEError) throw INVALID_SESSION();
      throw error;
    }
  }
}

/**
 * "Sign out everywhere" for one customer, inside the caller's transaction: every session issued
 * before this call is refused from now on. The boundary is a fresh ULID from the same monotonic
 * source as session ids, so a session issued in the same millisecond just before is refused and
 * one issued just after is not. Returns when, for the audit row.
 */
export async function revokeSessionsOf(db: Queries, customerId: string): Promise<string> {
  const revokedAt = nowIso();
  await db.run(
    `INSERT INTO customer_portal_revocations (customer_id, revoked_through, revoked_at) VALUES (?, ?, ?)
     ON CONFLICT (customer_id) DO UPDATE SET revoked_through = excluded.revoked_through, revoked_at = excluded.revoked_at`,
    customerId,
    nextUlid(),
    revokedAt,
  );
  return revokedAt;
}

async function isRevoked(db: Queries, customerId: string, sessionId: string): Promise<boolean> {
  const through = (await db.value(
    "SELECT revoked_through FROM customer_portal_revocations WHERE customer_id = ?",
    customerId,
  )) as string | undefined;
  return through !== undefined && sessionId <= through;
}

async function signingKey(store: Store, configuredKey: string): Promise<Uint8Array> {
  // Only a SQLite store can hold an older version's generated key, or have a file beside it.
  const sqlite = store instanceof SqliteStore ? store : null;
  if (configuredKey) {
    // A key an older version generated is unused now; it has no business in the store.
    if (sqlite) await forgetLegacyKey(sqlite);
    return new TextEncoder().encode(configuredKey);
  }
  if (sqlite === null) throw new Error("customer_portal.signing_key is required with a PostgreSQL store");
  if (sqlite.path === null) return randomBytes(GENERATED_KEY_BYTES);
  return await keyFileBeside(sqlite, `${sqlite.path}${PORTAL_KEY_FILE_SUFFIX}`);
}

/**
 * The key in the key file, made on first start. A store that still holds an older version's
 * generated key in clear gets that key moved to the file (so its open sessions keep working)
 * and removed from the store. The file is written first and the row deleted after, so a crash
 * between the two loses nothing: the next start finds the file and deletes the row.
 */
async function keyFileBeside(db: SqliteStore, path: string): Promise<Uint8Array> {
  let key = readKeyFile(path);
  if (!key) {
    const legacy = (await db.value("SELECT value FROM settings WHERE key = ?", LEGACY_SIGNING_KEY_SETTING)) as
      string | undefined;
    // The old key was used as the UTF-8 bytes of its text: keep exactly those bytes.
    key = createKeyFile(path, legacy === undefined ? randomBytes(GENERATED_KEY_BYTES) : Buffer.from(legacy, "utf8"));
  }
  await forgetLegacyKey(db);
  return key;
}

function readKeyFile(path: string): Buffer | undefined {
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  if (key.length < GENERATED_KEY_BYTES) {
    throw new Error(
      `The customer-portal signing key file ${path} holds ${key.length} bytes, fewer than ${GENERATED_KEY_BYTES}: ` +
        "restore it, or delete it to generate a new key (open portal sessions then end)",
    );
  }
  return key;
}

/**
 * Writes the key atomically with mode 0600: to a private temporary file, synced, then hard-linked
 * to its name, which fails if the name exists. So a reader never sees half a key, and of two
 * processes starting at once on one store the first key wins and both use it. Returns the key
 * the file holds.
 */
function createKeyFile(path: string, key: Buffer): Buffer {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temporary, "wx", 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      // Another process made it first: use theirs.
    } else if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "ENOSYS") {
      // A file system without hard links: rename, which is atomic too but replaces.
      renameSync(temporary, path);
    } else {
      throw error;
    }
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      // Renamed away already.
    }
  }
  syncDirectory(dirname(path));
  return readKeyFile(path) as Buffer;
}

function syncDirectory(path: string): void {
  try {
    const fd = openSync(path, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform lets a directory be opened for fsync; the file itself is synced.
  }
}

/**
 * Deletes an older version's generated key from the store, overwriting the freed bytes
 * (secure_delete) and checkpointing the WAL so the database file is rewritten now rather than
 * at some later checkpoint. Best effort against copies made earlier: backups, old WAL frames.
 */
async function forgetLegacyKey(store: SqliteStore): Promise<void> {
  const present = await store.value("SELECT 1 FROM settings WHERE key = ?", LEGACY_SIGNING_KEY_SETTING);
  if (!present) return;
  const { db } = store;
  const secureDelete = db.pragma("secure_delete", { simple: true }) as number;
  db.pragma("secure_delete = ON");
  try {
    await store.run("DELETE FROM settings WHERE key = ?", LEGACY_SIGNING_KEY_SETTING);
  } finally {
    db.pragma(`secure_delete = ${secureDelete === 2 ? "FAST" : secureDelete ? "ON" : "OFF"}`);
  }
  if (store.path !== null) db.pragma("wal_checkpoint(TRUNCATE)");
}
