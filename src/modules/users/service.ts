import type { Static } from "elysia";
import { type Db, sql } from "../../db";
import { nowIso } from "../../db/ids";
import type { Principal } from "../auth/model";
import type { MeSchema, UserSchema, UserWithTenantRow } from "./model";

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

export function findUser(db: Db, tenantId: string, userId: string): UserWithTenantRow | undefined {
  return sql(
      db,
      `SELECT u.*, t.name AS tenant_name FROM users u JOIN tenants t ON t.id = u.tenant_id
       WHERE u.tenant_id = ? AND u.id = ?`,
    ).get(tenantId, userId) as UserWithTenantRow | undefined;
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
export function describeMe(db: Db, principal: Principal): Static<typeof MeSchema> | undefined {
  const row = findUser(db, principal.tenantId, principal.userId);
  if (!row) return undefined;
  const { credential } = principal;
  return {
    ...toUserResponse(row),
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
