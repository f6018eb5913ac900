import { type Queries } from "../../db";
import type { Scope } from "../../db/scope";
import { invalidOperation, notFound, validationError } from "../../http/errors";
import { CUSTOMER_MESSAGES, type CustomerRow } from "./model";
import { findLiveByExternalId } from "./read";

/** How many live customers have this one as their parent. */
export async function liveChildren(db: Queries, scope: Scope, id: string): Promise<number> {
  return (await db.value(
    `SELECT count(*) FROM customers
     WHERE tenant_id = ? AND environment_id = ? AND parent_customer_id = ? AND status = 'published'`,
    scope.tenantId,
    scope.environmentId,
    id,
  )) as number;
}

/** How a request names a parent: by id or by external id. */
export type ParentFields = { parent_customer_id?: string | null; parent_customer_external_id?: string | null };

/**
 * The parent a request asks for: `undefined` when it names none (keep what there is), `null` to
 * have none, else a live customer of the same tenant and environment (404 otherwise, as for any
 * id of another tenant or environment). An empty string, as the SDK sends to clear a field, is
 * none. Both fields at once: 400, as in Flexprice.
 */
export async function requestedParent(
  db: Queries,
  scope: Scope,
  input: ParentFields,
): Promise<CustomerRow | null | undefined> {
  const byId = input.parent_customer_id;
  const byExternalId = input.parent_customer_external_id;
  if (byId !== undefined && byExternalId !== undefined) {
    throw validationError(CUSTOMER_MESSAGES.oneParentReference, {
      parent_customer_id: "may not be sent with parent_customer_external_id",
      parent_customer_external_id: "may not be sent with parent_customer_id",
    });
  }
  const reference = byId !== undefined ? byId : byExternalId;
  if (reference === undefined) return undefined;
  if (reference === null || reference === "") return null;
  const parent =
    byId !== undefined
      ? ((await db.get(
          "SELECT * FROM customers WHERE tenant_id = ? AND environment_id = ? AND id = ? AND status = 'published'",
          scope.tenantId,
          scope.environmentId,
          reference,
        )) as CustomerRow | undefined)
      : await findLiveByExternalId(db, scope, reference);
  if (!parent) throw notFound(CUSTOMER_MESSAGES.parentNotFound);
  return parent;
}

/**
 * Flexprice's hierarchy rules: one level deep. The parent may not have a parent, and a customer
 * that is a parent may not become a child; together they rule out cycles of any length.
 */
export async function checkHierarchy(
  db: Queries,
  scope: Scope,
  customerId: string | null,
  parent: CustomerRow,
  field: string,
) {
  if (parent.id === customerId)
    throw validationError(CUSTOMER_MESSAGES.ownParent, { [field]: "is the customer itself" });
  if (parent.parent_customer_id !== null) throw invalidOperation(CUSTOMER_MESSAGES.parentHasParent);
  if (customerId !== null && (await liveChildren(db, scope, customerId)) > 0)
    throw invalidOperation(CUSTOMER_MESSAGES.isParent);
}

/** The field a request named its parent with, for messages. */
export const parentField = (input: ParentFields) =>
  input.parent_customer_external_id !== undefined ? "parent_customer_external_id" : "parent_customer_id";
