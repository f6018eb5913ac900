/** What one read (a page of a list, an event query, a usage aggregate) may spend before it is refused. */
export const READ_BUDGET_MS = 1000;

/** The refusal of a read past its budget (a 400), in words that say how to narrow that kind of read. */
export type Overrun = (budgetMs: number) => Error;
