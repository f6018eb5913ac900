import type { Static } from "elysia";
import { type Db, selectPage } from "../../db";
import { validationError } from "../../http/errors";
import type { Page } from "../../http/pagination";
import type { FilterConditionBody, SearchUsersBody, SortConditionBody, UserRow } from "./model";

export type SearchUsersInput = Omit<Static<typeof SearchUsersBody>, "limit" | "offset">;
type FilterCondition = Static<typeof FilterConditionBody>;
type SortCondition = Static<typeof SortConditionBody>;

/**
 * The account fields `sort` and `filters` may name, and the column each reads. Text fields
 * sort without regard to letter case, as people expect of names and emails.
 */
const FIELDS = {
  created_at: { column: "u.created_at", kind: "date", sortAs: "u.created_at" },
  updated_at: { column: "u.updated_at", kind: "date", sortAs: "u.updated_at" },
  name: { column: "u.name", kind: "text", sortAs: "u.name COLLATE NOCASE" },
  email: { column: "u.email", kind: "text", sortAs: "u.email COLLATE NOCASE" },
  type: { column: "u.type", kind: "text", sortAs: "u.type" },
  status: { column: "u.status", kind: "text", sortAs: "u.status" },
  id: { column: "u.id", kind: "text", sortAs: "u.id" },
} as const;

type FieldName = keyof typeof FIELDS;
const FIELD_RULE = `must be one of: ${Object.keys(FIELDS).join(", ")}`;

function fieldOf(name: string, where: string): (typeof FIELDS)[FieldName] {
  if (!Object.hasOwn(FIELDS, name)) throw validationError(`${where} ${FIELD_RULE}`, { [where]: FIELD_RULE });
  return FIELDS[name as FieldName];
}

function refuse(where: string, rule: string): never {
  throw validationError(`${where} ${rule}`, { [where]: rule });
}

const utc = (timestamp: string) => new Date(timestamp).toISOString();

/**
 * One filter condition as SQL, with Flexprice's meaning of each operator (internal/dsl):
 * `eq` exact, `contains`/`not_contains` a case-insensitive substring (an account without an
 * email does not contain anything), `in`/`not_in` a list, `before`/`after` strictly earlier or
 * later. No account field is a number, so `gt` and `lt` are refused, as is any pairing of
 * operator, field and value that would have to be guessed at: a filter that is not applied
 * would answer with accounts the caller excluded.
 */
function conditionSql(filter: FilterCondition, i: number, params: Record<string, unknown>): string {
  const at = `filters[${i}]`;
  const field = fieldOf(filter.field, `${at}.field`);
  const { operator, value } = filter;
  const param = `f${i}`;
  const expectType = (dataType: string) => {
    if (filter.data_type !== undefined && filter.data_type !== dataType) {
      refuse(`${at}.data_type`, `must be "${dataType}" for ${operator} on ${filter.field}`);
    }
  };
  const needs = <K extends keyof FilterCondition["value"]>(member: K): NonNullable<FilterCondition["value"][K]> => {
    const v = value[member];
    if (v === undefined) refuse(`${at}.value.${member}`, `is required for ${operator} on ${filter.field}`);
    return v as NonNullable<FilterCondition["value"][K]>;
  };
  switch (operator) {
    case "gt":
    case "lt":
      return refuse(`${at}.operator`, `${operator} compares numbers, and no account field is a number`);
    case "in":
    case "not_in": {
      if (field.kind !== "text") refuse(`${at}.operator`, `${operator} applies to text fields, not ${filter.field}`);
      expectType("array");
      params[param] = JSON.stringify(needs("array"));
      const test = `${field.column} IN (SELECT value FROM json_each(@${param}))`;
      return operator === "in" ? test : `(${field.column} IS NULL OR NOT ${test})`;
    }
    case "before":
    case "after": {
      if (field.kind !== "date") refuse(`${at}.operator`, `${operator} applies to created_at and updated_at`);
      expectType("date");
      params[param] = utc(needs("date"));
      return `${field.column} ${operator === "before" ? "<" : ">"} @${param}`;
    }
    case "contains":
    case "not_contains": {
      if (field.kind !== "text") refuse(`${at}.operator`, `${operator} applies to text fields, not ${filter.field}`);
      expectType("string");
      params[param] = needs("string").toLowerCase();
      const test = `instr(lower(coalesce(${field.column}, '')), @${param}) > 0`;
      return operator === "contains" ? test : `NOT ${test}`;
    }
    case "eq": {
      if (field.kind === "date") {
        expectType("date");
        params[param] = utc(needs("date"));
      } else {
        expectType("string");
        params[param] = needs("string");
      }
      return `${field.column} = @${param}`;
    }
  }
  return refuse(`${at}.operator`, "is not a known operator");
}

