import { type PageQuery, type PageReader, type Paged, type Store, selectPage } from "../db";
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
export function readPage<T>(store: Store, q: PageQuery, budgetMs: number): Promise<Paged<T>> {
  const bounded = { ...q, where: `(${q.where}) AND ${store.dialect.withinBudget}` };
  return store.withinBudget(budgetMs, listTooExpensive, (tx) => selectPage<T>(tx, bounded));
}

/** Pages read on the calling thread, with the same budget (the CLI; an in-memory store). */
export function localPages(store: Store, budgetMs: number): PageReader {
  return {
    dialect: store.dialect,
    page: <T>(_tenantId: string, q: PageQuery) => readPage<T>(store, q, budgetMs),
  };
}
