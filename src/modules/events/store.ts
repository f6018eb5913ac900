import type { Db } from "../../db/sqlite/open";
import { storeErrorOf } from "../../db/sqlite/store";
import { ConstraintViolation, type Queries, type Store } from "../../db";
import type { EventRow } from "./model";
import { type WireError, toWireError } from "./thread-error";

// The store's side of ingestion; the writer thread loads it with commit.ts.

/**
 * Stores rows in one transaction; answers how many were new. An event_id already stored in the
 * same scope (tenant and environment) is skipped, not an error: ingestion is idempotent, and of
 * two concurrent duplicates exactly one row is kept.
 */
export type InsertEvents = (rows: EventRow[]) => Promise<number>;

/**
 * Events through the store's interface, on either engine: multi-row inserts, the rows a
 * conflict skipped told apart by RETURNING. Used where commits run on the request thread (a
 * PostgreSQL store, an in-memory SQLite one).
 */
export function insertEventsInto(store: Store): InsertEvents {
  return (rows) =>
    store.transaction(
      async (tx) => {
        const perScope = new Map<number, number>();
        for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
          for (const scope of await insertChunk(tx, rows.slice(at, at + ROWS_PER_INSERT))) {
            perScope.set(scope, (perScope.get(scope) ?? 0) + 1);
          }
        }
        return countInserted(perScope, (scope, count) =>
          tx.run(
            `INSERT INTO event_counts (scope, count) VALUES (?, ?)
             ON CONFLICT (scope) DO UPDATE SET count = event_counts.count + excluded.count`,
            scope,
            count,
          ),
        );
      },
      // Nothing here decides on a read, and read committed keeps every event once and the count
      // exact: an insert that meets a row another transaction is inserting waits for it and is
      // skipped if that one commits (RETURNING tells), and the count moves within one statement.
      // Every instance on a database moves the same count row: serializable, a large batch lost
      // to another instance's stream of small commits on every attempt, and its requests got 500.
      { isolation: "read committed" },
    );
}

/**
 * Rows per INSERT statement: 9 parameters each, far below both engines' limits (SQLite 32,766,
 * PostgreSQL 65,535). Statements are cached by their text, so the sizes used are few: full
 * chunks and one remainder per batch.
 */
const ROWS_PER_INSERT = 500;

async function insertChunk(tx: Queries, rows: EventRow[]): Promise<number[]> {
  const values = rows.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ");
  const params: unknown[] = [];
  for (const row of rows) params.push(...rowValues(row));
  return tx.values<number>(
    `INSERT INTO events (scope, id, event_name, external_customer_id, customer_id, timestamp, source, properties,
       ingested_at)
     VALUES ${values}
     ON CONFLICT (scope, id) DO NOTHING
     RETURNING scope`,
    ...params,
  );
}

function rowValues(row: EventRow): unknown[] {
  return [
    row.scope,
    row.id,
    row.event_name,
    row.external_customer_id,
    row.customer_id,
    row.timestamp,
    row.source,
    row.properties,
    row.ingested_at,
  ];
}

async function countInserted(
  perScope: Map<number, number>,
  add: (scope: number, count: number) => Promise<unknown>,
): Promise<number> {
  let inserted = 0;
  for (const [scope, count] of perScope) {
    await add(scope, count);
    inserted += count;
  }
  return inserted;
}

/**
 * Events straight into a better-sqlite3 connection, the writer thread's: synchronous prepared
 * statements, one transaction function per connection (better-sqlite3 builds each with
 * defineProperties, which made up 8% of the event writer's time when built per batch).
 */
export function insertEventsIntoSqlite(db: Db): InsertEvents {
  // Positional parameters: better-sqlite3 binds named ones by looking each name up on the row
  // object through N-API. Positional, an insert measured 1.0–1.4 µs less per row
  // (bench/bulk-commit.ts, 1M stored events); binding is still about a tenth of the writer's time.
  const insert = db.prepare(
    `INSERT INTO events (scope, id, event_name, external_customer_id, customer_id, timestamp, source, properties,
       ingested_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (scope, id) DO NOTHING`,
  );
  const counted = db.prepare(
    `INSERT INTO event_counts (scope, count) VALUES (?, ?)
     ON CONFLICT (scope) DO UPDATE SET count = count + excluded.count`,
  );
  const insertAll = db.transaction((rows: EventRow[]) => {
    const perScope = new Map<number, number>();
    for (const row of rows) {
      const changes = insert.run(...rowValues(row)).changes;
      if (changes > 0) perScope.set(row.scope, (perScope.get(row.scope) ?? 0) + changes);
    }
    let inserted = 0;
    for (const [scope, count] of perScope) {
      counted.run(scope, count);
      inserted += count;
    }
    return inserted;
  });
  return async (rows) => {
    try {
      return insertAll.immediate(rows);
    } catch (error) {
      throw storeErrorOf(error);
    }
  };
}

/** Why one unit of a batch (one request's events) was not stored, as it crosses from the thread. */
export type UnitFailure = { index: number } & WireError;

/**
 * Commits a batch that the events of many requests share, each request's events one unit: a
 * single event, or a bulk request's, which are stored all or none. If the one transaction fails
 * because of a row (a constraint), each unit is retried in a transaction of its own, so only the
 * request whose events cannot be stored fails and every other is still stored. A failure of the
 * store itself (busy, full, I/O) would fail every retry the same way, each after its own wait:
 * the whole batch fails at once instead. Returns the units that failed.
 */
export async function commitBatch(insert: InsertEvents, units: EventRow[][]): Promise<UnitFailure[]> {
  let failure: unknown;
  try {
    await insert(units.length === 1 ? (units[0] as EventRow[]) : units.flat());
    return [];
  } catch (error) {
    failure = error;
  }
  if (units.length === 1 || !(failure instanceof ConstraintViolation)) {
    return units.map((_, index) => failureOf(index, failure));
  }
  const failures: UnitFailure[] = [];
  for (const [index, unit] of units.entries()) {
    try {
      await insert(unit);
    } catch (error) {
      failures.push(failureOf(index, error));
    }
  }
  return failures;
}

function failureOf(index: number, error: unknown): UnitFailure {
  return { index, ...toWireError(error) };
}
