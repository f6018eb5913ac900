import type { SQL } from "bun";
import { type Migration, SchemaTooNew } from "../schema";
import { POSTGRES_MIGRATIONS } from "./migrations";

/**
 * The advisory lock migrations run under, so that several instances starting at once on one
 * database apply each migration once: the first applies, the others wait and find nothing to do.
 * Any number, the same for every Tollgate: "TOLL" in ASCII.
 */
const MIGRATION_LOCK = 0x544f4c4c;

/**
 * Applies the migrations the database has not recorded, each in its own transaction, under the
 * advisory lock. A database whose schema is newer than this build knows is refused (SchemaTooNew):
 * an older server must not write to tables whose rules it does not know.
 */
export async function migratePostgres(sql: SQL, migrations: Migration[] = POSTGRES_MIGRATIONS): Promise<Migration[]> {
  const connection = await sql.reserve();
  try {
    await connection.unsafe(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
    try {
      await connection.unsafe(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version     integer PRIMARY KEY,
        name        text NOT NULL,
        applied_at  text NOT NULL
      )`);
      const rows = (await connection.unsafe("SELECT version FROM schema_migrations")) as { version: number }[];
      const applied = new Set(rows.map((r) => Number(r.version)));
      const newest = Math.max(0, ...applied);
      const known = Math.max(0, ...migrations.map((m) => m.version));
      if (newest > known) throw new SchemaTooNew(newest, known);
      const pending = migrations.filter((m) => !applied.has(m.version));
      for (const m of pending) {
        await connection.begin(async (tx) => {
          await tx.unsafe(m.sql).simple();
          await tx.unsafe("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [
            m.version,
            m.name,
            new Date().toISOString(),
          ]);
        });
      }
      return pending;
    } finally {
      await connection.unsafe(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`);
    }
  } finally {
    connection.release();
  }
}
