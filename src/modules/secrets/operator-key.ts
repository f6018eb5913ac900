import { type Db, sql } from "../../db";
import { newId, nowIso } from "../../db/ids";
import type { AuditContext } from "../audit/model";
import { recordAudit } from "../audit/service";
import type { EnvironmentRow } from "../environments/model";
import { ensureTenant } from "../environments/service";
import { isRoleId } from "../rbac/service";
import { type IssuedKey, issueKey } from "./service";

export interface OperatorKeyInput {
  tenantId: string;
  /** An environment id or name; the tenant's default environment when absent. */
  environment?: string;
  roles: string[];
  name: string;
  type: "private_key" | "publishable_key";
  expiresAt: string | null;
}

export class OperatorKeyError extends Error {}

/**
 * `tollgate keys create`: a key for a new service account holding `roles`, in a tenant that is
 * created with its two environments if it does not exist yet. Lets an operator bootstrap
 * without the development key. Audited with the actor `system`.
 */
export function createOperatorKey(db: Db, input: OperatorKeyInput): IssuedKey & { environment: EnvironmentRow } {
  const unknown = input.roles.find((role) => !isRoleId(role));
  if (input.roles.length === 0) throw new OperatorKeyError("--roles needs at least one role");
  if (unknown !== undefined) throw new OperatorKeyError(`Invalid role: ${unknown}`);
  return db
    .transaction(() => {
      ensureTenant(db, input.tenantId, input.tenantId);
      const environment = (
        input.environment === undefined
          ? sql(db, "SELECT * FROM environments WHERE tenant_id = ? AND is_default = 1").get(input.tenantId)
          : sql(db, "SELECT * FROM environments WHERE tenant_id = ? AND (id = ? OR name = ?)").get(
              input.tenantId,
              input.environment,
              input.environment,
            )
      ) as EnvironmentRow | undefined;
      if (!environment) throw new OperatorKeyError(`No environment ${input.environment} in tenant ${input.tenantId}`);
      const now = nowIso();
      const accountId = newId("usr");
      sql(
        db,
        `INSERT INTO users (id, tenant_id, type, name, roles, status, created_at, updated_at)
         VALUES (?, ?, 'service_account', ?, ?, 'published', ?, ?)`,
      ).run(accountId, input.tenantId, input.name, JSON.stringify(input.roles), now, now);
      const issued = issueKey(db, {
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
      const audit: AuditContext = {
        tenantId: input.tenantId,
        environmentId: environment.id,
        actor: { type: "system", id: null, name: "tollgate keys create" },
        credentialId: null,
        requestId: null,
        ip: null,
        userAgent: null,
      };
      recordAudit(db, audit, {
        action: "service_account.created",
        resourceType: "service_account",
        resourceId: accountId,
        after: { id: accountId, name: input.name, roles: input.roles },
      });
      recordAudit(db, audit, {
        action: "secret.created",
        resourceType: "secret",
        resourceId: issued.secret.id,
        after: { id: issued.secret.id, name: input.name, display_id: issued.secret.display_id, roles: input.roles },
      });
      return { ...issued, environment };
    })
    .immediate();
}
