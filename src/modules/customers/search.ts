import type { Static } from "elysia";
import type { PageReader, Paged } from "../../db";
import { containsAnySql, type SearchFields, searchClauses } from "../../db/filters";
import type { Scope } from "../../db/scope";
import { validationError } from "../../http/errors";
import type { Page } from "../../http/pagination";
import type { CustomerRow, SearchCustomersBody } from "./model";

export type SearchCustomersInput = Omit<Static<typeof SearchCustomersBody>, "limit" | "offset">;

/**
 * The customer fields `sort` and `filters` may name, each a column of the table (`metadata`, a
 * JSON object, is neither filtered nor sorted on).
 */
const CUSTOMER_FIELDS: SearchFields = {
  noun: "customer",
  fields: {
    id: { column: "id", kind: "text" },
    external_id: { column: "external_id", kind: "text" },
    name: { column: "name", kind: "text", caseless: true },
    email: { column: "email", kind: "text", caseless: true },
    status: { column: "status", kind: "text" },
    parent_customer_id: { column: "parent_customer_id", kind: "text" },
    address_line1: { column: "address_line1", kind: "text", caseless: true },
    address_line2: { column: "address_line2", kind: "text", caseless: true },
    address_city: { column: "address_city", kind: "text", caseless: true },
    address_state: { column: "address_state", kind: "text", caseless: true },
    address_postal_code: { column: "address_postal_code", kind: "text" },
    address_country: { column: "address_country", kind: "text" },
    tenant_id: { column: "tenant_id", kind: "text" },
    environment_id: { column: "environment_id", kind: "text" },
    created_by: { column: "created_by", kind: "text" },
    updated_by: { column: "updated_by", kind: "text" },
    created_at: { column: "created_at", kind: "date" },
    updated_at: { column: "updated_at", kind: "date" },
  },
};

/** The one expansion customers have; every customer response carries its parent anyway. */
const EXPANSIONS = new Set(["parent_customer"]);

/**
 * GET /v1/customers and POST /v1/customers/search: Flexprice's CustomerFilter over the caller's
 * environment.
 * - `external_id`, `email`: exact. `customer_ids`, `external_ids`, `parent_customer_ids`: any of
 *   them (an empty list filters nothing, as in Flexprice).
 * - `status`: live customers unless given; `deleted` lists deleted ones; `archived` matches none
 *   (customers are deleted, never archived).
 * - `start_time`/`end_time`, `filters`, `sort`, `order`: see src/db/filters.ts (Flexprice's
 *   customer list ignores the time range; Tollgate applies it, as Flexprice's other lists do).
 * - `expand`: `parent_customer` is honoured (always); anything else (Flexprice's `integrations`)
 *   is refused rather than answered without it: Tollgate keeps no integration mappings.
 * - `text` (the dashboard's search box, not a field of the API): customers whose name, email or
 *   external id contains it, ignoring case.
 */
export async function searchCustomers(
  pages: PageReader,
  scope: Scope,
  filters: SearchCustomersInput,
  page: Page,
  text?: string,
): Promise<Paged<CustomerRow>> {
  const expand = (filters.expand ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  const unknown = expand.find((e) => !EXPANSIONS.has(e));
  if (unknown !== undefined) {
    const rule = `may only be "parent_customer" (Tollgate keeps no ${JSON.stringify(unknown)} for customers)`;
    throw validationError(`expand ${rule}`, { expand: rule });
  }
  const where = ["tenant_id = @tenantId", "environment_id = @environmentId"];
  const params: Record<string, unknown> = { tenantId: scope.tenantId, environmentId: scope.environmentId };
  if (filters.status) {
    where.push("status = @status");
    params.status = filters.status;
  } else {
    where.push("status = 'published'");
  }
  const exact = [
    ["external_id", filters.external_id],
    ["email", filters.email],
  ] as const;
  for (const [column, wanted] of exact) {
    if (wanted === undefined) continue;
    where.push(`${column} = @${column}`);
    params[column] = wanted;
  }
  // Every pair must be in the customer's metadata (Flexprice's `metadata @> {…}`).
  Object.entries(filters.metadata ?? {}).forEach(([key, value], i) => {
    where.push(pages.dialect.jsonHasPair("metadata", `@meta_key_${i}`, `@meta_value_${i}`));
    params[`meta_key_${i}`] = key;
    params[`meta_value_${i}`] = value;
  });
  const lists = [
    ["id", "customer_ids", filters.customer_ids],
    ["external_id", "external_ids", filters.external_ids],
    ["parent_customer_id", "parent_customer_ids", filters.parent_customer_ids],
  ] as const;
  for (const [column, name, ids] of lists) {
    if (!ids || ids.length === 0) continue;
    where.push(pages.dialect.inJsonArray(column, `@${name}`));
    params[name] = JSON.stringify(ids);
  }
  if (text) where.push(containsAnySql(pages.dialect, ["name", "email", "external_id"], text, params, "text"));
  const search = searchClauses(pages.dialect, CUSTOMER_FIELDS, filters, params);
  return pages.page<CustomerRow>(scope.tenantId, {
    from: "customers",
    where: [...where, ...search.where].join(" AND "),
    orderBy: search.orderBy,
    params,
    page,
  });
}
