import { SQL } from "bun";
import {
  type Dialect,
  type Params,
  type Queries,
  type Store,
  type TransactionOptions,
  ConstraintViolation,
  UniqueViolation,
} from "../store";
import type { Migration } from "../schema";
import { POSTGRES_DIALECT } from "./dialect";
import { listenerApplicationName, poolApplicationName } from "./instances";
import { migratePostgres } from "./migrate";
import { translate } from "./parameters";

/** SQLSTATEs of a transaction that lost to a concurrent one: running it again can succeed. */
const RETRYABLE = new Set(["40001", "40P01"]);
/**
 * Attempts of a transaction that keeps losing to others before its caller gets the error. Many:
 * serializable isolation locks whole index pages, so writers of neighbouring rows (keys rotated
 * in parallel, 64 clients: about one in ten lost ten attempts in a row) meet again and again.
 */
const MAX_ATTEMPTS = 30;
/** The longest pause between two attempts: the wait grows with each loss up to this, jittered. */
const MAX_BACKOFF_MS = 64;
const UNIQUE_VIOLATION = "23505";
const INTEGRITY_CONSTRAINT_CLASS = "23";
const QUERY_CANCELED = "57014";

/** What a subscription made by PostgresStore.listen tells its owner. */
export interface ListenHandlers {
  /** A notification's payload. */
  notified(payload: string): void;
  /** PostgreSQL acknowledged the LISTEN: at first, and again after every reconnect. */
  listening(): void;
  /** The listening connection closed or failed to reopen: notifications sent until `listening` are lost. */
  lost(error: Error | null): void;
}

export interface Subscription {
  close(): Promise<void>;
}

export interface PostgresOptions {
  /** Connections in the pool. */
  max?: number;
  /** Seconds an unused connection stays open (0: until closed). */
  idleTimeout?: number;
}

/**
 * The PostgreSQL engine, through Bun's built-in client: a pool of connections; each transaction
 * runs serializable on one of them (unless its caller asks for read committed) and is run again
 * when PostgreSQL reports it lost a conflict with another (40001, 40P01), so a read-check-write
 * never acts on a state that changed under it, on this server or another.
 */
export class PostgresStore implements Store {
  readonly engine = "postgres";
  readonly dialect: Dialect = POSTGRES_DIALECT;
  readonly sql: SQL;
  readonly #url: string;

  constructor(url: string, options: PostgresOptions = {}) {
    this.#url = url;
    this.sql = new SQL({
      url,
      bigint: true,
      max: options.max ?? 10,
      idleTimeout: options.idleTimeout ?? 0,
      prepare: true,
      connection: { application_name: poolApplicationName() },
    });
  }

  get<T>(text: string, ...params: Params): Promise<T | undefined> {
    return queriesOn(this.sql).get<T>(text, ...params);
  }

  all<T>(text: string, ...params: Params): Promise<T[]> {
    return queriesOn(this.sql).all<T>(text, ...params);
  }

  value<T>(text: string, ...params: Params): Promise<T | undefined> {
    return queriesOn(this.sql).value<T>(text, ...params);
  }

  values<T>(text: string, ...params: Params): Promise<T[]> {
    return queriesOn(this.sql).values<T>(text, ...params);
  }

  run(text: string, ...params: Params): Promise<number> {
    return queriesOn(this.sql).run(text, ...params);
  }

  async transaction<T>(work: (tx: Queries) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const isolation = `isolation level ${options.isolation ?? "serializable"}`;
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.sql.begin(isolation, (tx) => work(queriesOn(tx)))) as T;
      } catch (error) {
        if (attempt < MAX_ATTEMPTS && RETRYABLE.has(sqlStateOf(error) ?? "")) {
          // Losers of one conflict would meet again if they all ran at once.
          await Bun.sleep(Math.random() * Math.min(2 ** attempt, MAX_BACKOFF_MS));
          continue;
        }
        throw error;
      }
    }
  }

  /** PostgreSQL stops the read itself: `SET LOCAL statement_timeout` in a read-only transaction. */
  async withinBudget<T>(
    budgetMs: number,
    overrun: (budgetMs: number) => Error,
    read: (q: Queries) => Promise<T>,
  ): Promise<T> {
    try {
      return (await this.sql.begin("read only", async (tx) => {
        await tx.unsafe(`SET LOCAL statement_timeout = ${Math.max(1, Math.ceil(budgetMs))}`);
        return read(queriesOn(tx));
      })) as T;
    } catch (error) {
      if (sqlStateOf(error) === QUERY_CANCELED) throw overrun(budgetMs);
      throw error;
    }
  }

  /**
   * Subscribes to `channel` on a connection of its own, outside the pool: Bun opens one for
   * `listen` and reopens it (with backoff) when it drops, but says so only through the client's
   * `onclose`, which a pool reports for every connection. A client that holds nothing else makes
   * that report mean "the listening connection is gone". Its application_name carries the
   * process id, so an operator (or a test) can find one instance's listener in pg_stat_activity.
   */
  async listen(channel: string, handlers: ListenHandlers): Promise<Subscription> {
    let closing = false;
    const client = new SQL({
      url: this.#url,
      max: 1,
      idleTimeout: 0,
      connection: { application_name: listenerApplicationName() },
      onclose: (error) => {
        if (!closing) handlers.lost(error);
      },
    });
    try {
      const subscription = await client.listen(channel, handlers.notified, handlers.listening);
      return {
        async close() {
          closing = true;
          await subscription.unlisten();
          await client.close({ timeout: 5 });
        },
      };
    } catch (error) {
      closing = true;
      await client.close();
      throw error;
    }
  }

  migrate(): Promise<Migration[]> {
    return migratePostgres(this.sql);
  }

  async close(): Promise<void> {
    await this.sql.close({ timeout: 5 });
  }
}

