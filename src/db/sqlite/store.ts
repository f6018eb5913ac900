import { AsyncLocalStorage } from "node:async_hooks";
import type Database from "better-sqlite3";
import { LRUCache } from "lru-cache";
import { type Dialect, type Params, type Queries, type Store, ConstraintViolation, UniqueViolation } from "../store";
import type { Migration } from "../schema";
import { SQLITE_DIALECT, registerDialectFunctions } from "./dialect";
import { migrate } from "./open";

import type { Db } from "./open";

/**
 * Prepared statements kept per connection. Bounded: the SQL text of most statements is fixed,
 * but not of every one (a list's WHERE clause depends on which filters were sent), and each
 * compiled statement holds memory in SQLite until it is collected.
 */
export const STATEMENT_CACHE_SIZE = 256;

/**
 * The embedded engine: one better-sqlite3 connection (WAL), whose calls are synchronous. A
 * query answers a settled promise at once; a transaction holds the connection from BEGIN to
 * COMMIT, and any query or transaction that arrives meanwhile (another request's, between two
 * of this transaction's awaits) waits its turn, so nothing joins a transaction it is not part of.
 */
export class SqliteStore implements Store {
  readonly engine = "sqlite";
  readonly dialect: Dialect = SQLITE_DIALECT;
  readonly #statements = new LRUCache<string, Database.Statement>({ max: STATEMENT_CACHE_SIZE });
  /** Settles when the last transaction queued so far has ended; null when none is running or waiting. */
  #tail: Promise<void> | null = null;
  #waiting = 0;
  /** Marks the async work of a running transaction, to refuse a query it makes outside of it. */
  readonly #inTransaction = new AsyncLocalStorage<true>();
  /** The queries of the running transaction: they run at once, the connection being theirs. */
  readonly #direct: Queries;

  /** The database file; null for a store held in memory (tests), which no other connection can open. */
  readonly path: string | null;

