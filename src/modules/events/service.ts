import type { Static } from "elysia";
import { type Db, sql, sqlPluck } from "../../db";
import { newId, nowIso } from "../../db/ids";
import { notFound, validationError } from "../../http/errors";
import { WITHIN_BUDGET, withinBudget } from "./read-budget";
import { findScopeKey, type Scope } from "./scopes";
import {
  DEFAULT_PAGE_SIZE,
  type EventQueryBody,
  type EventRow,
  type EventSchema,
  type IngestEventBody,
  MAX_PROPERTIES_BYTES,
  MAX_PROPERTIES_DEPTH,
  READ_BUDGET_MS,
} from "./model";

export type { Scope };

export type EventInput = Static<typeof IngestEventBody>;
export type EventResponse = Static<typeof EventSchema>;

/**
 * Normalises one event for the store: timestamps to UTC, a generated event_id when none was
 * sent, properties held to their size and depth limits. Everything the store's CHECKs would
 * refuse is refused here, before the event joins a batch shared with other callers' events.
 * `field` prefixes error details (`events[3].`) for bulk requests.
 */
export function prepareEvent(scopeKey: number, input: EventInput, now: string, field = ""): EventRow {
  const properties = JSON.stringify(input.properties ?? {});
  const refuse = (detail: string) =>
    validationError(`${field}properties ${detail}`, { [`${field}properties`]: detail });
  if (Buffer.byteLength(properties) > MAX_PROPERTIES_BYTES) {
    throw refuse(`must be at most ${MAX_PROPERTIES_BYTES} bytes as JSON`);
  }
  if (depthOf(input.properties ?? {}) > MAX_PROPERTIES_DEPTH) {
    throw refuse(`must nest at most ${MAX_PROPERTIES_DEPTH} levels deep`);
  }
  return {
    scope: scopeKey,
    id: input.event_id ?? newId("event"),
    event_name: input.event_name,
    external_customer_id: input.external_customer_id,
    customer_id: input.customer_id ?? null,
    timestamp: input.timestamp === undefined ? now : new Date(input.timestamp).toISOString(),
    source: input.source ?? null,
    properties,
    ingested_at: now,
  };
}

/** Levels of arrays and objects, counting the value itself; stops counting past the limit. */
function depthOf(value: unknown, depth = 1): number {
  if (typeof value !== "object" || value === null) return depth - 1;
  if (depth > MAX_PROPERTIES_DEPTH) return depth;
  let deepest = depth;
  for (const item of Object.values(value)) deepest = Math.max(deepest, depthOf(item, depth + 1));
  return deepest;
}

export function prepareEvents(scopeKey: number, inputs: EventInput[]): EventRow[] {
  const now = nowIso();
  return inputs.map((input, i) => prepareEvent(scopeKey, input, now, `events[${i}].`));
}

export function toEventResponse(row: EventRow, environmentId: string): EventResponse {
  return {
    id: row.id,
    event_name: row.event_name,
    external_customer_id: row.external_customer_id,
    customer_id: row.customer_id,
    timestamp: row.timestamp,
    source: row.source,
    properties: JSON.parse(row.properties),
    environment_id: environmentId,
  };
}

export function getEvent(db: Db, scope: Scope, id: string): EventResponse {
  const key = findScopeKey(db, scope);
  const row =
    key === undefined
      ? undefined
      : (sql(db, "SELECT * FROM events WHERE scope = ? AND id = ?").get(key, id) as EventRow | undefined);
  if (!row) throw notFound("Event not found");
  return toEventResponse(row, scope.environmentId);
}

export type EventQuery = Static<typeof EventQueryBody>;

export interface Filter {
  clauses: string[];
  params: Record<string, unknown>;
}

/** What filterOf narrows by: the query's filters, and usage's customer_id. */
export interface EventFilters {
  external_customer_id?: string;
  customer_id?: string;
  event_name?: string;
  event_id?: string;
  source?: string;
  start_time?: string;
  end_time?: string;
  property_filters?: EventQuery["property_filters"];
}

/**
 * The WHERE clause every event read shares: scope first, so an index on it is always usable,
 * then the time budget. Its text depends only on which fixed filters were sent, never on how
 * many property filters or values: those travel as one JSON parameter, so a caller cannot make
 * the statement cache (or SQLite's expression tree) grow by sending more of them.
 */
export function filterOf(scopeKey: number, q: EventFilters): Filter {
  const clauses = ["scope = @scope", WITHIN_BUDGET];
  const params: Record<string, unknown> = { scope: scopeKey };
  const exact = {
    external_customer_id: q.external_customer_id,
    customer_id: q.customer_id,
    event_name: q.event_name,
    id: q.event_id,
    source: q.source,
  };
  for (const [column, value] of Object.entries(exact)) {
    if (value === undefined) continue;
    clauses.push(`${column} = @${column}`);
    params[column] = value;
  }
  if (q.start_time !== undefined) {
    clauses.push("timestamp >= @start_time");
    params.start_time = new Date(q.start_time).toISOString();
  }
  if (q.end_time !== undefined) {
    clauses.push("timestamp < @end_time");
    params.end_time = new Date(q.end_time).toISOString();
  }
  if (q.property_filters !== undefined && Object.keys(q.property_filters).length > 0) {
    // Every named property holds one of its listed values. Names match PROPERTY_NAME_PATTERN,
    // so quoting them into a JSON path is safe; a missing property matches nothing.
    clauses.push(`NOT EXISTS (SELECT 1 FROM json_each(@property_filters) AS filter
      WHERE NOT coalesce(json_extract(properties, '$."' || filter.key || '"')
        IN (SELECT value FROM json_each(filter.value)), 0))`);
    params.property_filters = JSON.stringify(q.property_filters);
  }
  return { clauses, params };
}

