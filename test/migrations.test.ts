import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { MEMORY_DATABASE, openDatabase } from "../src/db";
import { migrate } from "../src/db/sqlite/open";
import { MIGRATIONS } from "../src/db/sqlite/migrations";
import { POSTGRES_MIGRATIONS } from "../src/db/postgres/migrations";
import { tempDir } from "./support/temp";

describe("migrations", () => {
  test("every file in src/db/migrations is embedded, once, in order", () => {
    const files = readdirSync(join(import.meta.dir, "../src/db/sqlite/migrations"))
      .filter((f) => f.endsWith(".sql"))
      .sort();
    expect(MIGRATIONS.map((m) => `${m.name}.sql`)).toEqual(files);
    expect(MIGRATIONS.map((m) => m.version)).toEqual(files.map((_, i) => i + 1));
  });

  test("PostgreSQL's list embeds its files in order and ends at SQLite's version: from 016, one file per engine and number", () => {
    const files = readdirSync(join(import.meta.dir, "../src/db/postgres/migrations"))
      .filter((f) => f.endsWith(".sql"))
      .sort();
    expect(POSTGRES_MIGRATIONS.map((m) => `${m.name}.sql`)).toEqual(files);
    expect(POSTGRES_MIGRATIONS.at(-1)?.version).toBe(MIGRATIONS.at(-1)?.version as number);
    const after = (list: typeof MIGRATIONS) => list.filter((m) => m.version > 15).map((m) => m.name);
    expect(after(POSTGRES_MIGRATIONS)).toEqual(after(MIGRATIONS));
  });

  test("applied once, recorded, and a second run is harmless", () => {
    const db = openDatabase(MEMORY_DATABASE);
    expect(migrate(db).length).toBe(MIGRATIONS.length);
    expect(migrate(db)).toEqual([]);
    const recorded = db.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all();
    expect(recorded).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
  });

  test("a file store runs in WAL mode with foreign keys and a busy timeout", () => {
    const db = openDatabase(join(tempDir("db-"), "nested", "t.db"));
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(db.pragma("busy_timeout", { simple: true })).toBe(5000);
    migrate(db);
    expect(() =>
      db
        .prepare(
          "INSERT INTO environments (id, tenant_id, name, type, created_at, updated_at) VALUES ('e', 'missing', 'n', 'development', '', '')",
        )
        .run(),
    ).toThrow(/FOREIGN KEY/);
  });
});