  constructor(readonly db: Db) {
    this.path = db.memory ? null : db.name;
    registerDialectFunctions(db);
    this.#direct = {
      dialect: this.dialect,
      get: async <T>(text: string, ...params: Params) => this.#get(text, params) as T | undefined,
      all: async <T>(text: string, ...params: Params) => this.#all(text, params) as T[],
      value: async <T>(text: string, ...params: Params) => this.#value(text, params) as T | undefined,
      values: async <T>(text: string, ...params: Params) => this.#values(text, params) as T[],
      run: async (text, ...params) => this.#run(text, params),
    };
  }

  get<T>(text: string, ...params: Params): Promise<T | undefined> {
    return this.#outside(() => this.#get(text, params) as T | undefined);
  }

  all<T>(text: string, ...params: Params): Promise<T[]> {
    return this.#outside(() => this.#all(text, params) as T[]);
  }

  value<T>(text: string, ...params: Params): Promise<T | undefined> {
    return this.#outside(() => this.#value(text, params) as T | undefined);
  }

  values<T>(text: string, ...params: Params): Promise<T[]> {
    return this.#outside(() => this.#values(text, params) as T[]);
  }

  run(text: string, ...params: Params): Promise<number> {
    return this.#outside(() => this.#run(text, params));
  }

  async transaction<T>(work: (tx: Queries) => Promise<T>): Promise<T> {
    this.#refuseNested();
    const release = await this.#acquire();
    try {
      this.#statement("BEGIN IMMEDIATE").run();
      try {
        const result = await this.#inTransaction.run(true, () => work(this.#direct));
        this.#statement("COMMIT").run();
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.#statement("ROLLBACK").run();
        throw error;
      }
    } catch (error) {
      throw storeErrorOf(error);
    } finally {
      release();
    }
  }

  /**
   * better-sqlite3 offers no interrupt: statements under a budget carry `dialect.withinBudget`,
   * which calls back into JavaScript now and then and fails the statement past the deadline.
   */
  async withinBudget<T>(
    budgetMs: number,
    overrun: (budgetMs: number) => Error,
    read: (q: Queries) => Promise<T>,
  ): Promise<T> {
    this.#refuseNested();
    const release = await this.#acquire();
    try {
      return await withDeadline(this.db, budgetMs, overrun, () =>
        this.#inTransaction.run(true, () => read(this.#direct)),
      );
    } finally {
      release();
    }
  }

  async migrate(): Promise<Migration[]> {
    return migrate(this.db);
  }

  async close(): Promise<void> {
    while (this.#tail) await this.#tail;
    if (this.db.open) this.db.close();
  }

  /**
   * The first row, read on the spot, outside the store's queue: for the request path's checks
   * that must not wait for a promise (auth/change-watch.ts). Only for a read that is correct
   * whatever transaction is running (SQLite reads see committed data only from other
   * connections, and this connection's open transaction from this one).
   */
  readNow<T>(text: string, ...params: Params): T | undefined {
    return this.#get(text, params) as T | undefined;
  }

  /** How many statements the connection holds compiled right now. */
  get cachedStatementCount(): number {
    return this.#statements.size;
  }

  /**
   * A statement compiled once per connection (better-sqlite3 does not cache them itself);
   * `pluck`: answering the first column of each row instead of the row.
   */
  #statement(text: string, pluck = false): Database.Statement {
    const key = pluck ? `pluck:${text}` : text;
    let stmt = this.#statements.get(key);
    if (!stmt) {
      stmt = this.db.prepare(text);
      if (pluck) stmt.pluck();
      this.#statements.set(key, stmt);
    }
    return stmt;
  }

  #get(text: string, params: Params): unknown {
    try {
      return this.#statement(text).get(...params);
    } catch (error) {
      throw storeErrorOf(error);
    }
  }

  #all(text: string, params: Params): unknown[] {
    try {
      return this.#statement(text).all(...params);
    } catch (error) {
      throw storeErrorOf(error);
    }
  }

  #value(text: string, params: Params): unknown {
    try {
      return this.#statement(text, true).get(...params);
    } catch (error) {
      throw storeErrorOf(error);
    }
  }

  #values(text: string, params: Params): unknown[] {
    try {
      return this.#statement(text, true).all(...params);
    } catch (error) {
      throw storeErrorOf(error);
    }
  }

  #run(text: string, params: Params): number {
    try {
      return this.#statement(text).run(...params).changes;
    } catch (error) {
      throw storeErrorOf(error);
    }
  }

  /** Runs a query made outside any transaction: at once when none is running, else after them. */
  #outside<T>(query: () => T): Promise<T> {
    if (this.#tail === null) {
      try {
        return Promise.resolve(query());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    this.#refuseNested();
    return this.#acquire().then((release) => {
      try {
        return query();
      } finally {
        release();
      }
    });
  }

  /**
   * A transaction's work that queries the store itself instead of its `tx` would wait for its
   * own transaction forever; refused at once instead, naming the mistake.
   */
  #refuseNested(): void {
    if (this.#inTransaction.getStore()) {
      throw new Error("a transaction's work must use the queries it was given, not the store");
    }
  }

  /** Waits for every transaction queued before this call; answers the function that lets the next one run. */
  async #acquire(): Promise<() => void> {
    const before = this.#tail;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#waiting++;
    this.#tail = before ? before.then(() => mine) : mine;
    if (before) await before;
    return () => {
      this.#waiting--;
      if (this.#waiting === 0) this.#tail = null;
      release();
    };
  }
}

const deadlines = new WeakMap<Db, { at: number; budgetMs: number; overrun: (budgetMs: number) => Error }>();

/** The function `dialect.withinBudget` calls: fails the statement once the read's time is spent. */
export function checkDeadline(db: Db): number {
  const deadline = deadlines.get(db);
  if (deadline && performance.now() > deadline.at) throw deadline.overrun(deadline.budgetMs);
  return 1;
}

/** Runs `read` on `db` with a deadline that `dialect.withinBudget` checks. */
export async function withDeadline<T>(
  db: Db,
  budgetMs: number,
  overrun: (budgetMs: number) => Error,
  read: () => Promise<T>,
): Promise<T> {
  deadlines.set(db, { at: performance.now() + budgetMs, budgetMs, overrun });
  try {
    return await read();
  } finally {
    deadlines.delete(db);
  }
}

/** SQLite's constraint failures as the store's ConstraintViolation (UniqueViolation); any other error as it is. */
export function storeErrorOf(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
    // "UNIQUE constraint failed: users.tenant_id, users.email"
    const columns = (error as Error).message.replace(/^UNIQUE constraint failed: /, "");
    return new UniqueViolation(columns, { cause: error });
  }
  if (typeof code === "string" && code.startsWith("SQLITE_CONSTRAINT")) {
    return new ConstraintViolation((error as Error).message, { cause: error });
  }
  return error;
}
