import type { Static } from "elysia";
import { type Db, sql, sqlPluck } from "../../db";
import { newId, nowIso } from "../../db/ids";
import { ADDRESS_FIELDS } from "../../http/address";
import { alreadyExists, invalidOperation, notFound, validationError } from "../../http/errors";
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
  METADATA_MAX_KEYS,
  type ParentCustomerSchema,
  type UpdateCustomerBody,
} from "./model";
import { type SearchCustomersInput, searchCustomers } from "./search";

export type CustomerResponse = Static<typeof CustomerSchema>;
type CustomerFields = Omit<Static<typeof ParentCustomerSchema>, "parent_customer">;

/** The customer's own fields, as responses and audit rows show them (no parent expanded). */
export function customerFields(row: CustomerRow): CustomerFields {
  return {
    id: row.id,
    external_id: row.external_id,
    name: row.name,
    email: row.email,
    metadata: JSON.parse(row.metadata),
    status: row.status,
    address_line1: row.address_line1,
    address_line2: row.address_line2,
    address_city: row.address_city,
    address_state: row.address_state,
    address_postal_code: row.address_postal_code,
    address_country: row.address_country,
    parent_customer_id: row.parent_customer_id,
    tenant_id: row.tenant_id,
    environment_id: row.environment_id,
    created_by: row.created_by,
    updated_by: row.updated_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The response for a customer, its parent expanded when `parent` is given (one level: the parent has none). */
export function toCustomerResponse(row: CustomerRow, parent: CustomerRow | null = null): CustomerResponse {
  return {
    ...customerFields(row),
    parent_customer: parent === null ? null : { ...customerFields(parent), parent_customer: null },
  };
}

/** Responses for customers of one scope, each with its parent, the parents read in one query. */
export function customerResponses(db: Db, scope: Scope, rows: CustomerRow[]): CustomerResponse[] {
  const parentIds = [...new Set(rows.flatMap((r) => (r.parent_customer_id === null ? [] : [r.parent_customer_id])))];
  const parents = new Map<string, CustomerRow>();
  if (parentIds.length > 0) {
    const found = sql(
      db,
      `SELECT * FROM customers WHERE tenant_id = ? AND environment_id = ? AND id IN (SELECT value FROM json_each(?))`,
    ).all(scope.tenantId, scope.environmentId, JSON.stringify(parentIds)) as CustomerRow[];
    for (const parent of found) parents.set(parent.id, parent);
  }
  return rows.map((row) => toCustomerResponse(row, parents.get(row.parent_customer_id ?? "") ?? null));
}

/** One customer's response, its parent expanded. */
export function customerResponse(db: Db, scope: Scope, row: CustomerRow): CustomerResponse {
  return customerResponses(db, scope, [row])[0] as CustomerResponse;
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

function findLiveByExternalId(db: Db, scope: Scope, externalId: string): CustomerRow | undefined {
  return sql(
    db,
    "SELECT * FROM customers WHERE tenant_id = ? AND environment_id = ? AND external_id = ? AND status = 'published'",
  ).get(scope.tenantId, scope.environmentId, externalId) as CustomerRow | undefined;
}

/** By external id: only the live customer holding it (a deleted one gave it up). */
export function getCustomerByExternalId(db: Db, scope: Scope, externalId: string): CustomerRow {
  const row = findLiveByExternalId(db, scope, externalId);
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

function liveChildren(db: Db, scope: Scope, id: string): number {
  return sqlPluck(
    db,
    `SELECT count(*) FROM customers
     WHERE tenant_id = ? AND environment_id = ? AND parent_customer_id = ? AND status = 'published'`,
  ).get(scope.tenantId, scope.environmentId, id) as number;
}

type ParentFields = { parent_customer_id?: string | null; parent_customer_external_id?: string | null };

/**
 * The parent a request asks for: `undefined` when it names none (keep what there is), `null` to
 * have none, else a live customer of the same tenant and environment (404 otherwise, as for any
 * id of another tenant or environment). An empty string, as the SDK sends to clear a field, is
 * none. Both fields at once: 400, as in Flexprice.
 */
function requestedParent(db: Db, scope: Scope, input: ParentFields): CustomerRow | null | undefined {
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
      ? (sql(
          db,
          "SELECT * FROM customers WHERE tenant_id = ? AND environment_id = ? AND id = ? AND status = 'published'",
        ).get(scope.tenantId, scope.environmentId, reference) as CustomerRow | undefined)
      : findLiveByExternalId(db, scope, reference);
  if (!parent) throw notFound(CUSTOMER_MESSAGES.parentNotFound);
  return parent;
}

/**
 * Flexprice's hierarchy rules: one level deep. The parent may not have a parent, and a customer
 * that is a parent may not become a child; together they rule out cycles of any length.
 */
function checkHierarchy(db: Db, scope: Scope, customerId: string | null, parent: CustomerRow, field: string) {
  if (parent.id === customerId)
    throw validationError(CUSTOMER_MESSAGES.ownParent, { [field]: "is the customer itself" });
  if (parent.parent_customer_id !== null) throw invalidOperation(CUSTOMER_MESSAGES.parentHasParent);
  if (customerId !== null && liveChildren(db, scope, customerId) > 0)
    throw invalidOperation(CUSTOMER_MESSAGES.isParent);
}

const parentField = (input: ParentFields) =>
  input.parent_customer_external_id !== undefined ? "parent_customer_external_id" : "parent_customer_id";

/** The customer's optional text fields: name, email and the address. */
const OPTIONAL_FIELDS = ["name", "email", ...ADDRESS_FIELDS] as const;
type OptionalField = (typeof OPTIONAL_FIELDS)[number];

/**
 * The optional fields after the request: a field sent replaces what is stored; an empty string
 * or null clears it (stored as null, as Flexprice's empty string means "not set").
 */
function optionalFieldsOf(input: Partial<Record<OptionalField, string | null>>, before: Partial<CustomerRow> = {}) {
  const out = {} as Record<OptionalField, string | null>;
  for (const field of OPTIONAL_FIELDS) {
    const sent = input[field];
    out[field] = sent === undefined ? (before[field] ?? null) : sent === "" ? null : sent;
  }
  return out;
}

type Mapping = NonNullable<Static<typeof CreateCustomerBody>["integration_entity_mapping"]>;

/**
 * `integration_entity_mapping`, as far as Tollgate can honour it: Flexprice records the
 * customer's id at the provider and writes it into the customer's metadata as
 * `<provider>_customer_id`; Tollgate keeps that metadata (it calls no provider).
 */
function withMappings(metadata: Record<string, string>, mappings: Mapping | undefined): Record<string, string> {
  if (!mappings || mappings.length === 0) return metadata;
  const seen = new Set<string>();
  const out = { ...metadata };
  for (const [i, mapping] of mappings.entries()) {
    if (seen.has(mapping.provider)) {
      const rule = `lists ${mapping.provider} more than once`;
      throw validationError(`integration_entity_mapping ${rule}`, {
        [`integration_entity_mapping[${i}].provider`]: rule,
      });
    }
    seen.add(mapping.provider);
    out[`${mapping.provider}_customer_id`] = mapping.id;
  }
  if (Object.keys(out).length > METADATA_MAX_KEYS) {
    const rule = `must have at most ${METADATA_MAX_KEYS} keys, counting the <provider>_customer_id keys integration_entity_mapping adds`;
    throw validationError(`metadata ${rule}`, { metadata: rule });
  }
  return out;
}

const COLUMNS = [
  "id",
  "tenant_id",
  "environment_id",
  "external_id",
  "name",
  "email",
  "metadata",
  "status",
  ...ADDRESS_FIELDS,
  "parent_customer_id",
  "created_by",
  "updated_by",
  "created_at",
  "updated_at",
] as const;

const INSERT_SQL = `INSERT INTO customers (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map((c) => `@${c}`).join(", ")})`;

/** What a PUT writes: every column but the customer's identity, scope, status and creation. */
const UPDATE_SQL = `UPDATE customers SET ${COLUMNS.filter(
  (c) => !["id", "tenant_id", "environment_id", "status", "created_by", "created_at"].includes(c),
)
  .map((c) => `${c} = @${c}`)
  .join(", ")}
  WHERE tenant_id = @tenant_id AND environment_id = @environment_id AND id = @id`;

export function createCustomer(db: Db, audit: AuditContext, input: Static<typeof CreateCustomerBody>): CustomerRow {
  const scope = scopeOf(audit);
  if (input.tax_rate_overrides !== undefined && input.tax_rate_overrides.length > 0) {
    throw validationError(CUSTOMER_MESSAGES.taxRates, {
      tax_rate_overrides: "must be empty: Tollgate keeps no tax rates, so they would be silently lost",
    });
  }
  // skip_onboarding_workflow: accepted and ignored; Tollgate runs no onboarding workflow.
  const metadata = withMappings(input.metadata ?? {}, input.integration_entity_mapping);
  return db
    .transaction(() => {
      const externalId = input.external_id.trim();
      if (externalIdTaken(db, scope, externalId, null)) throw alreadyExists(CUSTOMER_MESSAGES.duplicate);
      const parent = requestedParent(db, scope, input) ?? null;
      if (parent) checkHierarchy(db, scope, null, parent, parentField(input));
      const now = nowIso();
      const row: CustomerRow = {
        id: newId("cust"),
        tenant_id: scope.tenantId,
        environment_id: scope.environmentId,
        external_id: externalId,
        ...optionalFieldsOf(input),
        metadata: JSON.stringify(metadata),
        status: "published",
        parent_customer_id: parent?.id ?? null,
        created_by: audit.actor.id,
        updated_by: audit.actor.id,
        created_at: now,
        updated_at: now,
      };
      sql(db, INSERT_SQL).run(row);
      recordAudit(db, audit, {
        action: "customer.created",
        resourceType: "customer",
        resourceId: row.id,
        after: customerFields(row),
      });
      return row;
    })
    .immediate();
}

/**
 * Which customer a PUT names: by id (the path, or `?id=`), by external id
 * (`?external_customer_id=`, the live customer holding it), or both when they agree.
 */
export interface UpdateTarget {
  id?: string;
  externalCustomerId?: string;
}

function resolveTarget(db: Db, scope: Scope, target: UpdateTarget): CustomerRow {
  const id = target.id || undefined;
  const externalId = target.externalCustomerId || undefined;
  if (id === undefined && externalId === undefined) {
    throw validationError(CUSTOMER_MESSAGES.updateTarget, {
      id: "is required unless external_customer_id is given",
      external_customer_id: "is required unless id is given",
    });
  }
  const byId = id === undefined ? undefined : getCustomer(db, scope, id);
  if (externalId === undefined) return byId as CustomerRow;
  const byExternalId = getCustomerByExternalId(db, scope, externalId);
  if (byId && byId.id !== byExternalId.id) {
    throw validationError(CUSTOMER_MESSAGES.differentTargets, {
      external_customer_id: "refers to a different customer than id",
    });
  }
  return byExternalId;
}

/** PUT: the fields sent change, the others stay; a deleted customer cannot be changed. */
export function updateCustomer(
  db: Db,
  audit: AuditContext,
  target: UpdateTarget,
  input: Static<typeof UpdateCustomerBody>,
): CustomerRow {
  const scope = scopeOf(audit);
  return db
    .transaction(() => {
      const before = resolveTarget(db, scope, target);
      if (before.status === "deleted") throw notFound(CUSTOMER_MESSAGES.notFound);
      const externalId = input.external_id?.trim() ?? before.external_id;
      if (externalIdTaken(db, scope, externalId, before.id)) throw alreadyExists(CUSTOMER_MESSAGES.duplicate);
      // The hierarchy rules apply to a change of parent only (a customer is never its own parent).
      const parent = requestedParent(db, scope, input);
      let parentId = before.parent_customer_id;
      if (parent !== undefined && (parent?.id ?? null) !== parentId) {
        if (parent) checkHierarchy(db, scope, before.id, parent, parentField(input));
        parentId = parent?.id ?? null;
      }
      const metadata = input.metadata === undefined ? JSON.parse(before.metadata) : input.metadata;
      const after: CustomerRow = {
        ...before,
        external_id: externalId,
        ...optionalFieldsOf(input, before),
        metadata: JSON.stringify(withMappings(metadata, input.integration_entity_mapping)),
        parent_customer_id: parentId,
        updated_by: audit.actor.id,
        updated_at: nowIso(),
      };
      sql(db, UPDATE_SQL).run(after);
      recordAudit(db, audit, {
        action: "customer.updated",
        resourceType: "customer",
        resourceId: before.id,
        before: customerFields(before),
        after: customerFields(after),
      });
      return after;
    })
    .immediate();
}

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
      action: "customer.deleted",
      resourceType: "customer",
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
      action: "customer.portal_sessions_revoked",
      resourceType: "customer",
      resourceId: customer.id,
      after: { external_id: customer.external_id, sessions_revoked_at: revokedAt },
    });
  }).immediate();
}

/** GET /v1/customers and POST /v1/customers/search: see ./search.ts. */
export function listCustomers(
  db: Db,
  scope: Scope,
  filters: SearchCustomersInput,
  page: Page,
): { rows: CustomerRow[]; total: number } {
  return searchCustomers(db, scope, filters, page);
}
