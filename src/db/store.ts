// The one seam between services and the database (SPEC §15). Services speak this interface;
// each engine (src/db/sqlite, src/db/postgres) implements it, and what differs between their SQL
// dialects is the engine's `dialect`, never a branch in a service.
//
// SQL text is written once, in the subset both engines read: parameters are `?` (positional,
// the values given in order) or `@name` (one object of values), timestamps are RFC 3339 UTC
// text that sorts as text, JSON is stored as text, booleans as 0/1 integers.

import type { Migration } from "./schema";

/** What a query is given: positional values for `?`, or one object for `@name` parameters. */
export type Params = unknown[];

/** The queries of a store, or of one of its transactions. */
export interface Queries {
  /** The first row, or undefined. */
  get<T>(text: string, ...params: Params): Promise<T | undefined>;
  /** Every row. */
  all<T>(text: string, ...params: Params): Promise<T[]>;
  /** The first column of the first row, or undefined when there is no row. */
  value<T>(text: string, ...params: Params): Promise<T | undefined>;
  /** The first column of every row. */
  values<T>(text: string, ...params: Params): Promise<T[]>;
  /** Runs a statement; answers how many rows it changed. */
  run(text: string, ...params: Params): Promise<number>;
  /** The SQL fragments that differ between engines. */
  readonly dialect: Dialect;
}

export type Engine = "sqlite" | "postgres";

export interface TransactionOptions {
  /**
   * "read committed" (PostgreSQL; SQLite runs one transaction at a time whatever is asked) for
   * work that only writes, or whose reads decide nothing: inserts, `ON CONFLICT DO NOTHING`, a
   * counter moved within one statement. Two such transactions writing one row then wait for
   * each other instead of one failing. Serializable (the default), a long transaction that
   * moves a row which another server moves many times a second (an environment's event count,
   * under ingestion on two instances) can lose every one of its attempts.
   */
  isolation?: "serializable" | "read committed";
}

export interface Store extends Queries {
  readonly engine: Engine;
  /**
   * Applies the schema migrations this engine has not recorded yet, in order; answers what it
   * applied. A store migrated by a newer Tollgate is refused (SchemaTooNew) before anything is written.
   */
  migrate(): Promise<Migration[]>;
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws. Only
   * store calls may be awaited inside (no password hashing, no network): on SQLite the one
   * connection is held for the whole of it. On PostgreSQL the transaction is serializable and is
   * run again, from the start, when the database reports a conflict with another one; `work`
   * must therefore have no effect outside the store before it resolves. `isolation` may relax
   * that for work that decides nothing on what it reads (TransactionOptions).
   */
  transaction<T>(work: (tx: Queries) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs a read under a time budget: past `budgetMs` the database stops it and the read rejects
   * with `overrun(budgetMs)`. Statements of the read that may scan many rows include
   * `dialect.withinBudget` in their WHERE clause.
   */
  withinBudget<T>(budgetMs: number, overrun: (budgetMs: number) => Error, read: (q: Queries) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The SQL fragments one engine writes differently. Each takes column expressions and parameter
 * references (`@name`) as the query has them and answers an expression or a condition.
 */
export interface Dialect {
  /** A term for WHERE clauses of reads under a budget (true on engines that stop a statement by themselves). */
  readonly withinBudget: string;
  /** Whether `column` contains the text `needle` (already lower-cased), ignoring letter case, Unicode-aware; false (never NULL) for a missing value. */
  containsText(column: string, needle: string): string;
  /** Whether `column` is one of the strings of the JSON array (text) `array`. */
  inJsonArray(column: string, array: string): string;
  /** Whether the JSON array (text) in `column` shares a string with the JSON array (text) `array`. */
  jsonArraysOverlap(column: string, array: string): string;
  /** Whether the JSON object (text) in `column` has the string value `value` under key `key`. */
  jsonHasPair(column: string, key: string, value: string): string;
  /**
   * Whether the JSON object (text) in `column` has, under every key of the JSON object (text)
   * `filters`, one of the values listed in that key's array; a missing key matches nothing.
   */
  propertiesMatch(column: string, filters: string): string;
  /** `column` as it sorts without regard to letter case. */
  caseless(column: string): string;
  /** A sum of `expression` that is 0.0 (a real number) over no rows. */
  total(expression: string): string;
}

/** A constraint of the schema (a CHECK, a foreign key, a unique index) refused a write. */
export class ConstraintViolation extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConstraintViolation";
  }
}

/** A unique constraint refused a write; `constraint` names what was duplicated, as the engine reports it. */
export class UniqueViolation extends ConstraintViolation {
  constructor(
    readonly constraint: string,
    options?: { cause?: unknown },
  ) {
    super(`unique constraint failed: ${constraint}`, options);
    this.name = "UniqueViolation";
  }
}
