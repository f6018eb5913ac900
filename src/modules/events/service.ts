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
 * Keyset cursors: opaque to clients. Inside, the row to continue from: its (timestamp, seq),
 * and its event_name when the page was sorted by name, so pages never repeat or skip rows; the
 * total_count of the first page, so following pages do not count the whole range again (on
 * millions of rows, the count is the slow part); and, so that `offset` stays meaningful beside
 * cursors, the row's position in the ordering and the offset its page returned, with the order
 * they count in. Cursors made before offsets existed ([timestamp, seq, total]) still work;
 * their positions are unknown.
 */
interface Cursor {
  timestamp: string;
  seq: number;
  total: number;
  /** Present exactly when the page was sorted by event_name. */
  eventName: string | null;
  position: number | null;
  next: number | null;
  descending: boolean | null;
}

type CursorField = "iter_last_key" | "iter_first_key";

function encodeCursor(row: EventRow, total: number, sortedByName: boolean, at: Position | null): string {
  const fields: unknown[] = [row.timestamp, row.seq, total];
  fields.push(at?.position ?? null, at?.next ?? null, at === null ? null : at.descending ? "desc" : "asc");
  if (sortedByName) fields.push(row.event_name);
  return Buffer.from(JSON.stringify(fields)).toString("base64url");
}

interface Position {
  position: number;
  next: number;
  descending: boolean;
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
const isCountOrNull = (n: unknown) => n === null || isCount(n);

function decodeCursor(cursor: string, field: CursorField): Cursor {
  try {
    const fields = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(fields) && (fields.length === 3 || fields.length === 6 || fields.length === 7)) {
      const [timestamp, seq, total, position = null, next = null, order = null, eventName = null] = fields;
      if (
        typeof timestamp === "string" &&
        Number.isInteger(seq) &&
        isCount(total) &&
        isCountOrNull(position) &&
        isCountOrNull(next) &&
        (order === null || order === "asc" || order === "desc") &&
        (fields.length < 7 || typeof eventName === "string")
      ) {
        const descending = order === null ? null : order === "desc";
        return { timestamp, seq, total, eventName, position, next, descending };
      }
    }
  } catch {
    // fall through to the error below
  }
  throw validationError(`${field} is not a cursor this API returned`, { [field]: "is not a valid cursor" });
}

export interface EventPage {
  events: EventResponse[];
  has_more: boolean;
  iter_first_key: string | null;
  iter_last_key: string | null;
  total_count: number;
  offset: number | null;
}

/** The scope's running count when nothing narrows it, else a count over the filtered range. */
function countEvents(db: Db, key: number, where: string, params: Record<string, unknown>, unfiltered: boolean): number {
  if (unfiltered)
    return (sqlPluck(db, "SELECT count FROM event_counts WHERE scope = ?").get(key) as number | undefined) ?? 0;
  return sqlPluck(db, `SELECT count(*) FROM events WHERE ${where}`).get(params) as number;
}

export function queryEvents(db: Db, scope: Scope, query: EventQuery, budgetMs = READ_BUDGET_MS): EventPage {
  return withinBudget(db, budgetMs, () => readEventPage(db, scope, query));
}

/**
 * One page of events, ordered by (timestamp, seq), or by (event_name, timestamp, seq) with
 * sort=event_name, descending unless order=asc. Where it starts:
 * - no cursor: `offset` rows into the ordering (default 0);
 * - iter_last_key: just after that row (the next page);
 * - iter_first_key: the page just before that row, still in the requested order, and has_more
 *   says whether more lie before it. Newest first (the default), that is what arrived since the
 *   page was read: Flexprice's meaning of iter_first_key.
 * With a cursor, `offset` may only be absent, 0, or the offset returned with that cursor (a
 * client that sends a whole response back): moving a cursor by an offset is refused, rather
 * than picking one of the two to obey. The response's `offset` is the offset of the next page.
 */
