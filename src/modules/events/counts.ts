// Plain event counts over a time range (no aggregation options): the customer portal's usage
// view and the dashboard's chart. Run on the reader threads under the read budget, like usage.
import { type Db, sql } from "../../db";
import { READ_BUDGET_MS } from "./model";
import { WITHIN_BUDGET, withinBudget } from "./read-budget";
import { findScopeKey, type Scope } from "./scopes";

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

/**
 * Events per UTC day within [start, end), every event name and customer of the scope: the
 * dashboard's chart. Days without events are absent. Reads the time index only.
 */
export function dailyCounts(db: Db, scope: Scope, window: UsageWindow, budgetMs = READ_BUDGET_MS): DayCount[] {
  const key = findScopeKey(db, scope);
  if (key === undefined) return [];
  return withinBudget(
    db,
    budgetMs,
    () =>
      sql(
        db,
        `SELECT substr(timestamp, 1, 10) AS day, count(*) AS count FROM events
         WHERE scope = ? AND ${WITHIN_BUDGET} AND timestamp >= ? AND timestamp < ?
         GROUP BY day ORDER BY day`,
      ).all(key, window.start, window.end) as DayCount[],
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
