import { type Queries } from "../../db";
import { nextUlid } from "../../db/ids";
import { sha256Hex } from "../auth/hash";
import type { StoredSessionRecord, UserType } from "../auth/model";
import { generateOpaqueToken, isWellFormedOpaqueToken } from "../auth/opaque-token";

// The sessions and password_tokens tables (migration 009) at their lowest level: no caller, no
// audit. Evicting a revoked session from a server's cache is the caller's part, with the
// token hashes these functions return; other servers see the change through the credential
// generation the triggers bump.

export interface SessionRow {
  id: string;
  token_hash: string;
  tenant_id: string;
  user_id: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

export interface OpenedSession {
  /** The token itself: handed to the person once, never stored. */
  token: string;
  session: SessionRow;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The cold path of verifying a bearer token, handed to the authenticator. Two primary-key reads. */
export async function findVerifiableSession(db: Queries, tokenHash: string): Promise<StoredSessionRecord | undefined> {
  const session = (await db.get(
    "SELECT id, token_hash, tenant_id, user_id, expires_at, revoked_at FROM sessions WHERE token_hash = ?",
    tokenHash,
  )) as Omit<StoredSessionRecord, "owner_type" | "owner_status" | "owner_roles"> | undefined;
  if (!session) return undefined;
  const owner = (await db.get(
    "SELECT type, status, roles FROM users WHERE id = ? AND tenant_id = ?",
    session.user_id,
    session.tenant_id,
  )) as { type: UserType; status: StoredSessionRecord["owner_status"]; roles: string } | undefined;
  if (!owner) return undefined;
  return { ...session, owner_type: owner.type, owner_status: owner.status, owner_roles: owner.roles };
}

/**
 * A new session for a user account, lasting `ttlSeconds` from `now`. The account's sessions
 * that have ended (expired, or revoked and past their expiry) are removed on the way, so the
 * table holds no more than the sessions that could still be in use.
 */
export async function insertSession(
  db: Queries,
  input: { tenantId: string; userId: string; ttlSeconds: number; now?: number },
): Promise<OpenedSession> {
  const now = input.now ?? Date.now();
  const token = generateOpaqueToken("tgs");
  const session: SessionRow = {
    id: `ses_${nextUlid()}`,
    token_hash: sha256Hex(token),
    tenant_id: input.tenantId,
    user_id: input.userId,
    created_at: iso(now),
    expires_at: iso(now + input.ttlSeconds * 1000),
    revoked_at: null,
  };
  await db.run(
    "DELETE FROM sessions WHERE tenant_id = ? AND user_id = ? AND expires_at <= ?",
    input.tenantId,
    input.userId,
    session.created_at,
  );
  await db.run(
    `INSERT INTO sessions (id, token_hash, tenant_id, user_id, created_at, expires_at, revoked_at)
     VALUES (@id, @token_hash, @tenant_id, @user_id, @created_at, @expires_at, @revoked_at)`,
    session,
  );
  return { token, session };
}

/** Ends one live session. Returns its token hash (to evict it), or undefined if it had already ended. */
export async function revokeSession(
  db: Queries,
  tenantId: string,
  sessionId: string,
  at = Date.now(),
): Promise<string | undefined> {
  return (await db.value(
    `UPDATE sessions SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL RETURNING token_hash`,
    iso(at),
    tenantId,
    sessionId,
  )) as string | undefined;
}

/** Ends every live session of an account. Returns their token hashes, to evict them. */
export async function revokeSessionsOf(
  db: Queries,
  tenantId: string,
  userId: string,
  at = Date.now(),
): Promise<string[]> {
  return (await db.values(
    `UPDATE sessions SET revoked_at = ? WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL RETURNING token_hash`,
    iso(at),
    tenantId,
    userId,
  )) as string[];
}

export type PasswordTokenPurpose = "setup" | "set_password";

export interface PasswordTokenRow {
  id: string;
  token_hash: string;
  purpose: PasswordTokenPurpose;
  tenant_id: string;
  user_id: string;
  created_by: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface IssuedPasswordToken {
  /** The token itself, for the link: shown once, never stored. */
  token: string;
  row: PasswordTokenRow;
}

/**
 * A one-time link token that sets an account's password. An invite's link retires the account's
 * earlier ones. Setup links are each a start's (SPEC §10): several instances on one PostgreSQL
 * database each print their own, so every live one works until one is used (then someone can
 * sign in and none works) or its hour is over; issuing one removes the used and expired ones.
 */
export async function issuePasswordToken(
  db: Queries,
  input: {
    purpose: PasswordTokenPurpose;
    tenantId: string;
    userId: string;
    createdBy: string | null;
    ttlSeconds: number;
    now?: number;
  },
): Promise<IssuedPasswordToken> {
  const now = input.now ?? Date.now();
  const token = generateOpaqueToken("tgp");
  const row: PasswordTokenRow = {
    id: `pwt_${nextUlid()}`,
    token_hash: sha256Hex(token),
    purpose: input.purpose,
    tenant_id: input.tenantId,
    user_id: input.userId,
    created_by: input.createdBy,
    created_at: iso(now),
    expires_at: iso(now + input.ttlSeconds * 1000),
    used_at: null,
  };
  if (input.purpose === "setup") {
    await db.run(
      "DELETE FROM password_tokens WHERE purpose = 'setup' AND (used_at IS NOT NULL OR expires_at <= ?)",
      row.created_at,
    );
  } else {
    await db.run(
      "DELETE FROM password_tokens WHERE tenant_id = ? AND user_id = ? AND purpose = ?",
      input.tenantId,
      input.userId,
      input.purpose,
    );
  }
  await db.run(
    `INSERT INTO password_tokens (id, token_hash, purpose, tenant_id, user_id, created_by, created_at, expires_at, used_at)
     VALUES (@id, @token_hash, @purpose, @tenant_id, @user_id, @created_by, @created_at, @expires_at, @used_at)`,
    row,
  );
  return { token, row };
}

/** A live (unused, unexpired) link token of this purpose, or undefined. Malformed tokens are not looked up. */
export async function findPasswordToken(
  db: Queries,
  token: string,
  purpose: PasswordTokenPurpose,
  now = Date.now(),
): Promise<PasswordTokenRow | undefined> {
  if (!isWellFormedOpaqueToken(token, "tgp")) return undefined;
  const row = (await db.get("SELECT * FROM password_tokens WHERE token_hash = ?", sha256Hex(token))) as
    PasswordTokenRow | undefined;
  if (!row || row.purpose !== purpose || row.used_at !== null || Date.parse(row.expires_at) <= now) return undefined;
  return row;
}

/** Uses a link token up. False when it was already used (a second request racing the first). */
export async function markPasswordTokenUsed(db: Queries, id: string, at = Date.now()): Promise<boolean> {
  return (await db.run("UPDATE password_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL", iso(at), id)) === 1;
}

/** Retires the unused links of an account (it was archived, or its password was set another way). */
export async function retirePasswordTokensOf(db: Queries, tenantId: string, userId: string): Promise<void> {
  await db.run("DELETE FROM password_tokens WHERE tenant_id = ? AND user_id = ? AND used_at IS NULL", tenantId, userId);
}

/** How long a link lasts: the first person's setup link an hour (SPEC §10), an invite a week. */
export const PASSWORD_LINK_TTL_SECONDS: Record<PasswordTokenPurpose, number> = {
  setup: 3600,
  set_password: 7 * 24 * 3600,
};

/** Where each link leads: the dashboard's page for it, which calls the sign-in services. */
const LINK_PATHS: Record<PasswordTokenPurpose, string> = {
  setup: "/dashboard/setup",
  set_password: "/dashboard/set-password",
};

/** `http://host:port/dashboard/set-password?token=…` */
export function passwordLinkUrl(baseUrl: string, purpose: PasswordTokenPurpose, token: string): string {
  return `${baseUrl.replace(/\/+$/, "")}${LINK_PATHS[purpose]}?token=${token}`;
}
