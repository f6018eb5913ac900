import { type TSchema, t } from "elysia";
import { validationError } from "./errors";
import { Int } from "./schemas";

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1000;

const digits = t.String({ pattern: "^[0-9]{1,9}$", error: "must be a whole number" });

/** Query-string pagination: digits here, the range checked by `pageOf`, both answered with a 400. */
export const paginationFields = {
  limit: t.Optional(digits),
  offset: t.Optional(digits),
};

/** The same rules for a JSON body, where numbers arrive as numbers. */
export const paginationBodyFields = {
  limit: t.Optional(Int({ minimum: 1, maximum: MAX_LIMIT })),
  offset: t.Optional(Int({ minimum: 0 })),
};

export interface Page {
  limit: number;
  offset: number;
}

/** `limit` 1..1000 (default 50) and `offset` ≥ 0, from a query string or a JSON body. */
export function pageOf(input: { limit?: number | string; offset?: number | string }): Page {
  const limit = input.limit === undefined ? DEFAULT_LIMIT : Number(input.limit);
  const offset = input.offset === undefined ? 0 : Number(input.offset);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw validationError(`limit must be between 1 and ${MAX_LIMIT}`, { limit: `must be between 1 and ${MAX_LIMIT}` });
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw validationError("offset must be 0 or more", { offset: "must be 0 or more" });
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
