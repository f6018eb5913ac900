import type { Transaction } from "better-sqlite3";
import { type Db, sql } from "../../db";
import type { EventRow } from "./model";
import { type WireError, toWireError } from "./thread-error";

// The store's side of ingestion; the writer thread loads it with commit.ts.

/**
 * Inserts the rows in one transaction. An event_id already stored in the same scope (tenant
 * and environment) is skipped, not an error: ingestion is idempotent, and of two concurrent
 * duplicates exactly one row is kept.
 */
export function insertEvents(db: Db, rows: EventRow[]): number {
  let insertAll = inserters.get(db);
  if (insertAll === undefined) {
    insertAll = inserterFor(db);
    inserters.set(db, insertAll);
  }
  return insertAll.immediate(rows);
}

/**
 * One transaction function per connection: better-sqlite3 builds each with defineProperties,
 * which made up 8% of the event writer's time when built per batch.
 */
const inserters = new WeakMap<Db, Transaction<(rows: EventRow[]) => number>>();

function inserterFor(db: Db): Transaction<(rows: EventRow[]) => number> {
  // Positional parameters: better-sqlite3 binds named ones by looking each name up on the row
  // object through N-API. Positional, an insert measured 1.0–1.4 µs less per row
  // (bench/bulk-commit.ts, 1M stored events); binding is still about a tenth of the writer's time.
  const insert = sql(
    db,
    `INSERT INTO events (scope, id, event_name, external_customer_id, customer_id, timestamp, source, properties,
       ingested_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (scope, id) DO NOTHING`,
  );
  const counted = sql(
    db,
    `INSERT INTO event_counts (scope, count) VALUES (?, ?)
     ON CONFLICT (scope) DO UPDATE SET count = count + excluded.count`,
  );
  return db.transaction((rows: EventRow[]) => {
    const perScope = new Map<number, number>();
    for (const row of rows) {
      const changes = insert.run(
        row.scope,
        row.id,
        row.event_name,
        row.external_customer_id,
        row.customer_id,
        row.timestamp,
        row.source,
        row.properties,
        row.ingested_at,
      ).changes;
      if (changes > 0) perScope.set(row.scope, (perScope.get(row.scope) ?? 0) + changes);
    }
    for (const [scope, count] of perScope) counted.run(scope, count);
    let inserted = 0;
    for (const count of perScope.values()) inserted += count;
    return inserted;
  });
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
export function commitBatch(db: Db, units: EventRow[][]): UnitFailure[] {
  let failure: UnitFailure;
  try {
    insertEvents(db, units.length === 1 ? (units[0] as EventRow[]) : units.flat());
    return [];
  } catch (error) {
    failure = failureOf(0, error);
  }
  if (units.length === 1 || !failure.code?.startsWith("SQLITE_CONSTRAINT")) {
    return units.map((_, index) => ({ ...failure, index }));
  }
  const failures: UnitFailure[] = [];
  units.forEach((unit, index) => {
    try {
      insertEvents(db, unit);
    } catch (error) {
      failures.push(failureOf(index, error));
    }
  });
  return failures;
}

function failureOf(index: number, error: unknown): UnitFailure {
  return { index, ...toWireError(error) };
}
