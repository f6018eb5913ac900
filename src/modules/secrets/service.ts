import type { Static } from "elysia";
import { type Db, selectPage, sql } from "../../db";
import { newId, nowIso } from "../../db/ids";
import { ApiError, invalidOperation, notFound, validationError } from "../../http/errors";
import type { Page } from "../../http/pagination";
import type { AuditContext } from "../audit/model";
import { recordAudit } from "../audit/service";
import { sha256Hex } from "../auth/hash";
import type { KeyCache } from "../auth/key-cache";
import { AccessOutcome, accessDenied, type KeyType, type Principal } from "../auth/model";
import type { VerifiedKey } from "../auth/service";
import type { EnvironmentRow, EnvironmentType } from "../environments/model";
import { findEnvironment } from "../environments/service";
import { isSubset, permissionsOf } from "../rbac/service";
import { displayIdOf, generateApiKey } from "./key-format";
import {
  SECRET_MESSAGES,
  type SecretRow,
  type SecretSchema,
  type SecretStatus,
  type SecretWithOwnerRow,
  type VerifiableKeyRow,
} from "./model";

export interface IssueKeyInput {
  tenantId: string;
  environmentId: string;
  environmentType: EnvironmentType;
  userId: string;
  createdBy: string | null;
  name: string;
  description?: string | null;
  type: KeyType;
  roles: string[];
  expiresAt?: string | null;
}

export interface IssuedKey {
  /** The key itself: returned to the caller once and never stored. */
  apiKey: string;
  secret: SecretRow;
}

/** Generates a key, stores only its hash, and returns the key this one time. */
export function issueKey(db: Db, input: IssueKeyInput): IssuedKey {
  const apiKey = generateApiKey(
    input.type === "publishable_key" ? "pk" : "sk",
    input.environmentType === "production" ? "live" : "test",
  );
  const now = nowIso();
  const secret: SecretRow = {
    id: newId("sec"),
    tenant_id: input.tenantId,
    environment_id: input.environmentId,
    user_id: input.userId,
    created_by: input.createdBy,
    name: input.name,
    description: input.description ?? null,
    type: input.type,
    provider: "flexprice",
    key_hash: sha256Hex(apiKey),
    display_id: displayIdOf(apiKey),
    roles: JSON.stringify(input.roles),
    status: "published",
    expires_at: input.expiresAt ?? null,
    last_used_at: null,
    created_at: now,
    updated_at: now,
  };
  sql(
    db,
    `INSERT INTO secrets (id, tenant_id, environment_id, user_id, created_by, name, description, type, provider,
       key_hash, display_id, roles, status, expires_at, last_used_at, created_at, updated_at)
     VALUES (@id, @tenant_id, @environment_id, @user_id, @created_by, @name, @description, @type, @provider,
       @key_hash, @display_id, @roles, @status, @expires_at, @last_used_at, @created_at, @updated_at)`,
  ).run(secret);
  return { apiKey, secret };
}

/**
 * The cold path of verification. Two primary-key reads, not a join: better-sqlite3's SQLite
 * build re-plans joined statements on every run, which made the join five times slower.
 */
export function findVerifiableKey(db: Db, keyHash: string): VerifiableKeyRow | undefined {
  const secret = sql(
    db,
    `SELECT id, name, key_hash, tenant_id, environment_id, user_id, type, roles, status, expires_at
     FROM secrets WHERE key_hash = ?`,
  ).get(keyHash) as Omit<VerifiableKeyRow, "owner_type" | "owner_status"> | undefined;
  if (!secret) return undefined;
  const owner = sql(db, "SELECT type, status FROM users WHERE id = ?").get(secret.user_id) as {
    type: VerifiableKeyRow["owner_type"];
    status: VerifiableKeyRow["owner_status"];
  };
  return { ...secret, owner_type: owner.type, owner_status: owner.status };
}

/** Records when keys were last used, in one transaction for the whole batch. */
export function recordKeysUsed(db: Db, usedAt: Map<string, string>): void {
  const update = sql(
    db,
    "UPDATE secrets SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
  );
  db.transaction(() => {
    for (const [id, at] of usedAt) update.run(at, id, at);
  })();
}

export interface KeyDeps {
  db: Db;
  keyCache: KeyCache<VerifiedKey>;
}

export type SecretResponse = Static<typeof SecretSchema>;