/**
 * `sort` conditions in the order given (a condition without a direction is ascending, as in
 * Flexprice), then the default order, newest first (`order: "asc"` for oldest first), which
 * also settles ties so pages never repeat or skip an account.
 */
function orderBy(sort: SortCondition[] | undefined, order: "asc" | "desc" | undefined): string {
  const terms = (sort ?? []).map((s, i) => {
    const field = fieldOf(s.field, `sort[${i}].field`);
    return `${field.sortAs} ${s.direction === "desc" ? "DESC" : "ASC"}`;
  });
  const direction = order === "asc" ? "ASC" : "DESC";
  terms.push(`u.created_at ${direction}`, `u.id ${direction}`);
  return terms.join(", ");
}

/**
 * POST /v1/users/search: Flexprice's UserFilter over the tenant's accounts.
 * - `type`, `user_ids`, `roles` (any of them), `status`: exact. `status: "deleted"` matches no
 *   account: accounts are archived, never deleted.
 * - `start_time`/`end_time`: created within [start_time, end_time], both ends included (as
 *   Flexprice's time-range filter).
 * - `filters`, `sort`, `order`: see conditionSql and orderBy.
 * - `expand`: accounts have nothing to expand (the tenant is always included in full), so
 *   asking for an expansion is refused rather than answered without it.
 */
export function searchAccounts(
  db: Db,
  tenantId: string,
  filters: SearchUsersInput,
  page: Page,
): { rows: UserRow[]; total: number } {
  if (filters.expand !== undefined && filters.expand.trim() !== "") {
    refuse("expand", "is not supported for accounts: they have no expandable fields (the tenant is always included)");
  }
  if (filters.start_time && filters.end_time && Date.parse(filters.end_time) < Date.parse(filters.start_time)) {
    refuse("end_time", "must not be before start_time");
  }
  const where = ["u.tenant_id = @tenantId"];
  const params: Record<string, unknown> = { tenantId };
  if (filters.type) {
    where.push("u.type = @type");
    params.type = filters.type;
  }
  if (filters.status) {
    where.push("u.status = @status");
    params.status = filters.status;
  }
  if (filters.user_ids) {
    where.push("u.id IN (SELECT value FROM json_each(@user_ids))");
    params.user_ids = JSON.stringify(filters.user_ids);
  }
  if (filters.roles) {
    where.push("EXISTS (SELECT 1 FROM json_each(u.roles) r WHERE r.value IN (SELECT value FROM json_each(@roles)))");
    params.roles = JSON.stringify(filters.roles);
  }
  if (filters.start_time) {
    where.push("u.created_at >= @start_time");
    params.start_time = utc(filters.start_time);
  }
  if (filters.end_time) {
    where.push("u.created_at <= @end_time");
    params.end_time = utc(filters.end_time);
  }
  filters.filters?.forEach((condition, i) => {
    where.push(conditionSql(condition, i, params));
  });
  return selectPage<UserRow>(db, {
    select: "u.*",
    from: "users u",
    where: where.join(" AND "),
    orderBy: orderBy(filters.sort, filters.order),
    params,
    page,
  });
}
