import type { Static } from "elysia";
import type { Queries, Store } from "../../db";
import { validationError } from "../../http/errors";
import { filterOf } from "./filters";
import { READ_BUDGET_MS } from "../../db/read-budget";
import { DEFAULT_PAGE_SIZE, type EventQueryBody, type EventRow, eventsTooExpensive } from "./model";
import { findScopeKey, type Scope } from "./scopes";
import { type EventResponse, toEventResponse } from "./service";

// POST /v1/events/query and GET /v1/events: events by filters, one keyset page at a time.

export type EventQuery = Static<typeof EventQueryBody>;

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
async function countEvents(
  db: Queries,
  key: number,
  where: string,
  params: Record<string, unknown>,
  unfiltered: boolean,
): Promise<number> {
  if (unfiltered)
    return ((await db.value("SELECT count FROM event_counts WHERE scope = ?", key)) as number | undefined) ?? 0;
  return (await db.value(`SELECT count(*) FROM events WHERE ${where}`, params)) as number;
}

export function queryEvents(
  store: Store,
  scope: Scope,
  query: EventQuery,
  budgetMs = READ_BUDGET_MS,
): Promise<EventPage> {
  return store.withinBudget(budgetMs, eventsTooExpensive, (q) => readEventPage(q, scope, query));
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
async function readEventPage(db: Queries, scope: Scope, query: EventQuery): Promise<EventPage> {
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
  const key = await findScopeKey(db, scope);
  if (key === undefined) {
    return { events: [], has_more: false, iter_first_key: null, iter_last_key: null, total_count: 0, offset: 0 };
  }
  const { clauses, params } = filterOf(db.dialect, key, filters);
  const where = clauses.join(" AND ");
  const unfiltered = clauses.length === 2; // scope and the budget
  const total = cursor?.total ?? (await countEvents(db, key, where, params, unfiltered));

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
  const rows = (await db.all(
    `SELECT * FROM events WHERE ${pageClauses.join(" AND ")} ORDER BY ${orderBy} LIMIT @limit${skip}`,
    { ...params, limit: pageSize + 1, ...(skip ? { offset } : {}) },
  )) as EventRow[];
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
