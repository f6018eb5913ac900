import type { Store } from "../../db";
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
export async function deleteCustomer(db: Store, audit: AuditContext, id: string): Promise<void> {
  const scope = scopeOf(audit);
  await db.transaction(async (tx) => {
    const before = await getCustomer(tx, scope, id);
    if (before.status === "deleted") throw notFound(CUSTOMER_MESSAGES.notFound);
    const children = await liveChildren(tx, scope, id);
    if (children > 0) throw invalidOperation(CUSTOMER_MESSAGES.hasChildren, { child_customers: children });
    const after: CustomerRow = { ...before, status: "deleted", updated_by: audit.actor.id, updated_at: nowIso() };
    await tx.run(
      `UPDATE customers SET status = 'deleted', updated_by = ?, updated_at = ?
       WHERE tenant_id = ? AND environment_id = ? AND id = ?`,
      after.updated_by,
      after.updated_at,
      scope.tenantId,
      scope.environmentId,
      id,
    );
    await recordAudit(tx, audit, {
      action: AUDIT.customer.deleted,
      resourceId: id,
      before: customerFields(before),
      after: customerFields(after),
    });
  });
}

/**
 * DELETE /v1/customers/{id}/portal-sessions, "sign out everywhere": every portal session opened
 * for the customer until now fails from the next request on; sessions opened afterwards work.
 * A deleted customer has no sessions left to end (they fail already): 404, as for PUT.
 */
export async function revokePortalSessions(db: Store, audit: AuditContext, id: string): Promise<void> {
  const scope = scopeOf(audit);
  await db.transaction(async (tx) => {
    const customer = await getCustomer(tx, scope, id);
    if (customer.status === "deleted") throw notFound(CUSTOMER_MESSAGES.notFound);
    const revokedAt = await revokeSessionsOf(tx, customer.id);
    await recordAudit(tx, audit, {
      action: AUDIT.customer.portal_sessions_revoked,
      resourceId: customer.id,
      after: { external_id: customer.external_id, sessions_revoked_at: revokedAt },
    });
  });
}
