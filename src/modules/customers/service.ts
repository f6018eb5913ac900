import type { Static } from "elysia";
import { type Db, selectPage, sql, sqlPluck } from "../../db";
import { newId, nowIso } from "../../db/ids";
import { alreadyExists, notFound } from "../../http/errors";
import type { Page } from "../../http/pagination";
import type { AuditContext } from "../audit/model";
import { recordAudit } from "../audit/service";
import { revokeSessionsOf } from "../auth/portal-tokens";
import type { Scope } from "../events/service";
import {
  CUSTOMER_MESSAGES,
  type CreateCustomerBody,
  type CustomerRow,
  type CustomerSchema,
  type UpdateCustomerBody,
} from "./model";

export type CustomerResponse = Static<typeof CustomerSchema>;

export function toCustomerResponse(row: CustomerRow): CustomerResponse {
  return {
    id: row.id,
    external_id: row.external_id,
    name: row.name,
    email: row.email,
    metadata: JSON.parse(row.metadata),
    status: row.status,
    environment_id: row.environment_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function scopeOf(audit: AuditContext): Scope {
  return { tenantId: audit.tenantId, environmentId: audit.environmentId as string };
}

/** By id, in the caller's tenant and environment; deleted customers are still readable by id. */
export function getCustomer(db: Db, scope: Scope, id: string): CustomerRow {
  const row = sql(db, "SELECT * FROM customers WHERE tenant_id = ? AND environment_id = ? AND id = ?").get(
    scope.tenantId,
    scope.environmentId,
    id,
  ) as CustomerRow | undefined;
  if (!row) throw notFound(CUSTOMER_MESSAGES.notFound);
  return row;
}

/** By external id: only the live customer holding it (a deleted one gave it up). */
export function getCustomerByExternalId(db: Db, scope: Scope, externalId: string): CustomerRow {
  const row = sql(
    db,
    "SELECT * FROM customers WHERE tenant_id = ? AND environment_id = ? AND external_id = ? AND status = 'published'",
  ).get(scope.tenantId, scope.environmentId, externalId) as CustomerRow | undefined;
  if (!row) throw notFound(CUSTOMER_MESSAGES.notFound);
  return row;
}

function externalIdTaken(db: Db, scope: Scope, externalId: string, exceptId: string | null): boolean {
  return (
    sqlPluck(
      db,
      `SELECT 1 FROM customers WHERE tenant_id = ? AND environment_id = ? AND external_id = ? AND status = 'published'
       AND id IS NOT ?`,
    ).get(scope.tenantId, scope.environmentId, externalId, exceptId) !== undefined
  );
}

export function createCustomer(db: Db, audit: AuditContext, input: Static<typeof CreateCustomerBody>): CustomerRow {
  const scope = scopeOf(audit);
  return db
    .transaction(() => {
      const externalId = input.external_id.trim();
      if (externalIdTaken(db, scope, externalId, null)) throw alreadyExists(CUSTOMER_MESSAGES.duplicate);
      const now = nowIso();
      const row: CustomerRow = {
        id: newId("cust"),
        tenant_id: scope.tenantId,
        environment_id: scope.environmentId,
        external_id: externalId,
        name: input.name ?? null,
        email: input.email ?? null,
        metadata: JSON.stringify(input.metadata ?? {}),
        status: "published",
        created_at: now,
        updated_at: now,
      };
      sql(
        db,
        `INSERT INTO customers (id, tenant_id, environment_id, external_id, name, email, metadata, status, created_at, updated_at)
         VALUES (@id, @tenant_id, @environment_id, @external_id, @name, @email, @metadata, @status, @created_at, @updated_at)`,
      ).run(row);
      recordAudit(db, audit, {
        action: "customer.created",
        resourceType: "customer",
        resourceId: row.id,
        after: toCustomerResponse(row),
      });
      return row;
    })
    .immediate();
}

/** PUT: the fields sent change, the others stay; a deleted customer cannot be changed. */
export function updateCustomer(
  db: Db,
  audit: AuditContext,
  id: string,
  input: Static<typeof UpdateCustomerBody>,
): CustomerRow {
  const scope = scopeOf(audit);
  return db
    .transaction(() => {
      const before = getCustomer(db, scope, id);
      if (before.status === "deleted") throw notFound(CUSTOMER_MESSAGES.notFound);
      const externalId = input.external_id?.trim() ?? before.external_id;
      if (externalIdTaken(db, scope, externalId, id)) throw alreadyExists(CUSTOMER_MESSAGES.duplicate);
      const after: CustomerRow = {
        ...before,
        external_id: externalId,
        name: input.name === undefined ? before.name : input.name,
        email: input.email === undefined ? before.email : input.email,
        metadata: input.metadata === undefined ? before.metadata : JSON.stringify(input.metadata),
        updated_at: nowIso(),
      };
      sql(
        db,
        `UPDATE customers SET external_id = @external_id, name = @name, email = @email, metadata = @metadata,
           updated_at = @updated_at
         WHERE tenant_id = @tenant_id AND environment_id = @environment_id AND id = @id`,
      ).run(after);
      recordAudit(db, audit, {
        action: "customer.updated",
        resourceType: "customer",
        resourceId: id,
        before: toCustomerResponse(before),
        after: toCustomerResponse(after),
      });
      return after;
    })
    .immediate();
}

export function deleteCustomer(db: Db, audit: AuditContext, id: string): void {
  const scope = scopeOf(audit);
  db.transaction(() => {
    const before = getCustomer(db, scope, id);
    if (before.status === "deleted") throw notFound(CUSTOMER_MESSAGES.notFound);
    const after: CustomerRow = { ...before, status: "deleted", updated_at: nowIso() };
    sql(
      db,
      "UPDATE customers SET status = 'deleted', updated_at = ? WHERE tenant_id = ? AND environment_id = ? AND id = ?",
    ).run(after.updated_at, scope.tenantId, scope.environmentId, id);
    recordAudit(db, audit, {
      action: "customer.deleted",
      resourceType: "customer",
      resourceId: id,
      before: toCustomerResponse(before),
      after: toCustomerResponse(after),
    });
  }).immediate();
}

/**
 * DELETE /v1/customers/{id}/portal-sessions, "sign out everywhere": every portal session opened
 * for the customer until now fails from the next request on; sessions opened afterwards work.
 * A deleted customer has no sessions left to end (they fail already): 404, as for PUT.
 */
export function revokePortalSessions(db: Db, audit: AuditContext, id: string): void {
  const scope = scopeOf(audit);
  db.transaction(() => {
    const customer = getCustomer(db, scope, id);
    if (customer.status === "deleted") throw notFound(CUSTOMER_MESSAGES.notFound);
    const revokedAt = revokeSessionsOf(db, customer.id);
    recordAudit(db, audit, {
      action: "customer.portal_sessions_revoked",
      resourceType: "customer",
      resourceId: customer.id,
      after: { external_id: customer.external_id, sessions_revoked_at: revokedAt },
    });
  }).immediate();
}

/** Live customers only, newest first, optionally by external_id or email. */
export function listCustomers(
  db: Db,
  scope: Scope,
  filters: { external_id?: string; email?: string },
  page: Page,
): { rows: CustomerRow[]; total: number } {
  const params = {
    tenantId: scope.tenantId,
    environmentId: scope.environmentId,
    externalId: filters.external_id ?? null,
    email: filters.email ?? null,
  };
  const where = `tenant_id = @tenantId AND environment_id = @environmentId AND status = 'published'
    AND (@externalId IS NULL OR external_id = @externalId) AND (@email IS NULL OR email = @email)`;
  return selectPage<CustomerRow>(db, { from: "customers", where, orderBy: "created_at DESC, id DESC", params, page });
}