export function jsonPath(property: string): string {
  return `$."${property}"`;
}

/**
 * Keyset cursors: opaque to clients. Inside, the (timestamp, seq) of the row to continue after,
 * so pages never repeat or skip rows, and the total_count of the first page, so following
 * pages do not count the whole range again (on millions of rows, the count is the slow part).
 */
interface Cursor {
  timestamp: string;
  seq: number;
  total: number;
}

function encodeCursor(row: EventRow, total: number): string {
  return Buffer.from(JSON.stringify([row.timestamp, row.seq, total])).toString("base64url");
}

function decodeCursor(cursor: string): Cursor {
  try {
    const [timestamp, seq, total] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof timestamp === "string" && Number.isInteger(seq) && Number.isInteger(total) && total >= 0) {
      return { timestamp, seq, total };
    }
  } catch {
    // fall through to the error below
  }
  throw validationError("iter_last_key is not a cursor this API returned", { iter_last_key: "is not a valid cursor" });
}

export interface EventPage {
  events: EventResponse[];
  has_more: boolean;
  iter_first_key: string | null;
  iter_last_key: string | null;
  total_count: number;
}

/** The scope's running count when nothing narrows it, else a count over the filtered range. */
function countEvents(db: Db, key: number, where: string, params: Record<string, unknown>, unfiltered: boolean): number {
  if (unfiltered)
    return (sqlPluck(db, "SELECT count FROM event_counts WHERE scope = ?").get(key) as number | undefined) ?? 0;
  return sqlPluck(db, `SELECT count(*) FROM events WHERE ${where}`).get(params) as number;
}

const EMPTY_PAGE: EventPage = {
  events: [],
  has_more: false,
  iter_first_key: null,
  iter_last_key: null,
  total_count: 0,
};

export function queryEvents(db: Db, scope: Scope, query: EventQuery, budgetMs = READ_BUDGET_MS): EventPage {
  return withinBudget(db, budgetMs, () => readEventPage(db, scope, query));
}

function readEventPage(db: Db, scope: Scope, query: EventQuery): EventPage {
  const { page_size, iter_last_key, order, ...filters } = query;
  const cursor = iter_last_key === undefined ? undefined : decodeCursor(iter_last_key);
  const key = findScopeKey(db, scope);
  if (key === undefined) return EMPTY_PAGE;
  const { clauses, params } = filterOf(key, filters);
  const pageSize = page_size ?? DEFAULT_PAGE_SIZE;
  const direction = order === "asc" ? "ASC" : "DESC";
  const where = clauses.join(" AND ");
  const unfiltered = clauses.length === 2; // scope and the budget
  const total = cursor?.total ?? countEvents(db, key, where, params, unfiltered);
  const pageClauses = [...clauses];
  if (cursor !== undefined) {
    pageClauses.push(`(timestamp, seq) ${direction === "ASC" ? ">" : "<"} (@cursorTimestamp, @cursorSeq)`);
    params.cursorTimestamp = cursor.timestamp;
    params.cursorSeq = cursor.seq;
  }
  const rows = sql(
    db,
    `SELECT * FROM events WHERE ${pageClauses.join(" AND ")}
     ORDER BY timestamp ${direction}, seq ${direction} LIMIT @limit`,
  ).all({ ...params, limit: pageSize + 1 }) as EventRow[];
  const hasMore = rows.length > pageSize;
  const page = hasMore ? rows.slice(0, pageSize) : rows;
  return {
    events: page.map((row) => toEventResponse(row, scope.environmentId)),
    has_more: hasMore,
    iter_first_key: page.length > 0 ? encodeCursor(page[0] as EventRow, total) : null,
    iter_last_key: page.length > 0 ? encodeCursor(page[page.length - 1] as EventRow, total) : null,
    total_count: total,
  };
}

/** Event counts by name for one customer within [start, end): the customer portal's usage view. */
export function usageSummary(
  db: Db,
  scope: Scope,
  externalCustomerId: string,
  window: UsageWindow,
  budgetMs = READ_BUDGET_MS,
): UsageCount[] {
  const key = findScopeKey(db, scope);
  if (key === undefined) return [];
  return withinBudget(
    db,
    budgetMs,
    () =>
      sql(
        db,
        `SELECT event_name, count(*) AS count FROM events
         WHERE scope = ? AND ${WITHIN_BUDGET} AND external_customer_id = ? AND timestamp >= ? AND timestamp < ?
         GROUP BY event_name ORDER BY event_name`,
      ).all(key, externalCustomerId, window.start, window.end) as UsageCount[],
  );
}

export interface UsageWindow {
  start: string;
  end: string;
}

export interface UsageCount {
  event_name: string;
  count: number;
}
