import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { MEMORY_DATABASE, openDatabase, PostgresStore, SchemaTooNew } from "../src/db";
import { POSTGRES_MIGRATIONS } from "../src/db/postgres/migrations";
import { migrate } from "../src/db/sqlite/open";
import { MIGRATIONS } from "../src/db/sqlite/migrations";
import { createDatabase } from "./support/postgres";
import { tempDir } from "./support/temp";
import { onSqlite, postgresAdminUrl } from "./support/test-store";

describe("migrations", () => {
  test("every file in src/db/migrations is embedded, once, in order", () => {
    const files = readdirSync(join(import.meta.dir, "../src/db/sqlite/migrations"))
      .filter((f) => f.endsWith(".sql"))
      .sort();
    expect(MIGRATIONS.map((m) => `${m.name}.sql`)).toEqual(files);
    // Each version is its file's number, rising; a number reserved for another change may be missing.
    expect(MIGRATIONS.map((m) => m.version)).toEqual(files.map((file) => Number.parseInt(file, 10)));
    expect(MIGRATIONS.every((m, i) => i === 0 || m.version > (MIGRATIONS[i - 1]?.version as number))).toBe(true);
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

// On a PostgreSQL run: its own list of migrations, run under an advisory lock (SPEC §15).
describe.if(!onSqlite)("migrations on PostgreSQL", () => {
  let made = 0;
  /** The URL of an empty database of the run's cluster. */
  const emptyDatabase = () => createDatabase(postgresAdminUrl(), `migrations_${process.pid}_${++made}`);

  test("instances starting together apply each migration once; a second run is harmless", async () => {
    const url = await emptyDatabase();
    const stores = Array.from({ length: 4 }, () => new PostgresStore(url, { max: 2 }));
    try {
      const applied = await Promise.all(stores.map((store) => store.migrate()));
      expect(applied.map((list) => list.length).sort()).toEqual([0, 0, 0, POSTGRES_MIGRATIONS.length]);
      expect(await stores[0]?.migrate()).toEqual([]);
      const recorded = await stores[0]?.all("SELECT version, name FROM schema_migrations ORDER BY version");
      expect(recorded).toEqual(POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    } finally {
      for (const store of stores) await store.close();
    }
  });

  test("a database migrated by a newer Tollgate is refused with a sentence, and nothing is written", async () => {
    const store = new PostgresStore(await emptyDatabase(), { max: 2 });
    try {
      await store.migrate();
      const newer = (POSTGRES_MIGRATIONS.at(-1)?.version as number) + 1;
      await store.run(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', 'x')",
        newer,
      );
      const tables = await store.values("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
      const refused = await store.migrate().catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(SchemaTooNew);
      expect((refused as Error).message).toStartWith(
        `The database's schema is at version ${newer}, newer than this Tollgate knows (${newer - 1})`,
      );
      expect(await store.values("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).toEqual(
        tables,
      );
    } finally {
      await store.close();
    }
  });
});
