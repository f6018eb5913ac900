import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { LRUCache } from "lru-cache";
import { registerSearchFunctions } from "./filters";
import { MIGRATIONS, type Migration } from "./migrations";

export type Db = Database.Database;

export const MEMORY_DATABASE = ":memory:";

/**
 * Opens the store with the settings every caller relies on: WAL so readers never wait for the
 * writer, foreign keys enforced, a busy timeout for the CLI writing beside a running server, and
 * synchronous=FULL so a write that was acknowledged survives a crash of the machine, not only
 * of the process.
 */
export function openDatabase(path: string): Db {
  if (path !== MEMORY_DATABASE) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  return db;
}

/** The migrations not yet recorded in the store, in order. Reads only. */
export function pendingMigrations(db: Db, migrations: Migration[] = MIGRATIONS): Migration[] {
  const recorded = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .pluck()
    .get();
  if (!recorded) return migrations;
  const applied = new Set(db.prepare("SELECT version FROM schema_migrations").pluck().all() as number[]);
  return migrations.filter((m) => !applied.has(m.version));
}

/** Applies the migrations not yet recorded, each in its own transaction. Returns what it applied. */
export function migrate(db: Db, migrations: Migration[] = MIGRATIONS): Migration[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
  const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  const pending = pendingMigrations(db, migrations);
  for (const m of pending) {
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    }).immediate();
  }
  return pending;
}

/**
 * Prepared statements kept per connection. Bounded: the SQL text of most statements is fixed,
 * but not of every one (a list's WHERE clause depends on which filters were sent), and each
 * compiled statement holds memory in SQLite until it is collected.
 */
export const STATEMENT_CACHE_SIZE = 256;

const statements = new WeakMap<Db, LRUCache<string, Database.Statement>>();

/** A prepared statement, compiled once per connection: better-sqlite3 does not cache them itself. */
export function sql(db: Db, text: string): Database.Statement {
  return cached(db, text, false);
}

/** As `sql`, returning the first column of each row instead of an object. */
export function sqlPluck(db: Db, text: string): Database.Statement {
  return cached(db, text, true);
}

/** How many statements a connection holds compiled right now. */
export function cachedStatementCount(db: Db): number {
  return statements.get(db)?.size ?? 0;
}

function cached(db: Db, text: string, pluck: boolean): Database.Statement {
  let cache = statements.get(db);
  if (!cache) {
    cache = new LRUCache({ max: STATEMENT_CACHE_SIZE });
    statements.set(db, cache);
  }
  const key = pluck ? `pluck:${text}` : text;
  let stmt = cache.get(key);
  if (!stmt) {
    stmt = db.prepare(text);
    if (pluck) stmt.pluck();
    cache.set(key, stmt);
  }
  return stmt;
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
 * time budget; or this thread (an in-memory store, the CLI).
 */
export interface PageReader {
  page<T>(tenantId: string, q: PageQuery): Promise<Paged<T>>;
}

/** One page of a list and the count of everything the same WHERE clause matches. */
export function selectPage<T>(db: Db, q: PageQuery): Paged<T> {
  registerSearchFunctions(db);
  const total = sqlPluck(db, `SELECT count(*) FROM ${q.from} WHERE ${q.where}`).get(q.params) as number;
  const rows = sql(
    db,
    `SELECT ${q.select ?? "*"} FROM ${q.from} WHERE ${q.where} ORDER BY ${q.orderBy} LIMIT @limit OFFSET @offset`,
  ).all({ ...q.params, limit: q.page.limit, offset: q.page.offset }) as T[];
  return { rows, total };
}
