import type { Static } from "elysia";
import { type Queries, type Store } from "../../db";
import { nowIso } from "../../db/ids";
import type { Scope } from "../../db/scope";
import { alreadyExists, notFound, validationError } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import { COLUMNS, externalIdTaken, optionalFieldsOf, timezoneOf, withMappings } from "./fields";
import { checkHierarchy, parentField, requestedParent } from "./hierarchy";
import { CUSTOMER_MESSAGES, type CustomerRow, type UpdateCustomerBody } from "./model";
import { customerFields, getCustomer, getCustomerByExternalId, scopeOf } from "./read";

/** What a PUT writes: every column but the customer's identity, scope, status and creation. */
const UPDATE_SQL = `UPDATE customers SET ${COLUMNS.filter(
  (c) => !["id", "tenant_id", "environment_id", "status", "created_by", "created_at"].includes(c),
)
  .map((c) => `${c} = @${c}`)
  .join(", ")}
  WHERE tenant_id = @tenant_id AND environment_id = @environment_id AND id = @id`;

/**
 * Which customer a PUT names: by id (the path, or `?id=`), by external id
 * (`?external_customer_id=`, the live customer holding it), or both when they agree.
 */
export interface UpdateTarget {
  id?: string;
  externalCustomerId?: string;
}

async function resolveTarget(db: Queries, scope: Scope, target: UpdateTarget): Promise<CustomerRow> {
  const id = target.id || undefined;
  const externalId = target.externalCustomerId || undefined;
  if (id === undefined && externalId === undefined) {
    throw validationError(CUSTOMER_MESSAGES.updateTarget, {
      id: "is required unless external_customer_id is given",
      external_customer_id: "is required unless id is given",
    });
  }
  const byId = id === undefined ? undefined : await getCustomer(db, scope, id);
  if (externalId === undefined) return byId as CustomerRow;
  const byExternalId = await getCustomerByExternalId(db, scope, externalId);
  if (byId && byId.id !== byExternalId.id) {
    throw validationError(CUSTOMER_MESSAGES.differentTargets, {
      external_customer_id: "refers to a different customer than id",
    });
  }
  return byExternalId;
}

/** PUT: the fields sent change, the others stay; a deleted customer cannot be changed. */
export async function updateCustomer(
  db: Store,
  audit: AuditContext,
  target: UpdateTarget,
  input: Static<typeof UpdateCustomerBody>,
): Promise<CustomerRow> {
  const scope = scopeOf(audit);
  return await db.transaction(async (tx) => {
    const before = await resolveTarget(tx, scope, target);
    if (before.status === "deleted") throw notFound(CUSTOMER_MESSAGES.notFound);
    const externalId = input.external_id?.trim() ?? before.external_id;
    if (await externalIdTaken(tx, scope, externalId, before.id)) throw alreadyExists(CUSTOMER_MESSAGES.duplicate);
    // The hierarchy rules apply to a change of parent only (a customer is never its own parent).
    const parent = await requestedParent(tx, scope, input);
    let parentId = before.parent_customer_id;
    if (parent !== undefined && (parent?.id ?? null) !== parentId) {
      if (parent) await checkHierarchy(tx, scope, before.id, parent, parentField(input));
      parentId = parent?.id ?? null;
    }
    const metadata = input.metadata === undefined ? JSON.parse(before.metadata) : input.metadata;
    const after: CustomerRow = {
      ...before,
      external_id: externalId,
      ...optionalFieldsOf(input, before),
      timezone: timezoneOf(input.timezone, before.timezone),
      metadata: JSON.stringify(withMappings(metadata, input.integration_entity_mapping)),
      parent_customer_id: parentId,
      updated_by: audit.actor.id,
      updated_at: nowIso(),
    };
    await tx.run(UPDATE_SQL, after);
    await recordAudit(tx, audit, {
      action: AUDIT.customer.updated,
      resourceId: before.id,
      before: customerFields(before),
      after: customerFields(after),
    });
    return after;
  });
}
