import type { Db, PageQuery } from "../db";
import { type EventRead, runEventRead } from "../modules/events/reads";
import { readPage } from "./pages";

/**
 * Every read that may scan many rows, as plain data that can be posted to a reader thread: the
 * event module's queries and aggregates, and a page of any list.
 */
export type StoreRead = EventRead | { kind: "page"; scope: { tenantId: string }; query: PageQuery };

/** Runs one read under a time budget of `budgetMs` (src/db/read-budget.ts). */
export function runStoreRead(db: Db, read: StoreRead, budgetMs: number): unknown {
  return read.kind === "page" ? readPage(db, read.query, budgetMs) : runEventRead(db, read, budgetMs);
}
