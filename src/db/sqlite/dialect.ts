import type { Dialect } from "../store";
import type { Db } from "./open";
import { checkDeadline } from "./store";

/** Registered on every connection that runs the store's SQL (the main one, the reader threads). */
const CONTAINS = "tollgate_contains";
const WITHIN_BUDGET = "tollgate_within_budget";

export const SQLITE_DIALECT: Dialect = {
  /**
   * better-sqlite3 runs a statement to the end on the calling thread and offers no interrupt or
   * progress handler, so a read that may scan many rows bounds its own work: its statements carry
   * this term, which calls back into JavaScript for one row in 256 scanned, on average, and fails
   * the statement once the read's time is spent. Checking every row doubled the cost of a scan;
   * one in 256 costs nothing measurable and still stops within a millisecond or two of the
   * deadline. The rows are picked by SQLite's random(), not by anything stored: a caller who could
   * arrange which row numbers their rows get must not be able to dodge the check.
   */
  withinBudget: `(random() & 255 OR ${WITHIN_BUDGET}())`,
  // SQLite's own lower() and LIKE fold ASCII letters only, so "ÜBER" would not contain "über".
  containsText: (column, needle) => `${CONTAINS}(${column}, ${needle}) = 1`,
  inJsonArray: (column, array) => `${column} IN (SELECT value FROM json_each(${array}))`,
  jsonArraysOverlap: (column, array) =>
    `EXISTS (SELECT 1 FROM json_each(${column}) e WHERE e.value IN (SELECT value FROM json_each(${array})))`,
  jsonHasPair: (column, key, value) =>
    `EXISTS (SELECT 1 FROM json_each(${column}) WHERE key = ${key} AND value = ${value})`,
  propertiesMatch: (column, filters) => `NOT EXISTS (SELECT 1 FROM json_each(${filters}) AS filter
      WHERE NOT coalesce(json_extract(${column}, '$."' || filter.key || '"')
        IN (SELECT value FROM json_each(filter.value)), 0))`,
  // NOCASE folds ASCII only, as SQLite always has; kept so orders do not change under people.
  caseless: (column) => `${column} COLLATE NOCASE`,
  // total(), not sum(): sum() of integers fails for good once the values add up past 2^63.
  total: (expression) => `total(${expression})`,
};

/** The functions the dialect's SQL calls, on one connection. */
export function registerDialectFunctions(db: Db): void {
  db.function(CONTAINS, { deterministic: true }, (haystack: unknown, needle: unknown) =>
    typeof haystack === "string" && typeof needle === "string" && haystack.toLowerCase().includes(needle) ? 1 : 0,
  );
  db.function(WITHIN_BUDGET, { deterministic: false, directOnly: true }, () => checkDeadline(db));
}
