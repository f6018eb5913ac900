import type { Dialect } from "../store";

// JSON is stored as text in both engines (the services read and write it as text); a condition
// on what is inside casts it to jsonb where it looks.

/** JSON number or boolean `value` of JSON type `type` as a number, as SQLite reads it (true is 1). */
const asNumber = (value: string, type: string) =>
  `CASE ${type} WHEN 'boolean' THEN CASE WHEN ${value}::text = 'true' THEN 1 ELSE 0 END ELSE (${value}::text)::numeric END`;

/**
 * Whether event property `property` (json, NULL when absent) equals filter value `wanted` (jsonb:
 * a string, number or boolean) as SQLite's json_extract compares them: numbers and booleans as
 * numbers (true is 1, 2 is 2.0), strings as strings, an object or array as its JSON text (equal
 * only to a string of that text). Strings are compared as their JSON text: json keeps what the
 * event stored, a string holding U+0000 included, which PostgreSQL's text cannot hold.
 */
const sameValueAsSqlite = (property: string, wanted: string) => `CASE
      WHEN json_typeof(${property}) IN ('number', 'boolean') AND jsonb_typeof(${wanted}) IN ('number', 'boolean')
        THEN ${asNumber(property, `json_typeof(${property})`)} = ${asNumber(wanted, `jsonb_typeof(${wanted})`)}
      WHEN json_typeof(${property}) = 'string' AND jsonb_typeof(${wanted}) = 'string'
        THEN ${property}::text = ${wanted}::text
      WHEN json_typeof(${property}) IN ('object', 'array') AND jsonb_typeof(${wanted}) = 'string'
        THEN ${property}::text = ${wanted} #>> '{}'
      ELSE false END`;
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
      WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(filter.value) AS wanted
        WHERE ${sameValueAsSqlite(`((${column})::json -> filter.key)`, "wanted")}))`,
  caseless: (column) => `lower(${column})`,
  total: (expression) => `coalesce(sum(${expression}), 0)::float8`,
};
