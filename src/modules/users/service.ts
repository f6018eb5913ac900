import type { Static } from "elysia";
import { type Db, sql, sqlPluck } from "../../db";
import { nowIso } from "../../db/ids";
import type { Principal } from "../auth/model";
import type { MeSchema, UserRow, UserSchema, UserWithTenantRow } from "./model";
import type { UserProfile } from "./profile-cache";

/** User accounts have full access; they are shown, and their keys minted, as super_admin. */
export const USER_ACCOUNT_ROLES = ["super_admin"];

/** Creates a user account for a config key that names one not yet in the store. Idempotent. */
export function ensureUserAccount(db: Db, tenantId: string, userId: string, name: string): void {
  const now = nowIso();
  sql(db, 
    `INSERT OR IGNORE INTO users (id, tenant_id, type, name, roles, status, created_at, updated_at)
     VALUES (?, ?, 'user', ?, ?, 'published', ?, ?)`,
  ).run(userId, tenantId, name, JSON.stringify(USER_ACCOUNT_ROLES), now, now);
}

/**
 * Two primary-key lookups rather than a join: better-sqlite3's build re-plans joined statements
 * on every run (about 15 µs here), and this is on the path of every `GET /v1/users/me`.
 */
export function findUser(db: Db, tenantId: string, userId: string): UserWithTenantRow | undefined {
  const user = sql(db, "SELECT * FROM users WHERE id = ? AND tenant_id = ?").get(userId, tenantId) as
    | UserRow
    | undefined;
  if (!user) return undefined;
  const tenantName = sqlPluck(db, "SELECT name FROM tenants WHERE id = ?").get(tenantId) as string;
  return { ...user, tenant_name: tenantName };
}

export function toUserResponse(row: UserWithTenantRow): Static<typeof UserSchema> {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    email: row.email,
    roles: JSON.parse(row.roles),
    status: row.status,
    tenant: { id: row.tenant_id, name: row.tenant_name },
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The caller as it sees itself: its account, where it is acting, and with which credential. */
export function describeMe(profile: UserProfile, principal: Principal): Static<typeof MeSchema> {
  const { credential } = principal;
  return {
    id: profile.id,
    type: profile.type,
    name: profile.name,
    email: profile.email,
    roles: profile.roles,
    status: profile.status,
    tenant: profile.tenant,
    created_at: profile.created_at,
    updated_at: profile.updated_at,
    environment_id: principal.environmentId,
    credential: {
      kind: credential.kind,
      id: credential.id,
      type: credential.type,
      roles: credential.roles,
      expires_at: credential.expiresAt,
    },
  };
}
