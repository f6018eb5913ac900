import type { PageQuery, Store } from "../db";
import { type EventRead, runEventRead } from "../modules/events/reads";
import { readPage } from "./pages";

/**
 * Every read that may scan many rows, as plain data that can be posted to a reader thread: the
 * event module's queries and aggregates, and a page of any list.
 */
export type StoreRead = EventRead | { kind: "page"; scope: { tenantId: string }; query: PageQuery };

/** Runs one read under a time budget of `budgetMs` (src/db/read-budget.ts). */
export function runStoreRead(store: Store, read: StoreRead, budgetMs: number): Promise<unknown> {
  return read.kind === "page" ? readPage(store, read.query, budgetMs) : runEventRead(store, read, budgetMs);
}
