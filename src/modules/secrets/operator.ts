import { DEFAULT_TENANT_ID } from "../../config";
import { type Queries, type PageReader, type Store } from "../../db";
import { newId, nowIso } from "../../db/ids";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import type { KeyType } from "../auth/model";
import type { EnvironmentRow } from "../environments/model";
import { ensureTenant } from "../environments/service";
import type { RoleCatalog } from "../rbac/service";
import type { UserRow } from "../users/model";
import { type CreatedKey, issueAudited } from "./create";
import type { SecretStatus, SecretWithOwnerRow } from "./model";
import { listKeys, WITH_OWNER } from "./read";
import { markRevoked } from "./revoke";

// The keys commands of the CLI: an operator on the machine that holds the store, acting on any
// tenant. Their changes are audited with the actor `system`, named after the command.

/** A request the store cannot satisfy: an unknown tenant, environment or key. */
export class OperatorError extends Error {}

export function operatorAudit(tenantId: string, environmentId: string, command: string): AuditContext {
  return {
    tenantId,
    environmentId,
    actor: { type: "system", id: null, name: command },
    credentialId: null,
    requestId: null,
    ip: null,
    userAgent: null,
  };
}

/** Up to this many tenants are named when one is not found. */
const TENANTS_NAMED = 10;

/** "No tenant acme (the tenants are: …)": what a mistyped tenant id is told. */
async function noTenant(db: Queries, tenantId: string): Promise<string> {
  const ids = (await db.values(
    "SELECT id FROM tenants ORDER BY created_at, id LIMIT ?",
    TENANTS_NAMED + 1,
  )) as string[];
  if (ids.length === 0) return `No tenant ${tenantId} (there are no tenants yet)`;
  const more = ids.length > TENANTS_NAMED ? ", …" : "";
  return `No tenant ${tenantId} (the tenants are: ${ids.slice(0, TENANTS_NAMED).join(", ")}${more})`;
}

async function tenantExists(db: Queries, tenantId: string): Promise<boolean> {
  return (await db.get("SELECT 1 FROM tenants WHERE id = ?", tenantId)) !== undefined;
}

/** An environment of the tenant by id or name; the tenant's default one when none is named. */
export async function environmentOf(
  db: Queries,
  tenantId: string,
  environment: string | undefined,
): Promise<EnvironmentRow> {
  if (!(await tenantExists(db, tenantId))) throw new OperatorError(await noTenant(db, tenantId));
  const row = (
    environment === undefined
      ? await db.get("SELECT * FROM environments WHERE tenant_id = ? AND is_default = 1", tenantId)
      : await db.get(
          "SELECT * FROM environments WHERE tenant_id = ? AND (id = ? OR name = ?)",
          tenantId,
          environment,
          environment,
        )
  ) as EnvironmentRow | undefined;
  if (row) return row;
  throw new OperatorError(
    environment === undefined
      ? `Tenant ${tenantId} has no default environment`
      : `No environment ${environment} in tenant ${tenantId}`,
  );
}

/**
 * A tenant a key is made in: one that exists; or, when the operator asked for it, a new one with
 * its two environments. The default tenant always counts as existing (SPEC §0: every store has
 * it; the server makes it when it first needs it), so it is made here too when it is not yet.
 * A mistyped tenant is refused: it once silently became a tenant with a working key.
 */
async function tenantFor(db: Queries, tenantId: string, createTenant: boolean): Promise<void> {
  if (tenantId === DEFAULT_TENANT_ID) return await ensureTenant(db, tenantId, "Default Tenant");
  if (createTenant) return await ensureTenant(db, tenantId, tenantId);
  if (!(await tenantExists(db, tenantId))) {
    throw new OperatorError(
      `${await noTenant(db, tenantId)}. To create it with its two environments, add --create-tenant.`,
    );
  }
}

/**
 * An account of the tenant by its id or its (unique) name: a service account, or with `anyType`
 * an account of either type (a command that refuses a person says why, rather than not finding it).
 */
export async function accountByIdOrName(db: Queries, tenantId: string, ref: string, anyType = false): Promise<UserRow> {
  const noun = anyType ? "account" : "service account";
  const matches = (await db.all(
    `SELECT * FROM users WHERE tenant_id = ? ${anyType ? "" : "AND type = 'service_account' "}AND (id = ? OR name = ?) ORDER BY id`,
    tenantId,
    ref,
    ref,
  )) as UserRow[];
  const account = matches.find((row) => row.id === ref) ?? (matches.length === 1 ? matches[0] : undefined);
  if (!account && matches.length > 1) {
    throw new OperatorError(
      `${matches.length} ${noun}s are named "${ref}" in tenant ${tenantId} (${matches.map((m) => m.id).join(", ")}); name one by its id`,
    );
  }
  if (!account) throw new OperatorError(`No ${noun} ${ref} in tenant ${tenantId}`);
  return account;
}

