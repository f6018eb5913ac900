import { type Db, sql } from "../../db";
import { nowIso } from "../../db/ids";
import { invalidOperation, notFound } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import { revokeSessionsOf } from "../auth/portal-tokens";
import { liveChildren } from "./hierarchy";
import { CUSTOMER_MESSAGES, type CustomerRow } from "./model";
import { customerFields, getCustomer, scopeOf } from "./read";

/** Soft delete. A parent of live customers stays until they are detached or deleted. */
export function deleteCustomer(db: Db, audit: AuditContext, id: string): void {
  const scope = scopeOf(audit);
  db.transaction(() => {
    const before = getCustomer(db, scope, id);
    if (before.status === "deleted") throw notFound(CUSTOMER_MESSAGES.notFound);
    const children = liveChildren(db, scope, id);
    if (children > 0) throw invalidOperation(CUSTOMER_MESSAGES.hasChildren, { child_customers: children });
    const after: CustomerRow = { ...before, status: "deleted", updated_by: audit.actor.id, updated_at: nowIso() };
    sql(
      db,
      `UPDATE customers SET status = 'deleted', updated_by = ?, updated_at = ?
       WHERE tenant_id = ? AND environment_id = ? AND id = ?`,
    ).run(after.updated_by, after.updated_at, scope.tenantId, scope.environmentId, id);
    recordAudit(db, audit, {
      action: AUDIT.customer.deleted,
      resourceId: id,
      before: customerFields(before),
      after: customerFields(after),
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
      action: AUDIT.customer.portal_sessions_revoked,
      resourceId: customer.id,
      after: { external_id: customer.external_id, sessions_revoked_at: revokedAt },
    });
  }).immediate();
}
