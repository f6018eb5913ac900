import { type Queries, UniqueViolation } from "../../db";
import type { UserRow } from "../users/model";

// The user-account side of signing in. Sign-in is by email alone (Flexprice's login names no
// tenant), so these are the queries that look across tenants: migration 009 makes an email
// sign in to at most one account, and every other query stays within one tenant.

/** User accounts with this email in any letter case (SQLite's lower()), the one that can sign in first. */
export async function accountsByEmail(db: Queries, email: string): Promise<UserRow[]> {
  return (await db.all(
    `SELECT * FROM users
     WHERE lower(email) = lower(?) AND email IS NOT NULL AND type = 'user'
     ORDER BY (status = 'published' AND password_hash IS NOT NULL) DESC, (status = 'published') DESC, created_at, id
     LIMIT 8`,
    email.trim(),
  )) as UserRow[];
}

export function canSignIn(account: UserRow): boolean {
  return account.type === "user" && account.status === "published" && account.password_hash !== null;
}

/** Whether anyone at all can sign in: while no one can, `tollgate serve` prints a setup link. */
export async function someoneCanSignIn(db: Queries): Promise<boolean> {
  return (
    (await db.value(
      "SELECT 1 FROM users WHERE type = 'user' AND status = 'published' AND password_hash IS NOT NULL LIMIT 1",
    )) !== undefined
  );
}

/** Whether another live account (of any tenant) already signs in with this email. */
export async function emailSignsInElsewhere(db: Queries, email: string, exceptUserId: string | null): Promise<boolean> {
  return (
    (await db.value(
      `SELECT 1 FROM users WHERE lower(email) = lower(?) AND email IS NOT NULL AND type = 'user'
       AND status = 'published' AND password_hash IS NOT NULL AND id IS DISTINCT FROM ?`,
      email,
      exceptUserId,
    )) !== undefined
  );
}

/** Whether another account of the tenant has this email (SPEC §4: unique per tenant). */
export async function emailTakenInTenant(
  db: Queries,
  tenantId: string,
  email: string,
  exceptUserId: string | null,
): Promise<boolean> {
  return (
    (await db.value(
      "SELECT 1 FROM users WHERE tenant_id = ? AND lower(email) = lower(?) AND id IS DISTINCT FROM ?",
      tenantId,
      email,
      exceptUserId,
    )) !== undefined
  );
}

/** The account's password hash as the store has it now (null: none, or no such live user account). */
export async function currentPasswordHash(db: Queries, tenantId: string, userId: string): Promise<string | null> {
  return (
    ((await db.value(
      "SELECT password_hash FROM users WHERE tenant_id = ? AND id = ? AND type = 'user' AND status = 'published'",
      tenantId,
      userId,
    )) as string | null | undefined) ?? null
  );
}

export async function storePasswordHash(db: Queries, tenantId: string, userId: string, hash: string): Promise<void> {
  await db.run("UPDATE users SET password_hash = ? WHERE tenant_id = ? AND id = ?", hash, tenantId, userId);
}

/** A unique-constraint failure: the store caught what a check could only race. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof UniqueViolation;
}
