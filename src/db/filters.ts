import type { FilterCondition, SortCondition } from "../http/filters";
import type { Dialect } from "./store";

/**
 * Flexprice's search parts (its FilterCondition, SortCondition, order and time range) as SQL,
 * one implementation for every search. What cannot be applied as asked is refused with a
 * FilterRefused naming the part, never dropped: a filter that is not applied would answer with
 * rows the caller excluded (Flexprice drops such a condition silently).
 */

/** A part of a search that cannot be applied as asked; the HTTP layer answers it with a 400 naming `field`. */
export class FilterRefused extends Error {
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(`${field} ${rule}`);
    this.name = "FilterRefused";
  }
}

export interface SearchField {
  /** The column, qualified when the query joins (`u.email`). */
  column: string;
  /** Text takes eq, contains, not_contains, in, not_in; a date (an RFC 3339 UTC text) eq, before, after. */
  kind: "text" | "date";
  /** Sorts without regard to letter case, as people expect of names, emails and addresses. */
  caseless?: boolean;
}

/** The fields a search may filter and sort on; created_at and id also give the default order. */
export interface SearchFields {
  /** What one row is called in messages: "no account field is a number". */
  noun: string;
  fields: Record<string, SearchField> & { created_at: SearchField; id: SearchField };
}

/** The parts of a search request this module turns into SQL. */
export interface SearchInput {
  start_time?: string;
  end_time?: string;
  filters?: FilterCondition[];
  sort?: SortCondition[];
  order?: "asc" | "desc";
}

/**
 * The WHERE terms (to be joined with AND) and the ORDER BY of a search, their values added to
 * `params` under names starting with `search_`. Checks, in this order: the time range, each
 * filter, each sort condition.
 */
export function searchClauses(
  dialect: Dialect,
  table: SearchFields,
  input: SearchInput,
  params: Record<string, unknown>,
): { where: string[]; orderBy: string } {
  const where = createdWithin(table, input, params);
  input.filters?.forEach((condition, i) => {
    where.push(conditionSql(dialect, table, condition, i, params));
  });
  return { where, orderBy: orderBy(dialect, table, input.sort, input.order) };
}

const utc = (timestamp: string) => new Date(timestamp).toISOString();

/** `start_time`/`end_time`: created within [start_time, end_time], both ends included (as Flexprice's TimeRangeFilter). */
function createdWithin(table: SearchFields, input: SearchInput, params: Record<string, unknown>): string[] {
  const { start_time: start, end_time: end } = input;
  if (start && end && Date.parse(end) < Date.parse(start)) {
    throw new FilterRefused("end_time", "must not be before start_time");
  }
  const column = table.fields.created_at.column;
  const where: string[] = [];
  if (start) {
    where.push(`${column} >= @search_start`);
    params.search_start = utc(start);
  }
  if (end) {
    where.push(`${column} <= @search_end`);
    params.search_end = utc(end);
  }
  return where;
}

function fieldOf(table: SearchFields, name: string, at: string): SearchField {
  if (!Object.hasOwn(table.fields, name)) {
    throw new FilterRefused(at, `must be one of: ${Object.keys(table.fields).join(", ")}`);
  }
  return table.fields[name] as SearchField;
}

/**
 * A case-insensitive "contains" of one needle in any of several columns (the dashboard's one
 * search box), its value added to `params` as `name`.
 */
export function containsAnySql(
  dialect: Dialect,
  columns: string[],
  needle: string,
  params: Record<string, unknown>,
  name: string,
): string {
  params[name] = needle.toLowerCase();
  return `(${columns.map((column) => dialect.containsText(column, `@${name}`)).join(" OR ")})`;
}

/**
 * One filter condition as SQL, with Flexprice's meaning of each operator (internal/dsl): `eq`
 * exact, `contains`/`not_contains` a case-insensitive substring (a row without the value
 * contains nothing), `in`/`not_in` a list, `before`/`after` strictly earlier or later. No field
 * is a number, so `gt` and `lt` are refused, as is any pairing of operator, field and value
 * that would have to be guessed at.
 */
function conditionSql(
  dialect: Dialect,
  table: SearchFields,
  filter: FilterCondition,
  i: number,
  params: Record<string, unknown>,
): string {
  const at = `filters[${i}]`;
  const { column, kind } = fieldOf(table, filter.field, `${at}.field`);
  const { operator, value } = filter;
  const param = `search_filter${i}`;
  const expectType = (dataType: string) => {
    if (filter.data_type !== undefined && filter.data_type !== dataType) {
      throw new FilterRefused(`${at}.data_type`, `must be "${dataType}" for ${operator} on ${filter.field}`);
    }
  };
  const needs = <K extends keyof FilterCondition["value"]>(member: K): NonNullable<FilterCondition["value"][K]> => {
    const v = value[member];
    if (v === undefined)
      throw new FilterRefused(`${at}.value.${member}`, `is required for ${operator} on ${filter.field}`);
    return v as NonNullable<FilterCondition["value"][K]>;
  };
  const onlyFor = (wanted: SearchField["kind"], rule: string) => {
    if (kind !== wanted) throw new FilterRefused(`${at}.operator`, rule);
  };
  switch (operator) {
    case "gt":
    case "lt":
      throw new FilterRefused(`${at}.operator`, `${operator} compares numbers, and no ${table.noun} field is a number`);
    case "in":
    case "not_in": {
      onlyFor("text", `${operator} applies to text fields, not ${filter.field}`);
      expectType("array");
      params[param] = JSON.stringify(needs("array"));
      const test = dialect.inJsonArray(column, `@${param}`);
      return operator === "in" ? test : `(${column} IS NULL OR NOT ${test})`;
    }
    case "before":
    case "after": {
      onlyFor("date", `${operator} applies to created_at and updated_at`);
      expectType("date");
      params[param] = utc(needs("date"));
      return `${column} ${operator === "before" ? "<" : ">"} @${param}`;
    }
    case "contains":
    case "not_contains": {
      onlyFor("text", `${operator} applies to text fields, not ${filter.field}`);
      expectType("string");
      params[param] = needs("string").toLowerCase();
      const test = dialect.containsText(column, `@${param}`);
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
  throw new FilterRefused(`${at}.operator`, "is not a known operator");
}

/**
 * `sort` conditions in the order given (without a direction: ascending, as in Flexprice; a
 * missing value sorts last either way), then the default order, newest first (`order: "asc"` for
 * oldest first), which also settles ties so pages never repeat or skip a row.
 */
function orderBy(
  dialect: Dialect,
  table: SearchFields,
  sort: SortCondition[] | undefined,
  order: "asc" | "desc" | undefined,
): string {
  const terms = (sort ?? []).map((s, i) => {
    const { column, caseless } = fieldOf(table, s.field, `sort[${i}].field`);
    return `${caseless ? dialect.caseless(column) : column} ${s.direction === "desc" ? "DESC" : "ASC"} NULLS LAST`;
  });
  const direction = order === "asc" ? "ASC" : "DESC";
  terms.push(`${table.fields.created_at.column} ${direction}`, `${table.fields.id.column} ${direction}`);
  return terms.join(", ");
}
