import type { Static } from "elysia";
import { type Queries } from "../../db";
import type { Scope } from "../../db/scope";
import { notFound } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { CUSTOMER_MESSAGES, type CustomerRow, type CustomerSchema, type ParentCustomerSchema } from "./model";

export type CustomerResponse = Static<typeof CustomerSchema>;
type CustomerFields = Omit<Static<typeof ParentCustomerSchema>, "parent_customer">;

/** The customer's own fields, as responses and audit rows show them (no parent expanded). */
export function customerFields(row: CustomerRow): CustomerFields {
  return {
    id: row.id,
    external_id: row.external_id,
    name: row.name,
    email: row.email,
    contact: row.contact,
    timezone: row.timezone,
    onboarding_workflow_name: row.onboarding_workflow_name,
    skip_onboarding_workflow: row.skip_onboarding_workflow === 1,
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
export async function customerResponses(db: Queries, scope: Scope, rows: CustomerRow[]): Promise<CustomerResponse[]> {
  const parentIds = [...new Set(rows.flatMap((r) => (r.parent_customer_id === null ? [] : [r.parent_customer_id])))];
  const parents = new Map<string, CustomerRow>();
  if (parentIds.length > 0) {
    const found = await db.all<CustomerRow>(
      `SELECT * FROM customers WHERE tenant_id = ? AND environment_id = ? AND ${db.dialect.inJsonArray("id", "?")}`,
      scope.tenantId,
      scope.environmentId,
      JSON.stringify(parentIds),
    );
    for (const parent of found) parents.set(parent.id, parent);
  }
  return rows.map((row) => toCustomerResponse(row, parents.get(row.parent_customer_id ?? "") ?? null));
}

/** One customer's response, its parent expanded. */
export async function customerResponse(db: Queries, scope: Scope, row: CustomerRow): Promise<CustomerResponse> {
  return (await customerResponses(db, scope, [row]))[0] as CustomerResponse;
}

/** The scope a change happens in: the caller's tenant and environment. */
export function scopeOf(audit: AuditContext): Scope {
  return { tenantId: audit.tenantId, environmentId: audit.environmentId as string };
}

/** By id, in the caller's tenant and environment; deleted customers are still readable by id. */
export async function getCustomer(db: Queries, scope: Scope, id: string): Promise<CustomerRow> {
  const row = (await db.get(
    "SELECT * FROM customers WHERE tenant_id = ? AND environment_id = ? AND id = ?",
    scope.tenantId,
    scope.environmentId,
    id,
  )) as CustomerRow | undefined;
  if (!row) throw notFound(CUSTOMER_MESSAGES.notFound);
  return row;
}

/** The live customer holding an external id, if any. */
export async function findLiveByExternalId(
  db: Queries,
  scope: Scope,
  externalId: string,
): Promise<CustomerRow | undefined> {
  return (await db.get(
    "SELECT * FROM customers WHERE tenant_id = ? AND environment_id = ? AND external_id = ? AND status = 'published'",
    scope.tenantId,
    scope.environmentId,
    externalId,
  )) as CustomerRow | undefined;
}

/** By external id: only the live customer holding it (a deleted one gave it up). */
export async function getCustomerByExternalId(db: Queries, scope: Scope, externalId: string): Promise<CustomerRow> {
  const row = await findLiveByExternalId(db, scope, externalId);
  if (!row) throw notFound(CUSTOMER_MESSAGES.notFound);
  return row;
}
