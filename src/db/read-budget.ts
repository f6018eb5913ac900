import type { Db } from "./index";

/**
 * better-sqlite3 runs a statement to the end on the calling thread and offers no interrupt or
 * progress handler, so a read that may scan many rows bounds its own work: its statements carry
 * WITHIN_BUDGET, which calls back into JavaScript for one row in 256 scanned, on average, and
 * fails the statement once the read's time is spent. Checking every row doubled the cost of a
 * scan; one in 256 costs nothing measurable and still stops within a millisecond or two of the
 * deadline. The rows are picked by SQLite's random(), not by anything stored: a caller who
 * could arrange which row numbers their rows get must not be able to dodge the check.
 */
export const WITHIN_BUDGET = "(random() & 255 OR tollgate_within_budget())";

/** What one read (a page of a list, an event query, a usage aggregate) may spend before it is refused. */
export const READ_BUDGET_MS = 1000;

const FUNCTION_NAME = "tollgate_within_budget";

/** The refusal of a read past its budget (a 400), in words that say how to narrow that kind of read. */
export type Overrun = (budgetMs: number) => Error;

const deadlines = new WeakMap<Db, { at: number; budgetMs: number; overrun: Overrun }>();

/** Runs `read` (synchronous statements on `db`) with a time budget; past it, the statement fails with `overrun`'s 400. */
export function withinBudget<T>(db: Db, budgetMs: number, read: () => T, overrun: Overrun): T {
  if (!deadlines.has(db)) {
    db.function(FUNCTION_NAME, { deterministic: false, directOnly: true }, () => {
      const deadline = deadlines.get(db);
      if (deadline && performance.now() > deadline.at) throw deadline.overrun(deadline.budgetMs);
      return 1;
    });
  }
  deadlines.set(db, { at: performance.now() + budgetMs, budgetMs, overrun });
  try {
    return read();
  } finally {
    deadlines.set(db, { at: Infinity, budgetMs, overrun });
  }
}