function readEventPage(db: Db, scope: Scope, query: EventQuery): EventPage {
  const { page_size, iter_last_key, iter_first_key, order, sort, offset, ...filters } = query;
  if (iter_last_key !== undefined && iter_first_key !== undefined) {
    const detail = "cannot be combined with iter_last_key: send one cursor";
    throw validationError(`iter_first_key ${detail}`, { iter_first_key: detail });
  }
  const field: CursorField = iter_first_key !== undefined ? "iter_first_key" : "iter_last_key";
  const sent = iter_first_key ?? iter_last_key;
  const cursor = sent === undefined ? undefined : decodeCursor(sent, field);
  const descending = order !== "asc";
  const byName = sort === "event_name";
  if (cursor !== undefined) {
    if ((cursor.eventName !== null) !== byName) {
      const detail = `was returned for a page sorted by ${byName ? "timestamp" : "event_name"}; send the same sort`;
      throw validationError(`${field} ${detail}`, { [field]: detail });
    }
    if (offset !== undefined && offset !== 0 && (cursor.descending !== descending || offset !== cursor.next)) {
      const detail = `cannot move a cursor: send ${field} alone (or with the offset returned beside it), or offset without a cursor`;
      throw validationError(`offset ${detail}`, { offset: detail });
    }
  }
  const pageSize = page_size ?? DEFAULT_PAGE_SIZE;
  const key = findScopeKey(db, scope);
  if (key === undefined) {
    return { events: [], has_more: false, iter_first_key: null, iter_last_key: null, total_count: 0, offset: 0 };
  }
  const { clauses, params } = filterOf(key, filters);
  const where = clauses.join(" AND ");
  const unfiltered = clauses.length === 2; // scope and the budget
  const total = cursor?.total ?? countEvents(db, key, where, params, unfiltered);

  // A page before the cursor is read in the opposite direction, then put back in order.
  const backward = field === "iter_first_key" && cursor !== undefined;
  const direction = descending !== backward ? "DESC" : "ASC";
  const pageClauses = [...clauses];
  if (cursor !== undefined) {
    const columns = byName ? "(event_name, timestamp, seq)" : "(timestamp, seq)";
    const values = byName ? "(@cursorName, @cursorTimestamp, @cursorSeq)" : "(@cursorTimestamp, @cursorSeq)";
    pageClauses.push(`${columns} ${direction === "ASC" ? ">" : "<"} ${values}`);
    params.cursorTimestamp = cursor.timestamp;
    params.cursorSeq = cursor.seq;
    if (byName) params.cursorName = cursor.eventName;
  }
  const orderBy = `${byName ? `event_name ${direction}, ` : ""}timestamp ${direction}, seq ${direction}`;
  const skip = cursor === undefined && offset ? " OFFSET @offset" : "";
  const rows = sql(
    db,
    `SELECT * FROM events WHERE ${pageClauses.join(" AND ")} ORDER BY ${orderBy} LIMIT @limit${skip}`,
  ).all({ ...params, limit: pageSize + 1, ...(skip ? { offset } : {}) }) as EventRow[];
  const hasMore = rows.length > pageSize;
  const page = hasMore ? rows.slice(0, pageSize) : rows;
  if (backward) page.reverse();

  // Where the page starts in the ordering, when that is known.
  let start: number | null = offset ?? 0;
  if (cursor !== undefined) {
    const at =
      cursor.position === null || cursor.descending === null
        ? null
        : cursor.descending === descending
          ? cursor.position
          : cursor.total - 1 - cursor.position;
    start = at === null ? null : backward ? Math.max(0, at - page.length) : at + 1;
  }
  const next = start === null ? null : start + page.length;
  const positionOf = (index: number): Position | null =>
    start === null || next === null ? null : { position: start + index, next, descending };
  const first = page[0];
  const last = page[page.length - 1];
  return {
    events: page.map((row) => toEventResponse(row, scope.environmentId)),
    has_more: hasMore,
    iter_first_key: first ? encodeCursor(first, total, byName, positionOf(0)) : null,
    iter_last_key: last ? encodeCursor(last, total, byName, positionOf(page.length - 1)) : null,
    total_count: total,
    offset: next,
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
