import { type Static, t } from "elysia";
import { Timestamp } from "./schemas";

/**
 * Flexprice's search request parts shared by every search (its FilterCondition, SortCondition and
 * the fields of its base filter); what each one does: src/db/filters.ts.
 */

/** At most this many values in a condition's `value.array` (as many as one page can hold). */
export const MAX_FILTER_VALUES = 1000;

export const SortDirection = t.Union([t.Literal("asc"), t.Literal("desc")]);

/**
 * Flexprice's FilterCondition: `value` is a tagged union, the member the operator reads set. An
 * empty `value.array` is refused: Flexprice drops such a condition, so `in: []` would answer
 * every row where a caller asking for "one of nothing" expects none.
 */
export const FilterConditionBody = t.Object(
  {
    field: t.String({ maxLength: 64 }),
    operator: t.Union(
      ["eq", "contains", "not_contains", "gt", "lt", "in", "not_in", "before", "after"].map((op) => t.Literal(op)),
    ),
    data_type: t.Optional(t.Union(["string", "number", "date", "array"].map((type) => t.Literal(type)))),
    value: t.Object(
      {
        string: t.Optional(t.String({ maxLength: 1000 })),
        number: t.Optional(t.Number()),
        boolean: t.Optional(t.Boolean()),
        date: t.Optional(Timestamp()),
        array: t.Optional(t.Array(t.String({ maxLength: 1000 }), { minItems: 1, maxItems: MAX_FILTER_VALUES })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const SortConditionBody = t.Object(
  { field: t.String({ maxLength: 64 }), direction: t.Optional(SortDirection) },
  { additionalProperties: false },
);

export type FilterCondition = Static<typeof FilterConditionBody>;
export type SortCondition = Static<typeof SortConditionBody>;

/** The body fields every search takes: a creation-time range, filters, sort conditions and the order. */
export const searchBodyFields = {
  start_time: t.Optional(Timestamp({ description: "Created at or after" })),
  end_time: t.Optional(Timestamp({ description: "Created at or before" })),
  filters: t.Optional(t.Array(FilterConditionBody, { maxItems: 20 })),
  sort: t.Optional(t.Array(SortConditionBody, { maxItems: 8 })),
  order: t.Optional(SortDirection),
};
