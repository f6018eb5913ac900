import { type Db, sql } from "../../db";
import type { EventRow } from "./model";

// Kept apart from service.ts so the writer thread loads the store and nothing else.

/**
 * Inserts the rows in one transaction. An event_id already stored in the same scope (tenant
 * and environment) is skipped, not an error: ingestion is idempotent, and of two concurrent
 * duplicates exactly one row is kept.
 */
export function insertEvents(db: Db, rows: EventRow[]): number {
  const insert = sql(
    db,
    `INSERT INTO events (scope, id, event_name, external_customer_id, customer_id, timestamp, source, properties,
       ingested_at)
     VALUES (@scope, @id, @event_name, @external_customer_id, @customer_id, @timestamp, @source, @properties,
       @ingested_at)
     ON CONFLICT (scope, id) DO NOTHING`,
  );
  const counted = sql(
    db,
    `INSERT INTO event_counts (scope, count) VALUES (?, ?)
     ON CONFLICT (scope) DO UPDATE SET count = count + excluded.count`,
  );
  return db
    .transaction(() => {
      const perScope = new Map<number, number>();
      for (const row of rows) {
        const changes = insert.run(row).changes;
        if (changes > 0) perScope.set(row.scope, (perScope.get(row.scope) ?? 0) + changes);
      }
      for (const [scope, count] of perScope) counted.run(scope, count);
      let inserted = 0;
      for (const count of perScope.values()) inserted += count;
      return inserted;
    })
    .immediate();
}
