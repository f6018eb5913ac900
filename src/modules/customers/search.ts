import type { Static } from "elysia";
import { type Db, selectPage } from "../../db";
import { validationError } from "../../http/errors";
import type { Page } from "../../http/pagination";
import type { Scope } from "../events/service";
import type { CustomerRow, FilterConditionBody, SearchCustomersBody, SortConditionBody } from "./model";

export type SearchCustomersInput = Omit<Static<typeof SearchCustomersBody>, "limit" | "offset">;
type FilterCondition = Static<typeof FilterConditionBody>;
type SortCondition = Static<typeof SortConditionBody>;

/**
 * The customer fields `sort` and `filters` may name, each a column of the table (`metadata`, a
 * JSON object, is neither filtered nor sorted on). Free text sorts without regard to letter case.
 */
const FIELDS = {
  id: { kind: "text", sortAs: "id" },
  external_id: { kind: "text", sortAs: "external_id" },
  name: { kind: "text", sortAs: "name COLLATE NOCASE" },
  email: { kind: "text", sortAs: "email COLLATE NOCASE" },
  status: { kind: "text", sortAs: "status" },
  parent_customer_id: { kind: "text", sortAs: "parent_customer_id" },
  address_line1: { kind: "text", sortAs: "address_line1 COLLATE NOCASE" },
  address_line2: { kind: "text", sortAs: "address_line2 COLLATE NOCASE" },
  address_city: { kind: "text", sortAs: "address_city COLLATE NOCASE" },
  address_state: { kind: "text", sortAs: "address_state COLLATE NOCASE" },
  address_postal_code: { kind: "text", sortAs: "address_postal_code" },
  address_country: { kind: "text", sortAs: "address_country" },
  tenant_id: { kind: "text", sortAs: "tenant_id" },
  environment_id: { kind: "text", sortAs: "environment_id" },
  created_by: { kind: "text", sortAs: "created_by" },
  updated_by: { kind: "text", sortAs: "updated_by" },
  created_at: { kind: "date", sortAs: "created_at" },
  updated_at: { kind: "date", sortAs: "updated_at" },
} as const;

type FieldName = keyof typeof FIELDS;
const FIELD_RULE = `must be one of: ${Object.keys(FIELDS).join(", ")}`;

function refuse(where: string, rule: string): never {
  throw validationError(`${where} ${rule}`, { [where]: rule });
}

/** The field's name, now known to be a column (the only text that reaches the SQL unbound). */
function fieldOf(name: string, where: string): FieldName {
  if (!Object.hasOwn(FIELDS, name)) refuse(where, FIELD_RULE);
  return name as FieldName;
}

const utc = (timestamp: string) => new Date(timestamp).toISOString();

/**
 * Case-insensitive "contains", Unicode-aware (SQLite's own lower() folds ASCII letters only, so
 * "MÜNCHEN" would not contain "münchen"). A missing value contains nothing.
 */
const CONTAINS = "tollgate_customer_contains";
const registered = new WeakSet<Db>();
function registerContains(db: Db) {
  if (registered.has(db)) return;
  db.function(CONTAINS, { deterministic: true }, (haystack: unknown, needle: unknown) =>
    typeof haystack === "string" && typeof needle === "string" && haystack.toLowerCase().includes(needle) ? 1 : 0,
  );
  registered.add(db);
}

/**
 * One filter condition as SQL, with Flexprice's meaning of each operator (internal/dsl): `eq`
 * exact, `contains`/`not_contains` a case-insensitive substring (a customer without an email
 * does not contain anything), `in`/`not_in` a list, `before`/`after` strictly earlier or later.
 * No customer field is a number, so `gt` and `lt` are refused, as is any pairing of operator,
 * field and value that would have to be guessed at (Flexprice drops such a condition silently):
 * a filter that is not applied would answer with customers the caller excluded.
 */
