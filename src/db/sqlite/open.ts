import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { type Migration, SchemaTooNew } from "../schema";
import { MIGRATIONS } from "./migrations";

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
  const applied = appliedVersions(db);
  return migrations.filter((m) => !applied.has(m.version));
}

function appliedVersions(db: Db): Set<number> {
  const recorded = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .pluck()
    .get();
  if (!recorded) return new Set();
  return new Set(db.prepare("SELECT version FROM schema_migrations").pluck().all() as number[]);
}

/**
 * Applies the migrations not yet recorded, each in its own transaction. Returns what it applied.
 * A store migrated by a newer Tollgate is refused (SchemaTooNew), before anything is written.
 */
export function migrate(db: Db, migrations: Migration[] = MIGRATIONS): Migration[] {
  const newest = Math.max(0, ...appliedVersions(db));
  const known = Math.max(0, ...migrations.map((m) => m.version));
  if (newest > known) throw new SchemaTooNew(newest, known);
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