export function toSecretResponse(row: SecretWithOwnerRow): SecretResponse {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    type: row.type,
    provider: row.provider,
    display_id: row.display_id,
    roles: JSON.parse(row.roles),
    user_type: row.owner_type,
    user_id: row.user_id,
    service_account_name: row.owner_type === "service_account" ? row.owner_name : null,
    environment_id: row.environment_id,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    status: row.status,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

const OWNER_COLUMNS = "s.*, u.type AS owner_type, u.name AS owner_name";
const OWNER_JOIN = "secrets s JOIN users u ON u.id = s.user_id";
const WITH_OWNER = `SELECT ${OWNER_COLUMNS} FROM ${OWNER_JOIN}`;

/** Where a caller may see keys: its tenant and environment, and only its own keys if it is a service account. */
function scopeOf(principal: Principal) {
  return {
    tenantId: principal.tenantId,
    environmentId: principal.environmentId,
    ownerId: principal.userType === "service_account" ? principal.userId : null,
  };
}

const SCOPE_CLAUSE =
  "s.tenant_id = @tenantId AND s.environment_id = @environmentId AND (@ownerId IS NULL OR s.user_id = @ownerId)";

export function getKey(db: Db, principal: Principal, id: string): SecretWithOwnerRow {
  const row = sql(db, `${WITH_OWNER} WHERE s.id = @id AND ${SCOPE_CLAUSE}`).get({ id, ...scopeOf(principal) }) as
    SecretWithOwnerRow | undefined;
  if (!row) throw notFound(SECRET_MESSAGES.notFound);
  return row;
}

export function listKeys(
  db: Db,
  principal: Principal,
  filters: { type?: KeyType; status?: SecretStatus },
  page: Page,
): { rows: SecretWithOwnerRow[]; total: number } {
  const params = {
    ...scopeOf(principal),
    type: filters.type ?? null,
    status: filters.status ?? "published",
  };
  return selectPage<SecretWithOwnerRow>(db, {
    select: OWNER_COLUMNS,
    from: OWNER_JOIN,
    where: `${SCOPE_CLAUSE} AND s.status = @status AND (@type IS NULL OR s.type = @type)`,
    orderBy: "s.created_at DESC, s.id DESC",
    params,
    page,
  });
}

export interface CreateKeyInput {
  name: string;
  type?: KeyType | "integration";
  expires_at?: string | null;
  service_account_id?: string;
  description?: string | null;
}

export interface CreatedKey {
  apiKey: string;
  secret: SecretWithOwnerRow;
}

/**
 * POST /v1/secrets/api/keys. The key gets the caller's roles, or the named service account's;
 * either way never more permissions than the caller holds. It lives in the caller's environment.
 */
export function createKey(deps: KeyDeps, principal: Principal, audit: AuditContext, input: CreateKeyInput): CreatedKey {
  if (input.type === "integration")
    throw validationError(SECRET_MESSAGES.integration, { type: SECRET_MESSAGES.integration });
  const type: KeyType = input.type ?? "private_key";
  const expiresAt = futureExpiry(input.expires_at);
  const { db } = deps;
  const created = db
    .transaction(() => {
      const owner =
        input.service_account_id === undefined ? null : serviceAccountFor(db, principal, input.service_account_id);
      const roles =
        type === "publishable_key" ? [] : owner ? (JSON.parse(owner.roles) as string[]) : principal.credential.roles;
      if (!isSubset(permissionsOf(roles), principal.permissions)) {
        throw accessDenied(AccessOutcome.PermissionMissing, { required: roles, roles: principal.credential.roles });
      }
      const environment = findEnvironment(db, principal.tenantId, principal.environmentId) as EnvironmentRow;
      return issueAudited(db, audit, {
        tenantId: principal.tenantId,
        environmentId: environment.id,
        environmentType: environment.type,
        userId: owner?.id ?? principal.userId,
        createdBy: principal.userId,
        name: input.name.trim(),
        description: input.description ?? null,
        type,
        roles,
        expiresAt,
      });
    })
    .immediate();
  // A hash cannot be in the negative cache unless someone guessed the key, but forget it anyway.
  deps.keyCache.invalidate([created.secret.key_hash]);
  return created;
}

function futureExpiry(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  const at = Date.parse(value);
  if (Number.isNaN(at) || at <= Date.now()) {
    throw validationError(SECRET_MESSAGES.expiresInPast, { expires_at: SECRET_MESSAGES.expiresInPast });
  }
  return new Date(at).toISOString();
}

function serviceAccountFor(db: Db, principal: Principal, id: string) {
  if (principal.userType !== "user" && !principal.credential.roles.includes("super_admin")) {
    throw new ApiError(403, "permission_denied", SECRET_MESSAGES.onBehalf);
  }
  const account = sql(
    db,
    "SELECT id, roles FROM users WHERE tenant_id = ? AND id = ? AND type = 'service_account' AND status = 'published'",
  ).get(principal.tenantId, id) as { id: string; roles: string } | undefined;
  if (!account) throw notFound(SECRET_MESSAGES.serviceAccountNotFound);
  return account;
}

function issueAudited(db: Db, audit: AuditContext, input: IssueKeyInput, rotatedFrom?: string): CreatedKey {
  const { apiKey, secret } = issueKey(db, input);
  const row = sql(db, `${WITH_OWNER} WHERE s.id = ?`).get(secret.id) as SecretWithOwnerRow;
  recordAudit(db, audit, {
    action: "secret.created",
    resourceType: "secret",
    resourceId: secret.id,
    after: rotatedFrom ? { ...toSecretResponse(row), rotated_from: rotatedFrom } : toSecretResponse(row),
  });
  return { apiKey, secret: row };
}

/** DELETE: the key is marked deleted and evicted before this returns; the next request with it fails. */
export function revokeKey(deps: KeyDeps, principal: Principal, audit: AuditContext, id: string): void {
  const { db } = deps;
  const revoked = db
    .transaction(() => {
      const before = getKey(db, principal, id);
      if (before.status === "deleted") throw notFound(SECRET_MESSAGES.notFound);
      const after: SecretWithOwnerRow = { ...before, status: "deleted", updated_at: nowIso() };
      sql(
        db,
        "UPDATE secrets SET status = 'deleted', updated_at = ? WHERE tenant_id = ? AND environment_id = ? AND id = ?",
      ).run(after.updated_at, before.tenant_id, before.environment_id, id);
      recordAudit(db, audit, {
        action: "secret.deleted",
        resourceType: "secret",
        resourceId: id,
        before: toSecretResponse(before),
        after: toSecretResponse(after),
      });
      return before;
    })
    .immediate();
  deps.keyCache.invalidate([revoked.key_hash]);
}

/**
 * POST /{id}/rotate: a new key with the same name, type, owner, roles and expiry; the old one
 * now expires at min(its expiry, now + grace), and with no grace it is revoked at once.
 */
export function rotateKey(
  deps: KeyDeps,
  principal: Principal,
  audit: AuditContext,
  id: string,
  graceSeconds: number,
): CreatedKey {
  const { db } = deps;
  const now = Date.now();
  const { created, oldHash } = db
    .transaction(() => {
      const old = getKey(db, principal, id);
      const expired = old.expires_at !== null && Date.parse(old.expires_at) <= now;
      if (old.status !== "published" || expired) throw invalidOperation(SECRET_MESSAGES.notRotatable);
      const graceEnd = now + graceSeconds * 1000;
      const newExpiry =
        old.expires_at !== null && Date.parse(old.expires_at) < graceEnd
          ? old.expires_at
          : new Date(graceEnd).toISOString();
      const after: SecretWithOwnerRow =
        graceSeconds === 0
          ? { ...old, status: "deleted", updated_at: new Date(now).toISOString() }
          : { ...old, expires_at: newExpiry, updated_at: new Date(now).toISOString() };
      sql(
        db,
        "UPDATE secrets SET status = ?, expires_at = ?, updated_at = ? WHERE tenant_id = ? AND environment_id = ? AND id = ?",
      ).run(after.status, after.expires_at, after.updated_at, old.tenant_id, old.environment_id, id);
      recordAudit(db, audit, {
        action: "secret.rotated",
        resourceType: "secret",
        resourceId: id,
        before: toSecretResponse(old),
        after: toSecretResponse(after),
      });
      const environment = findEnvironment(db, old.tenant_id, old.environment_id) as EnvironmentRow;
      const created = issueAudited(
        db,
        audit,
        {
          tenantId: old.tenant_id,
          environmentId: old.environment_id,
          environmentType: environment.type,
          userId: old.user_id,
          createdBy: principal.userId,
          name: old.name,
          description: old.description,
          type: old.type,
          roles: JSON.parse(old.roles),
          expiresAt: old.expires_at,
        },
        id,
      );
      return { created, oldHash: old.key_hash };
    })
    .immediate();
  // The cached entry carries the old expiry (or no revocation yet): drop it before answering.
  deps.keyCache.invalidate([oldHash, created.secret.key_hash]);
  return created;
}
