import { type TSchema, t } from "elysia";
import { validationError } from "./errors";
import { Int } from "./schemas";

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1000;
/**
 * The largest `offset`: 2^31-1. Far past any real list, and well inside what SQLite takes as an
 * integer; without a cap, `1e300` or `2^63` reached the store and failed there with a 500.
 */
export const MAX_OFFSET = 2 ** 31 - 1;

const LIMIT_RULE = `must be a whole number from 1 to ${MAX_LIMIT}`;
const OFFSET_RULE = `must be a whole number from 0 to ${MAX_OFFSET}`;

/** Up to 10 digits here (2^31-1 has 10), the range checked by `pageOf`; both answered with the same 400. */
const digits = (rule: string) => t.String({ pattern: "^[0-9]{1,10}$", error: rule });

/** Query-string pagination: digits here, the range checked by `pageOf`, both answered with a 400. */
export const paginationFields = {
  limit: t.Optional(digits(LIMIT_RULE)),
  offset: t.Optional(digits(OFFSET_RULE)),
};

/** The same rules for a JSON body, where numbers arrive as numbers. */
export const paginationBodyFields = {
  limit: t.Optional(Int({ minimum: 1, maximum: MAX_LIMIT })),
  offset: t.Optional(Int({ minimum: 0, maximum: MAX_OFFSET })),
};

export interface Page {
  limit: number;
  offset: number;
}

/** `limit` 1..1000 (default 50) and `offset` 0..2^31-1 (default 0), from a query string or a JSON body. */
export function pageOf(input: { limit?: number | string; offset?: number | string }): Page {
  const limit = input.limit === undefined ? DEFAULT_LIMIT : Number(input.limit);
  const offset = input.offset === undefined ? 0 : Number(input.offset);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw validationError(`limit ${LIMIT_RULE}`, { limit: LIMIT_RULE });
  }
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) {
    throw validationError(`offset ${OFFSET_RULE}`, { offset: OFFSET_RULE });
  }
  return { limit, offset };
}

export interface ListResult<T> {
  items: T[];
  pagination: { total: number; limit: number; offset: number };
}

export function listOf<T>(items: T[], total: number, page: Page): ListResult<T> {
  return { items, pagination: { total, limit: page.limit, offset: page.offset } };
}

export function ListSchema<T extends TSchema>(item: T, title: string) {
  return t.Object(
    {
      items: t.Array(item),
      pagination: t.Object({ total: Int(), limit: Int(), offset: Int() }),
    },
    { title },
  );
}