function conditionSql(filter: FilterCondition, i: number, params: Record<string, unknown>): string {
  const at = `filters[${i}]`;
  const column = fieldOf(filter.field, `${at}.field`);
  const { kind } = FIELDS[column];
  const { operator, value } = filter;
  const param = `f${i}`;
  const expectType = (dataType: string) => {
    if (filter.data_type !== undefined && filter.data_type !== dataType) {
      refuse(`${at}.data_type`, `must be "${dataType}" for ${operator} on ${column}`);
    }
  };
  const needs = <K extends keyof FilterCondition["value"]>(member: K): NonNullable<FilterCondition["value"][K]> => {
    const v = value[member];
    if (v === undefined) refuse(`${at}.value.${member}`, `is required for ${operator} on ${column}`);
    return v as NonNullable<FilterCondition["value"][K]>;
  };
  switch (operator) {
    case "gt":
    case "lt":
      return refuse(`${at}.operator`, `${operator} compares numbers, and no customer field is a number`);
    case "in":
    case "not_in": {
      if (kind !== "text") refuse(`${at}.operator`, `${operator} applies to text fields, not ${column}`);
      expectType("array");
      params[param] = JSON.stringify(needs("array"));
      const test = `${column} IN (SELECT value FROM json_each(@${param}))`;
      return operator === "in" ? test : `(${column} IS NULL OR NOT ${test})`;
    }
    case "before":
    case "after": {
      if (kind !== "date") refuse(`${at}.operator`, `${operator} applies to created_at and updated_at`);
      expectType("date");
      params[param] = utc(needs("date"));
      return `${column} ${operator === "before" ? "<" : ">"} @${param}`;
    }
    case "contains":
    case "not_contains": {
      if (kind !== "text") refuse(`${at}.operator`, `${operator} applies to text fields, not ${column}`);
      expectType("string");
      params[param] = needs("string").toLowerCase();
      const test = `${CONTAINS}(${column}, @${param}) = 1`;
      return operator === "contains" ? test : `NOT ${test}`;
    }
    case "eq": {
      if (kind === "date") {
        expectType("date");
        params[param] = utc(needs("date"));
      } else {
        expectType("string");
        params[param] = needs("string");
      }
      return `${column} = @${param}`;
    }
  }
  return refuse(`${at}.operator`, "is not a known operator");
}

/**
 * `sort` conditions in the order given (without a direction: ascending, as in Flexprice; a
 * missing value sorts last), then the default order, newest first (`order: "asc"` for oldest
 * first), which also settles ties so pages never repeat or skip a customer.
 */
function orderBy(sort: SortCondition[] | undefined, order: "asc" | "desc" | undefined): string {
  const terms = (sort ?? []).map((s, i) => {
    const { sortAs } = FIELDS[fieldOf(s.field, `sort[${i}].field`)];
    return s.direction === "desc" ? `${sortAs} DESC NULLS LAST` : `${sortAs} ASC NULLS LAST`;
  });
  const direction = order === "asc" ? "ASC" : "DESC";
  terms.push(`created_at ${direction}`, `id ${direction}`);
  return terms.join(", ");
}

/** The one expansion customers have; every customer response carries its parent anyway. */
const EXPANSIONS = new Set(["parent_customer"]);

/**
 * GET /v1/customers and POST /v1/customers/search: Flexprice's CustomerFilter over the caller's
 * environment.
 * - `external_id`, `email`: exact. `customer_ids`, `external_ids`, `parent_customer_ids`: any of
 *   them (an empty list filters nothing, as in Flexprice).
 * - `status`: live customers unless given; `deleted` lists deleted ones; `archived` matches none
 *   (customers are deleted, never archived).
 * - `start_time`/`end_time`: created within [start_time, end_time], both ends included (as
 *   Flexprice's time-range filter elsewhere; its customer list ignores the range).
 * - `filters`, `sort`, `order`: see conditionSql and orderBy.
 * - `expand`: `parent_customer` is honoured (always); anything else (Flexprice's `integrations`)
 *   is refused rather than answered without it: Tollgate keeps no integration mappings.
 */
export function searchCustomers(
  db: Db,
  scope: Scope,
  filters: SearchCustomersInput,
  page: Page,
): { rows: CustomerRow[]; total: number } {
  const expand = (filters.expand ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  const unknown = expand.find((e) => !EXPANSIONS.has(e));
  if (unknown !== undefined) {
    refuse("expand", `may only be "parent_customer" (Tollgate keeps no ${JSON.stringify(unknown)} for customers)`);
  }
  if (filters.start_time && filters.end_time && Date.parse(filters.end_time) < Date.parse(filters.start_time)) {
    refuse("end_time", "must not be before start_time");
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
  const lists = [
    ["id", "customer_ids", filters.customer_ids],
    ["external_id", "external_ids", filters.external_ids],
    ["parent_customer_id", "parent_customer_ids", filters.parent_customer_ids],
  ] as const;
  for (const [column, name, ids] of lists) {
    if (!ids || ids.length === 0) continue;
    where.push(`${column} IN (SELECT value FROM json_each(@${name}))`);
    params[name] = JSON.stringify(ids);
  }
  if (filters.start_time) {
    where.push("created_at >= @start_time");
    params.start_time = utc(filters.start_time);
  }
  if (filters.end_time) {
    where.push("created_at <= @end_time");
    params.end_time = utc(filters.end_time);
  }
  filters.filters?.forEach((condition, i) => {
    where.push(conditionSql(condition, i, params));
  });
  if (filters.filters?.some((f) => f.operator === "contains" || f.operator === "not_contains")) registerContains(db);
  return selectPage<CustomerRow>(db, {
    from: "customers",
    where: where.join(" AND "),
    orderBy: orderBy(filters.sort, filters.order),
    params,
    page,
  });
}