/** The SQLSTATE of a PostgreSQL error, or undefined. */
export function sqlStateOf(error: unknown): string | undefined {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === "string" ? errno : undefined;
}

/** The queries of a pool, a reserved connection or a transaction. */
function queriesOn(sql: SQL): Queries {
  const rows = async (text: string, params: Params): Promise<Record<string, unknown>[]> => {
    const { text: translated, values } = translate(text, params);
    try {
      const result = (await sql.unsafe(translated, values as unknown[])) as Record<string, unknown>[];
      for (const row of result) numbersOf(row);
      return result;
    } catch (error) {
      throw storeErrorOf(error);
    }
  };
  return {
    dialect: POSTGRES_DIALECT,
    get: async <T>(text: string, ...params: Params) => (await rows(text, params))[0] as T | undefined,
    all: async <T>(text: string, ...params: Params) => (await rows(text, params)) as T[],
    value: async <T>(text: string, ...params: Params) => {
      const first = (await rows(text, params))[0];
      return (first === undefined ? undefined : Object.values(first)[0]) as T | undefined;
    },
    values: async <T>(text: string, ...params: Params) =>
      (await rows(text, params)).map((row) => Object.values(row)[0]) as T[],
    run: async (text: string, ...params: Params) => {
      const { text: translated, values } = translate(text, params);
      try {
        const result = await sql.unsafe(translated, values as unknown[]);
        return (result as unknown as { count: number }).count ?? 0;
      } catch (error) {
        throw storeErrorOf(error);
      }
    },
  };
}

/**
 * int8 (count(*), sums of integers, bigint columns) comes back as a BigInt; the services work in
 * numbers, as they get from SQLite. Every such value here is far inside the exact range.
 */
function numbersOf(row: Record<string, unknown>): void {
  for (const key in row) {
    const value = row[key];
    if (typeof value === "bigint") row[key] = Number(value);
  }
}

/** PostgreSQL's integrity violations (class 23) as the store's ConstraintViolation; any other error as it is. */
function storeErrorOf(error: unknown): unknown {
  const state = sqlStateOf(error);
  if (state === UNIQUE_VIOLATION) {
    return new UniqueViolation((error as { constraint?: string }).constraint ?? "unknown", { cause: error });
  }
  if (state?.startsWith(INTEGRITY_CONSTRAINT_CLASS)) {
    return new ConstraintViolation((error as Error).message, { cause: error });
  }
  const unavailable = unavailableCodeOf(error, state);
  if (unavailable !== null) {
    return Object.assign(new Error((error as Error).message, { cause: error }), { code: unavailable });
  }
  return error;
}

/**
 * The failures that mean the database cannot take a write right now, as the codes StoreHealth
 * (src/db/health.ts) answers with a 503: no connection (refused, closed, timed out, the server
 * shutting down or starting), its disk full, or it being read-only (a standby).
 */
function unavailableCodeOf(error: unknown, state: string | undefined): string | null {
  if (state === "53100") return "POSTGRES_DISK_FULL";
  if (state === "25006") return "POSTGRES_READ_ONLY";
  if (state?.startsWith("08") || state === "57P01" || state === "57P02" || state === "57P03") {
    return "POSTGRES_UNREACHABLE";
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (
    typeof code === "string" &&
    /^(ERR_POSTGRES_CONNECTION|ERR_POSTGRES_.*TIMEOUT|ECONNREFUSED|ENOENT|ECONNRESET)/.test(code)
  ) {
    return "POSTGRES_UNREACHABLE";
  }
  return null;
}
