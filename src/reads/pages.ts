import { type Db, type PageQuery, type PageReader, type Paged, selectPage } from "../db";
import { withinBudget, WITHIN_BUDGET } from "../db/read-budget";
import { ApiError } from "../http/errors";

/** A list's page past its budget: the 400 says how to narrow it. */
export const listTooExpensive = (budgetMs: number) =>
  new ApiError(
    400,
    "invalid_operation",
    `This list reads more rows than can be answered within ${budgetMs} ms; narrow it with its filters (a time range, an exact field) or a smaller offset`,
    { budget_ms: budgetMs },
  );

/**
 * One page of a list and its total, under a time budget: every row the count or the page scans
 * passes the budget check, so a count over a tenant's whole audit log, a `contains` search over
 * every customer or a deep offset stops at the budget with a 400 instead of running on.
 */
export function readPage<T>(db: Db, q: PageQuery, budgetMs: number): Paged<T> {
  const bounded = { ...q, where: `(${q.where}) AND ${WITHIN_BUDGET}` };
  return withinBudget(db, budgetMs, () => selectPage<T>(db, bounded), listTooExpensive);
}

/** Pages read on the calling thread, with the same budget (the CLI; an in-memory store). */
export function localPages(db: Db, budgetMs: number): PageReader {
  return {
    page: async <T>(_tenantId: string, q: PageQuery) => readPage<T>(db, q, budgetMs),
  };
}
