import type { Config } from "../config";
import { PostgresStore } from "./postgres/store";
import { openDatabase } from "./sqlite/open";
import { SqliteStore } from "./sqlite/store";
import type { Dialect, Queries, Store } from "./store";

export type { Dialect, Queries, Store } from "./store";
export { ConstraintViolation, UniqueViolation } from "./store";
export { SchemaTooNew, type Migration } from "./schema";
export { SqliteStore } from "./sqlite/store";
export { PostgresStore } from "./postgres/store";
export { MEMORY_DATABASE, openDatabase, pendingMigrations } from "./sqlite/open";

/**
 * Opens the store the config names: PostgreSQL at `database.url` when it is set, else the SQLite
 * file at `database.path`. Its schema is brought up to date by `store.migrate()`.
 */
export function openStore(config: Config): Store {
  if (config.database.url !== "") return new PostgresStore(config.database.url);
  return new SqliteStore(openDatabase(config.database.path));
}

export interface PageQuery {
  /** Columns, default `*`. */
  select?: string;
  /** Table, or tables joined one row per listed item. */
  from: string;
  where: string;
  orderBy: string;
  params: Record<string, unknown>;
  page: { limit: number; offset: number };
}

export interface Paged<T> {
  rows: T[];
  total: number;
}

/**
 * Where services send a page of a list: a reader thread when the store has them (src/reads), so
 * a count over 400,000 rows never holds up the requests of the main thread, each page under a
 * time budget; or the store itself.
 */
export interface PageReader {
  /** The SQL dialect of the store the pages are read from, for the WHERE clauses sent. */
  readonly dialect: Dialect;
  page<T>(tenantId: string, q: PageQuery): Promise<Paged<T>>;
}

/** One page of a list and the count of everything the same WHERE clause matches. */
export async function selectPage<T>(db: Queries, q: PageQuery): Promise<Paged<T>> {
  const total = (await db.value<number>(`SELECT count(*) FROM ${q.from} WHERE ${q.where}`, q.params)) ?? 0;
  const rows = await db.all<T>(
    `SELECT ${q.select ?? "*"} FROM ${q.from} WHERE ${q.where} ORDER BY ${q.orderBy} LIMIT @limit OFFSET @offset`,
    { ...q.params, limit: q.page.limit, offset: q.page.offset },
  );
  return { rows, total };
}