/** A published service account of the tenant, by its id or its (unique) name. */
async function existingServiceAccount(db: Queries, tenantId: string, ref: string): Promise<UserRow> {
  const account = await accountByIdOrName(db, tenantId, ref);
  if (account.status !== "published") {
    throw new OperatorError(`Service account ${account.name} (${account.id}) is archived: a key of it would not work`);
  }
  return account;
}

export interface OperatorKeyInput {
  tenantId: string;
  /** Make the tenant (with its two environments) if it does not exist; otherwise it must. */
  createTenant: boolean;
  /** An environment id or name; the tenant's default environment when absent. */
  environment?: string;
  /** Whose key: a new service account holding these roles, or an existing one (its id or name). */
  account: { roles: string[] } | { serviceAccount: string };
  /** The key's name, and a new account's. */
  name: string;
  type: KeyType;
  expiresAt: string | null;
}

/**
 * `tollgate keys create`: a key for a new service account holding `roles`, or for an existing
 * service account (with its roles, as POST /v1/secrets/api/keys with service_account_id copies
 * them). Lets an operator bootstrap without the development key.
 */
export async function createOperatorKey(
  db: Store,
  catalog: RoleCatalog,
  input: OperatorKeyInput,
): Promise<CreatedKey & { environment: EnvironmentRow; roles: string[] }> {
  const newAccount = "roles" in input.account ? input.account : null;
  if (newAccount) {
    if (newAccount.roles.length === 0) throw new OperatorError("At least one role is required");
    const unknown = newAccount.roles.find((role) => !catalog.assignable(role, "service_account"));
    if (unknown !== undefined) {
      throw new OperatorError(
        `Invalid role: ${unknown} (roles: ${catalog
          .list("service_account")
          .map((r) => r.id)
          .join(", ")})`,
      );
    }
  }
  return await db.transaction(async (tx) => {
    await tenantFor(tx, input.tenantId, input.createTenant);
    const environment = await environmentOf(tx, input.tenantId, input.environment);
    const audit = operatorAudit(input.tenantId, environment.id, "tollgate keys create");
    let account: { id: string; roles: string[] };
    if (newAccount) {
      const now = nowIso();
      account = { id: newId("usr"), roles: newAccount.roles };
      await tx.run(
        `INSERT INTO users (id, tenant_id, type, name, roles, status, created_at, updated_at)
           VALUES (?, ?, 'service_account', ?, ?, 'published', ?, ?)`,
        account.id,
        input.tenantId,
        input.name,
        JSON.stringify(account.roles),
        now,
        now,
      );
      await recordAudit(tx, audit, {
        action: AUDIT.service_account.created,
        resourceId: account.id,
        after: { id: account.id, name: input.name, roles: account.roles },
      });
    } else {
      const existing = await existingServiceAccount(
        tx,
        input.tenantId,
        (input.account as { serviceAccount: string }).serviceAccount,
      );
      account = { id: existing.id, roles: JSON.parse(existing.roles) as string[] };
    }
    const roles = input.type === "publishable_key" ? [] : account.roles;
    const created = await issueAudited(
      tx,
      audit,
      {
        tenantId: input.tenantId,
        environmentId: environment.id,
        environmentType: environment.type,
        userId: account.id,
        createdBy: null,
        name: input.name,
        type: input.type,
        roles,
        expiresAt: input.expiresAt,
      },
      { limits: {} },
    );
    return { ...created, environment, roles };
  });
}

/** The most a listing prints; an environment with more keys is shown newest first, cut here. */
export const OPERATOR_LIST_LIMIT = 1000;

/** `tollgate keys list`: one environment's keys with one status, newest first. */
export async function listOperatorKeys(
  db: Queries,
  pages: PageReader,
  input: { tenantId: string; environment?: string; status: SecretStatus },
): Promise<{ environment: EnvironmentRow; rows: SecretWithOwnerRow[]; total: number }> {
  const environment = await environmentOf(db, input.tenantId, input.environment);
  const { rows, total } = await listKeys(
    pages,
    { tenantId: input.tenantId, environmentId: environment.id, ownerId: null },
    { status: input.status },
    { limit: OPERATOR_LIST_LIMIT, offset: 0 },
  );
  return { environment, rows, total };
}

/**
 * `tollgate keys revoke <id>`: the key fails from the next request on, on a server running
 * beside this command too (it sees the credential generation move).
 */
export async function revokeOperatorKey(db: Store, id: string): Promise<SecretWithOwnerRow> {
  return await db.transaction(async (tx) => {
    const row = (await tx.get(`${WITH_OWNER} WHERE s.id = ?`, id)) as SecretWithOwnerRow | undefined;
    if (!row) throw new OperatorError(`No API key ${id}`);
    if (row.status === "deleted") throw new OperatorError(`API key ${id} is already revoked`);
    return await markRevoked(tx, operatorAudit(row.tenant_id, row.environment_id, "tollgate keys revoke"), row);
  });
}
