import type { Static } from "elysia";
import type { Config } from "../../config";
import type { Queries, Store } from "../../db";
import { newId, nowIso } from "../../db/ids";
import { ApiError, alreadyExists, invalidOperation, notFound, validationError } from "../../http/errors";
import { EMAIL_PATTERN, METADATA_MAX_KEYS } from "../../http/schemas";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import type { KeyCache } from "../auth/key-cache";
import { AccessOutcome, accessDenied, type Principal, type UserType } from "../auth/model";
import type { VerifiedKey } from "../auth/service";
import { USER_ACCOUNT_ROLES } from "../rbac/roles";
import {
  issuePasswordToken,
  PASSWORD_LINK_TTL_SECONDS,
  retirePasswordTokensOf,
  revokeSessionsOf,
} from "../sessions/store";
import type { RoleCatalog } from "../rbac/service";
import type { TenantRow } from "../tenants/model";
import { findTenant, toTenantResponse } from "../tenants/service";
import { type MeSchema, USER_MESSAGES, type UserRow, type UserSchema, type UserWithTenantRow } from "./model";
import type { ProfileCache, UserProfile } from "./profile-cache";
import { NO_LIMITS } from "../limits/model";

/**
 * The name the default tenant's first account has until its person chooses one (at setup): a
 * placeholder, never offered back to them as if it were their name.
 */
export const DEFAULT_USER_NAME = "Default User";

/** Creates a user account for a config key that names one not yet in the store. Idempotent. */
export async function ensureUserAccount(db: Queries, tenantId: string, userId: string, name: string): Promise<void> {
  const now = nowIso();
  await db.run(
    `INSERT INTO users (id, tenant_id, type, name, roles, status, created_at, updated_at)
     VALUES (?, ?, 'user', ?, ?, 'published', ?, ?) ON CONFLICT DO NOTHING`,
    userId,
    tenantId,
    name,
    JSON.stringify(USER_ACCOUNT_ROLES),
    now,
    now,
  );
}

/**
 * Two primary-key lookups rather than a join: better-sqlite3's SQLite build re-plans joined
 * statements on every run, which costs more than both lookups together.
 */
export async function findUser(db: Queries, tenantId: string, userId: string): Promise<UserWithTenantRow | undefined> {
  const user = (await db.get("SELECT * FROM users WHERE id = ? AND tenant_id = ?", userId, tenantId)) as
    UserRow | undefined;
  if (!user) return undefined;
  return await withTenant(db, user);
}

/** An account's row with its tenant's, as responses show it. */
async function withTenant(db: Queries, user: UserRow): Promise<UserWithTenantRow> {
  return { ...user, tenant: (await findTenant(db, user.tenant_id)) as TenantRow };
}

