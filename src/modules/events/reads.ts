import type { Store } from "../../db";
import { type EventQuery, queryEvents } from "./pages";
import type { Scope } from "./scopes";
import { dailyCounts, type UsageWindow, usageSummary } from "./counts";
import { aggregateUsage, type UsageQuery } from "./usage";

/** The event reads that may scan many rows: what the reader threads run. Plain data, so it can be posted. */
export type EventRead =
  | { kind: "query"; scope: Scope; query: EventQuery }
  | { kind: "usage"; scope: Scope; query: UsageQuery }
  | { kind: "summary"; scope: Scope; externalCustomerId: string; window: UsageWindow }
  | { kind: "daily"; scope: Scope; window: UsageWindow };

/** Runs one read under a time budget of `budgetMs` (read-budget.ts). */
export async function runEventRead(store: Store, read: EventRead, budgetMs: number): Promise<unknown> {
  switch (read.kind) {
    case "query":
      return queryEvents(store, read.scope, read.query, budgetMs);
    case "usage":
      return aggregateUsage(store, read.scope, read.query, budgetMs);
    case "summary":
      return usageSummary(store, read.scope, read.externalCustomerId, read.window, budgetMs);
    case "daily":
      return dailyCounts(store, read.scope, read.window, budgetMs);
  }
}
