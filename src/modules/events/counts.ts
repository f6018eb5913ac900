// Plain event counts over a time range (no aggregation options): the customer portal's usage
// view and the dashboard's chart. Run on the reader threads under the read budget, like usage.
import type { Store } from "../../db";
import { type EventFilters, filterOf } from "./filters";
import { READ_BUDGET_MS } from "../../db/read-budget";
import { eventsTooExpensive } from "./model";
import { findScopeKey, type Scope } from "./scopes";

/** Event counts by name for one customer within [start, end): the customer portal's usage view. */
export function usageSummary(
  store: Store,
  scope: Scope,
  externalCustomerId: string,
  window: UsageWindow,
  budgetMs = READ_BUDGET_MS,
): Promise<UsageCount[]> {
  const filters = { external_customer_id: externalCustomerId, start_time: window.start, end_time: window.end };
  return countsBy<UsageCount>(store, scope, budgetMs, "event_name", filters);
}

/**
 * Events per UTC day within [start, end), every event name and customer of the scope: the
 * dashboard's chart. Days without events are absent. Reads the time index only.
 */
export function dailyCounts(
  store: Store,
  scope: Scope,
  window: UsageWindow,
  budgetMs = READ_BUDGET_MS,
): Promise<DayCount[]> {
  return countsBy<DayCount>(store, scope, budgetMs, "substr(timestamp, 1, 10) AS day", {
    start_time: window.start,
    end_time: window.end,
  });
}

/** count(*) per `group` (a column, or an expression `AS` a name), over what the filters match. */
async function countsBy<T>(
  store: Store,
  scope: Scope,
  budgetMs: number,
  group: string,
  filters: EventFilters,
): Promise<T[]> {
  const key = await findScopeKey(store, scope);
  if (key === undefined) return [];
  const { clauses, params } = filterOf(store.dialect, key, filters);
  const name = group.split(" AS ").at(-1) as string;
  return store.withinBudget(budgetMs, eventsTooExpensive, (q) =>
    q.all<T>(
      `SELECT ${group}, count(*) AS count FROM events WHERE ${clauses.join(" AND ")} GROUP BY ${name} ORDER BY ${name}`,
      params,
    ),
  );
}

export interface DayCount {
  /** YYYY-MM-DD, UTC. */
  day: string;
  count: number;
}

export interface UsageWindow {
  start: string;
  end: string;
}

export interface UsageCount {
  event_name: string;
  count: number;
}
