import { type Db, type PageReader, sql } from "../../db";
import { newId, nowIso } from "../../db/ids";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import type { KeyType } from "../auth/model";
import type { EnvironmentRow } from "../environments/model";
import { ensureTenant } from "../environments/service";
import type { RoleCatalog } from "../rbac/service";
import { type CreatedKey, issueAudited } from "./create";
import type { SecretStatus, SecretWithOwnerRow } from "./model";
import { listKeys, WITH_OWNER } from "./read";
import { markRevoked } from "./revoke";

// The keys commands of the CLI: an operator on the machine that holds the store, acting on any
// tenant. Their changes are audited with the actor `system`, named after the command.

/** A request the store cannot satisfy: an unknown tenant, environment or key. */
export class OperatorError extends Error {}

function operatorAudit(tenantId: string, environmentId: string, command: string): AuditContext {
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

/** An environment of the tenant by id or name; the tenant's default one when none is named. */
function environmentOf(db: Db, tenantId: string, environment: string | undefined): EnvironmentRow {
  const row = (
    environment === undefined
      ? sql(db, "SELECT * FROM environments WHERE tenant_id = ? AND is_default = 1").get(tenantId)
      : sql(db, "SELECT * FROM environments WHERE tenant_id = ? AND (id = ? OR name = ?)").get(
          tenantId,
          environment,
          environment,
        )
  ) as EnvironmentRow | undefined;
  if (row) return row;
  throw new OperatorError(
    environment === undefined ? `No tenant ${tenantId}` : `No environment ${environment} in tenant ${tenantId}`,
  );
}

export interface OperatorKeyInput {
  tenantId: string;
  /** An environment id or name; the tenant's default environment when absent. */
  environment?: string;
  roles: string[];
  name: string;
  type: KeyType;
  expiresAt: string | null;
}

/**
 * `tollgate keys create`: a key for a new service account holding `roles`, in a tenant that is
 * created with its two environments if it does not exist yet. Lets an operator bootstrap
 * without the development key.
 */
export function createOperatorKey(
  db: Db,
  catalog: RoleCatalog,
  input: OperatorKeyInput,
): CreatedKey & { environment: EnvironmentRow } {
  if (input.roles.length === 0) throw new OperatorError("At least one role is required");
  const unknown = input.roles.find((role) => !catalog.assignable(role, "service_account"));
  if (unknown !== undefined) {
    throw new OperatorError(
      `Invalid role: ${unknown} (roles: ${catalog
        .list("service_account")
        .map((r) => r.id)
        .join(", ")})`,
    );
  }
  return db
    .transaction(() => {
      ensureTenant(db, input.tenantId, input.tenantId);
      const environment = environmentOf(db, input.tenantId, input.environment);
      const now = nowIso();
      const accountId = newId("usr");
      sql(
        db,
        `INSERT INTO users (id, tenant_id, type, name, roles, status, created_at, updated_at)
         VALUES (?, ?, 'service_account', ?, ?, 'published', ?, ?)`,
      ).run(accountId, input.tenantId, input.name, JSON.stringify(input.roles), now, now);
      const audit = operatorAudit(input.tenantId, environment.id, "tollgate keys create");
      recordAudit(db, audit, {
        action: AUDIT.service_account.created,
        resourceId: accountId,
        after: { id: accountId, name: input.name, roles: input.roles },
      });
      const created = issueAudited(db, audit, {
        tenantId: input.tenantId,
        environmentId: environment.id,
        environmentType: environment.type,
        userId: accountId,
        createdBy: null,
        name: input.name,
        type: input.type,
        roles: input.type === "publishable_key" ? [] : input.roles,
        expiresAt: input.expiresAt,
      });
      return { ...created, environment };
    })
    .immediate();
}

/** The most a listing prints; an environment with more keys is shown newest first, cut here. */
export const OPERATOR_LIST_LIMIT = 1000;

/** `tollgate keys list`: one environment's keys with one status, newest first. */
export async function listOperatorKeys(
  db: Db,
  pages: PageReader,
  input: { tenantId: string; environment?: string; status: SecretStatus },
): Promise<{ environment: EnvironmentRow; rows: SecretWithOwnerRow[]; total: number }> {
  const environment = environmentOf(db, input.tenantId, input.environment);
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
export function revokeOperatorKey(db: Db, id: string): SecretWithOwnerRow {
  return db
    .transaction(() => {
      const row = sql(db, `${WITH_OWNER} WHERE s.id = ?`).get(id) as SecretWithOwnerRow | undefined;
      if (!row) throw new OperatorError(`No API key ${id}`);
      if (row.status === "deleted") throw new OperatorError(`API key ${id} is already revoked`);
      return markRevoked(db, operatorAudit(row.tenant_id, row.environment_id, "tollgate keys revoke"), row);
    })
    .immediate();
}