export function toUserResponse(row: UserWithTenantRow): Static<typeof UserSchema> {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    email: row.email,
    roles: JSON.parse(row.roles),
    metadata: JSON.parse(row.metadata),
    status: row.status,
    tenant: toTenantResponse(row.tenant),
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
    metadata: profile.metadata,
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

export interface AccountDeps {
  db: Store;
  keyCache: KeyCache<VerifiedKey>;
  /** Verified §10 sessions: archiving an account evicts its own. */
  sessionCache: KeyCache<VerifiedKey>;
  profiles: ProfileCache;
  config: Config;
  /** The roles a service account may hold: built-in and config's. */
  roles: RoleCatalog;
}

const EMAIL = new RegExp(EMAIL_PATTERN);

export interface CreateAccountInput {
  type: UserType;
  name?: string;
  email?: string;
  roles?: string[];
}

export interface CreatedAccount {
  row: UserWithTenantRow;
  /**
   * An invited user account's one-time set-password link token (SPEC §10: instead of a plain
   * password), shown once; only its SHA-256 is stored. The account has no password until it is used.
   */
  setPassword?: { token: string; expiresAt: string };
}

/** Checks a create request against SPEC.md §4, in the order its table lists the cases. */
function validateNewAccount(
  catalog: RoleCatalog,
  principal: Principal,
  input: CreateAccountInput,
): { email: string | null; roles: string[] } {
  if (input.type === "user") {
    if (principal.userType !== "user") throw accessDeniedWith(USER_MESSAGES.onlyUsersInvite);
    // As the Flexprice API: only a super_admin brings people in (an all_writer changes resources, not people).
    if (!principal.credential.roles.includes("super_admin")) throw accessDeniedWith(USER_MESSAGES.superAdminInvites);
    const email = input.email?.trim() ?? "";
    if (!EMAIL.test(email)) throw validationError(USER_MESSAGES.emailRequired, { email: USER_MESSAGES.emailRequired });
    const roles =
      input.roles === undefined || input.roles.length === 0 ? USER_ACCOUNT_ROLES : [...new Set(input.roles)];
    checkRoles(catalog, principal, "user", roles);
    return { email, roles };
  }
  if (input.email !== undefined) throw validationError(USER_MESSAGES.serviceAccountEmail);
  const roles = [...new Set(input.roles ?? [])];
  if (roles.length === 0) throw validationError(USER_MESSAGES.rolesRequired, { roles: USER_MESSAGES.rolesRequired });
  checkRoles(catalog, principal, "service_account", roles);
  return { email: null, roles };
}

/**
 * Roles an account of `type` is to hold: each exists and may be given to that type (a person
 * holds exactly one of super_admin, all_writer, all_reader), and nobody hands out more than they hold.
 */
function checkRoles(catalog: RoleCatalog, principal: Principal, type: UserType, roles: readonly string[]): void {
  const unknown = roles.find((role) => !catalog.has(role));
  if (unknown !== undefined) {
    throw validationError(USER_MESSAGES.invalidRole(unknown), { roles: USER_MESSAGES.invalidRole(unknown) });
  }
  const misplaced = roles.find((role) => !catalog.assignable(role, type));
  if (misplaced !== undefined) {
    const message = USER_MESSAGES.notAssignable(misplaced, type);
    throw validationError(message, { roles: message });
  }
  if (type === "user" && roles.length !== 1) {
    throw validationError(USER_MESSAGES.onePersonRole, { roles: USER_MESSAGES.onePersonRole });
  }
  if (!principal.permissions.covers(catalog.grantsOf(roles))) {
    throw accessDenied(AccessOutcome.PermissionMissing, { required: roles, roles: principal.credential.roles });
  }
}

function accessDeniedWith(message: string) {
  return new ApiError(403, "permission_denied", message);
}

/** The parallel of "Only user accounts can invite users", for renaming and archiving one. */
export const ONLY_USERS_MANAGE_USERS = "Only user accounts can manage user accounts";

/**
 * People are managed by people. A service account (super_admin included) cannot invite a user
 * account (SPEC §4), so it cannot rename or archive one either: a leaked root key must not be
 * able to lock the tenant's people out. It still manages service accounts. Checked after the
 * lookup, so another tenant's account is a 404 as for anyone.
 */
function assertMayManage(principal: Principal, target: UserWithTenantRow): void {
  if (target.type === "user" && principal.userType !== "user") throw accessDeniedWith(ONLY_USERS_MANAGE_USERS);
}

export async function createAccount(
  deps: AccountDeps,
  principal: Principal,
  audit: AuditContext,
  input: CreateAccountInput,
): Promise<CreatedAccount> {
  const { email, roles } = validateNewAccount(deps.roles, principal, input);
  const { db } = deps;
  return await db.transaction(async (tx): Promise<CreatedAccount> => {
    if (
      email &&
      (await tx.value("SELECT 1 FROM users WHERE tenant_id = ? AND lower(email) = lower(?)", principal.tenantId, email))
    ) {
      throw alreadyExists(USER_MESSAGES.emailTaken);
    }
    const now = nowIso();
    const id = newId("usr");
    // The row as stored, from the INSERT itself: reading it back through the primary key would
    // lock that index page against every account created meanwhile (PostgreSQL's serializable
    // isolation), and parallel creations then fail each other until their retries run out.
    const user = (await tx.get(
      `INSERT INTO users (id, tenant_id, type, name, email, roles, status, created_by, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'published', ?, ?, ?) RETURNING *`,
      id,
      principal.tenantId,
      input.type,
      input.name?.trim() ?? (input.type === "user" ? (email as string) : "Service account"),
      email,
      JSON.stringify(roles),
      principal.userId,
      now,
      now,
    )) as UserRow;
    const created = await withTenant(tx, user);
    await recordAudit(tx, audit, {
      action: AUDIT[input.type].created,
      resourceId: id,
      // As the response shows it: a service account with its limits, none yet (SPEC §14).
      after: input.type === "service_account" ? { ...toUserResponse(created), ...NO_LIMITS } : toUserResponse(created),
    });
    if (input.type !== "user") return { row: created };
    const link = await issuePasswordToken(tx, {
      purpose: "set_password",
      tenantId: principal.tenantId,
      userId: id,
      createdBy: principal.userId,
      ttlSeconds: PASSWORD_LINK_TTL_SECONDS.set_password,
    });
    return { row: created, setPassword: { token: link.token, expiresAt: link.row.expires_at } };
  });
}

/** The tenant's account with this email, in any letter case (one at most: emails are unique per tenant). */
export async function findPersonByEmail(
  db: Queries,
  tenantId: string,
  email: string,
): Promise<UserWithTenantRow | undefined> {
  const id = (await db.value(
    "SELECT id FROM users WHERE tenant_id = ? AND lower(email) = lower(?)",
    tenantId,
    email.trim(),
  )) as string | undefined;
  return id === undefined ? undefined : await findUser(db, tenantId, id);
}

export async function getAccount(db: Queries, tenantId: string, id: string): Promise<UserWithTenantRow> {
  const row = await findUser(db, tenantId, id);
  if (!row) throw notFound(USER_MESSAGES.notFound);
  return row;
}

/** PUT /v1/users/{id}: the name, and nothing else, of a live account. */
export async function renameAccount(
  deps: AccountDeps,
  principal: Principal,
  audit: AuditContext,
  id: string,
  body: { name?: string; roles?: unknown; type?: unknown },
): Promise<UserWithTenantRow> {
  if (body.roles !== undefined || body.type !== undefined) throw validationError(USER_MESSAGES.immutable);
  if (body.name === undefined) throw validationError("name is required", { name: "is required" });
  const name = body.name.trim();
  const { db } = deps;
  const after = await db.transaction(async (tx) => {
    const before = await getAccount(tx, principal.tenantId, id);
    assertMayManage(principal, before);
    if (before.status !== "published") throw invalidOperation(USER_MESSAGES.archived);
    const updated: UserWithTenantRow = { ...before, name, updated_at: nowIso() };
    await tx.run(
      "UPDATE users SET name = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
      name,
      updated.updated_at,
      principal.tenantId,
      id,
    );
    await recordAudit(tx, audit, {
      action: AUDIT[before.type].updated,
      resourceId: id,
      before: toUserResponse(before),
      after: toUserResponse(updated),
    });
    return updated;
  });
  deps.profiles.invalidate(principal.tenantId, id);
  return after;
}

/**
 * DELETE /v1/users/{id}: archives the account. Every key it holds and every session of a
 * person stops at once: the caches are purged of them before this returns, and the store
 * lookups refuse credentials of archived owners. Its unused set-password links die with it.
 * A user account is archived only by a user account (see assertMayManage).
 */
export async function archiveAccount(
  deps: AccountDeps,
  principal: Principal,
  audit: AuditContext,
  id: string,
): Promise<void> {
  const { db } = deps;
  const { keyHashes, sessionHashes } = await db.transaction(async (tx) => {
    const before = await getAccount(tx, principal.tenantId, id);
    assertMayManage(principal, before);
    if (before.status !== "published") throw invalidOperation(USER_MESSAGES.alreadyArchived);
    if (id === principal.userId) throw invalidOperation(USER_MESSAGES.deleteSelf);
    if (before.type === "user") {
      const others = (await tx.value(
        "SELECT count(*) FROM users WHERE tenant_id = ? AND type = 'user' AND status = 'published' AND id != ?",
        principal.tenantId,
        id,
      )) as number;
      if (others === 0) throw invalidOperation(USER_MESSAGES.lastUser);
    }
    // A config key would go on acting as the archived account; the operator removes it first.
    const configKeys = Object.values(deps.config.auth.api_key.keys);
    if (configKeys.some((key) => key.tenant_id === principal.tenantId && key.user_id === id)) {
      throw invalidOperation(USER_MESSAGES.configKeyUser);
    }
    const updatedAt = nowIso();
    await tx.run(
      "UPDATE users SET status = 'archived', updated_at = ? WHERE tenant_id = ? AND id = ?",
      updatedAt,
      principal.tenantId,
      id,
    );
    await recordAudit(tx, audit, {
      action: AUDIT[before.type].archived,
      resourceId: id,
      before: toUserResponse(before),
      after: toUserResponse({ ...before, status: "archived", updated_at: updatedAt }),
    });
    await retirePasswordTokensOf(tx, principal.tenantId, id);
    return {
      keyHashes: (await tx.values(
        "SELECT key_hash FROM secrets WHERE tenant_id = ? AND user_id = ?",
        principal.tenantId,
        id,
      )) as string[],
      sessionHashes: await revokeSessionsOf(tx, principal.tenantId, id),
    };
  });
  deps.keyCache.invalidate(keyHashes);
  deps.sessionCache.invalidate(sessionHashes);
  deps.profiles.invalidate(principal.tenantId, id);
}

/**
 * PUT /v1/users/me: the caller's own name, and metadata merged key by key (a key sent replaces
 * that key; keys not sent stay), as the Flexprice API does. Audited as `<type>.updated`.
 */
export async function updateMe(
  deps: AccountDeps,
  principal: Principal,
  audit: AuditContext,
  body: { name?: string; metadata?: Record<string, string> },
): Promise<UserWithTenantRow> {
  const { db } = deps;
  const after = await db.transaction(async (tx) => {
    const before = await getAccount(tx, principal.tenantId, principal.userId);
    const name = body.name?.trim() ?? before.name;
    const metadata = { ...(JSON.parse(before.metadata) as Record<string, string>), ...body.metadata };
    if (Object.keys(metadata).length > METADATA_MAX_KEYS) {
      const rule = `must have at most ${METADATA_MAX_KEYS} keys, counting those already stored`;
      throw validationError(`metadata ${rule}`, { metadata: rule });
    }
    const updated: UserWithTenantRow = { ...before, name, metadata: JSON.stringify(metadata), updated_at: nowIso() };
    await tx.run(
      "UPDATE users SET name = ?, metadata = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
      name,
      updated.metadata,
      updated.updated_at,
      principal.tenantId,
      principal.userId,
    );
    await recordAudit(tx, audit, {
      action: AUDIT[before.type].updated,
      resourceId: before.id,
      before: toUserResponse(before),
      after: toUserResponse(updated),
    });
    return updated;
  });
  deps.profiles.invalidate(principal.tenantId, principal.userId);
  return after;
}

/**
 * PUT /v1/users/{id}/roles (SPEC §2): a person's role, changed by a person with super_admin,
 * never their own, never a service account's (its roles are fixed at creation). A person whose
 * API keys are still live cannot be moved: a key keeps the roles it was made with, so it would
 * outlive the change (the answer lists the keys, as the Flexprice API does). The person's
 * sessions take the new role on their next request.
 */
export async function setPersonRoles(
  deps: AccountDeps,
  principal: Principal,
  audit: AuditContext,
  id: string,
  roles: string[],
): Promise<UserWithTenantRow> {
  if (principal.userType !== "user" || !principal.credential.roles.includes("super_admin")) {
    throw accessDeniedWith(USER_MESSAGES.superAdminSetsRoles);
  }
  const wanted = [...new Set(roles)];
  const { db } = deps;
  const after = await db.transaction(async (tx) => {
    const before = await getAccount(tx, principal.tenantId, id);
    if (id === principal.userId) throw accessDeniedWith(USER_MESSAGES.ownRoles);
    if (before.type !== "user") throw validationError(USER_MESSAGES.serviceAccountRoles, { id, type: before.type });
    if (before.status !== "published") throw validationError(USER_MESSAGES.archivedRoles, { id });
    checkRoles(deps.roles, principal, "user", wanted);
    const live = (await tx.all(
      `SELECT s.id, s.name, s.environment_id, e.name AS environment_name
         FROM secrets s JOIN environments e ON e.id = s.environment_id
         WHERE s.tenant_id = ? AND s.user_id = ? AND s.status = 'published' AND (s.expires_at IS NULL OR s.expires_at > ?)
         ORDER BY s.created_at, s.id`,
      principal.tenantId,
      id,
      nowIso(),
    )) as {
      id: string;
      name: string;
      environment_id: string;
      environment_name: string;
    }[];
    if (live.length > 0) {
      const byEnvironment: Record<string, { env_name: string; api_keys: { id: string; key_name: string }[] }> = {};
      for (const key of live) {
        const entry = (byEnvironment[key.environment_id] ??= { env_name: key.environment_name, api_keys: [] });
        entry.api_keys.push({ id: key.id, key_name: key.name });
      }
      throw validationError(USER_MESSAGES.activeKeys, {
        id,
        active_api_keys: byEnvironment,
        active_api_key_count: live.length,
      });
    }
    const updated: UserWithTenantRow = { ...before, roles: JSON.stringify(wanted), updated_at: nowIso() };
    await tx.run(
      "UPDATE users SET roles = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
      updated.roles,
      updated.updated_at,
      principal.tenantId,
      id,
    );
    await recordAudit(tx, audit, {
      action: AUDIT.user.roles_updated,
      resourceId: id,
      before: toUserResponse(before),
      after: toUserResponse(updated),
    });
    return updated;
  });
  // Sessions are verified with the person's roles: the next request of each reads them afresh.
  deps.sessionCache.clear();
  deps.profiles.invalidate(principal.tenantId, id);
  return after;
}
