import type { Dialect } from "../store";

// JSON is stored as text in both engines (the services read and write it as text); a condition
// on what is inside casts it to jsonb where it looks.
export const POSTGRES_DIALECT: Dialect = {
  // SET LOCAL statement_timeout stops the read (PostgresStore.withinBudget).
  withinBudget: "TRUE",
  // Text columns sort byte by byte (COLLATE "C", as SQLite's do), where lower() folds ASCII
  // only; ICU's root locale folds every letter, as the SQLite engine's tollgate_contains does.
  // False, never NULL, for a missing value: not_contains keeps a row without one, as on SQLite.
  containsText: (column, needle) => `coalesce(strpos(lower(${column} COLLATE "und-x-icu"), ${needle}) > 0, false)`,
  inJsonArray: (column, array) => `${column} IN (SELECT jsonb_array_elements_text((${array})::text::jsonb))`,
  jsonArraysOverlap: (column, array) =>
    `EXISTS (SELECT 1 FROM jsonb_array_elements_text((${column})::text::jsonb) e
      WHERE e IN (SELECT jsonb_array_elements_text((${array})::text::jsonb)))`,
  jsonHasPair: (column, key, value) =>
    `(${column})::text::jsonb @> jsonb_build_object((${key})::text, (${value})::text)`,
  propertiesMatch: (column, filters) => `NOT EXISTS (SELECT 1 FROM jsonb_each((${filters})::text::jsonb) AS filter
      WHERE NOT coalesce((${column})::text::jsonb -> filter.key IN (SELECT jsonb_array_elements(filter.value)), false))`,
  caseless: (column) => `lower(${column})`,
  total: (expression) => `coalesce(sum(${expression}), 0)::float8`,
};
