import type { Db } from "../../db";
import { ApiError } from "../../http/errors";

/**
 * better-sqlite3 runs a statement to the end on the calling thread and offers no interrupt or
 * progress handler, so an event read bounds its own work: the statements carry WITHIN_BUDGET,
 * which calls back into JavaScript for one row in 256 scanned, on average, and fails the
 * statement once the request's time is spent. Checking every row doubled the cost of a scan;
 * one in 256 costs nothing measurable and still stops within a millisecond or two of the
 * deadline. The rows are picked by SQLite's random(), not by anything stored: a caller who
 * could arrange which row numbers their events get must not be able to dodge the check.
 */
export const WITHIN_BUDGET = "(random() & 255 OR tollgate_within_budget())";

const FUNCTION_NAME = "tollgate_within_budget";

const deadlines = new WeakMap<Db, { at: number; budgetMs: number }>();

export const queryTooExpensive = (budgetMs: number) =>
  new ApiError(
    400,
    "invalid_operation",
    `This query reads more events than can be answered within ${budgetMs} ms; narrow it with start_time and end_time, event_name or external_customer_id`,
    { budget_ms: budgetMs },
  );

/** Runs `read` (synchronous statements on `db`) with a time budget; past it, the statement fails with a 400. */
export function withinBudget<T>(db: Db, budgetMs: number, read: () => T): T {
  if (!deadlines.has(db)) {
    db.function(FUNCTION_NAME, { deterministic: false, directOnly: true }, () => {
      const deadline = deadlines.get(db);
      if (deadline && performance.now() > deadline.at) throw queryTooExpensive(deadline.budgetMs);
      return 1;
    });
  }
  deadlines.set(db, { at: performance.now() + budgetMs, budgetMs });
  try {
    return read();
  } finally {
    deadlines.set(db, { at: Infinity, budgetMs });
  }
}
