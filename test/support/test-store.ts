// Which store engine a test run uses. `npm test` runs the suite twice: on SQLite, then with
// TOLLGATE_TEST_STORE=postgres on a private PostgreSQL cluster this run starts (postgres.ts),
// where every harness gets a database of its own, copied from a template migrated once.
import { afterAll, beforeAll } from "bun:test";
import { SQL } from "bun";
import { openDatabase, PostgresStore, SqliteStore, type Store } from "../../src/db";
import { createDatabase, type Cluster, databaseUrl, startCluster } from "./postgres";

export type TestEngine = "sqlite" | "postgres";

export const TEST_ENGINE: TestEngine = process.env.TOLLGATE_TEST_STORE === "postgres" ? "postgres" : "sqlite";

/** Whether this run is on SQLite: tests of what only the embedded engine has (its files, WAL, the store lock) run only there. */
export const onSqlite = TEST_ENGINE === "sqlite";

const TEMPLATE = "tollgate_template";

let cluster: Cluster | null = null;
let template: Promise<void> | null = null;
let databases = 0;

function sharedCluster(): Cluster {
  if (cluster === null) {
    const started = startCluster();
    cluster = started;
    // Stopped after the last file (the preload's afterAll); on exit too, should the run end
    // early (pg_ctl through spawnSync, so it runs even as the process exits), and on Ctrl-C or
    // a kill, which would otherwise leave the cluster running.
    process.on("exit", () => started.stop());
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => {
        started.stop();
        process.exit(128 + (signal === "SIGINT" ? 2 : 15));
      });
    }
  }
  return cluster;
}

/** The template every test database is copied from: the schema migrated once, then left unconnected. */
function migratedTemplate(adminUrl: string): Promise<void> {
  template ??= (async () => {
    const url = await createDatabase(adminUrl, TEMPLATE);
    const store = new PostgresStore(url, { max: 1 });
    try {
      await store.migrate();
    } finally {
      await store.close();
    }
  })();
  return template;
}

/** Databases made before they are asked for: a test's own work overlaps the next one's copy. */
const AHEAD = 2;
const madeAhead: Promise<string>[] = [];
/** One copy at a time: the template is locked while it is copied. */
let copying: Promise<unknown> = Promise.resolve();
let admin: SQL | null = null;

function copyOfTemplate(): Promise<string> {
  const { adminUrl } = sharedCluster();
  databases += 1;
  const name = `tollgate_${process.pid}_${databases}`;
  const made = copying.then(async () => {
    await migratedTemplate(adminUrl);
    admin ??= new SQL({ url: adminUrl, max: 1 });
    await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE}"`);
    const url = databaseUrl(adminUrl, name);
    // The first connection to a new database builds its catalog cache (tens of milliseconds):
    // made here, ahead of the test, it is not the test's.
    const first = new SQL({ url, max: 1 });
    await first.unsafe("SELECT 1");
    await first.close();
    return url;
  });
  copying = made.catch(() => {});
  return made;
}

/** A new, migrated PostgreSQL database of the run's cluster: its URL. */
export function newPostgresDatabase(): Promise<string> {
  const next = madeAhead.shift() ?? copyOfTemplate();
  while (madeAhead.length < AHEAD) {
    const ahead = copyOfTemplate();
    // Its failure is reported to the test that takes it, not as an unhandled rejection now.
    ahead.catch(() => {});
    madeAhead.push(ahead);
  }
  return next;
}

/**
 * Waits until another process's change reaches the caches: at once on SQLite (the counters are
 * read on the request's path, at most a millisecond apart), within a poll of PostgreSQL's
 * (harnesses made with a short `changePollMs`).
 */
export async function changeSeen(): Promise<void> {
  await Bun.sleep(TEST_ENGINE === "sqlite" ? 5 : 200);
}

/** The URL of the run's cluster as its superuser (to terminate connections, inspect activity). */
export function postgresAdminUrl(): string {
  return sharedCluster().adminUrl;
}

/** Runs `work` with a superuser connection to the run's cluster. */
export async function asPostgresAdmin<T>(work: (sql: SQL) => Promise<T>): Promise<T> {
  const sql = new SQL({ url: postgresAdminUrl(), max: 1 });
  try {
    return await work(sql);
  } finally {
    await sql.close();
  }
}

/**
 * A store for a harness: on SQLite, the file at `sqlitePath` (":memory:" for an in-memory
 * one); on PostgreSQL, a new database, and the config settings that point at it.
 */
export async function testStore(sqlitePath: string): Promise<{ store: Store; database: { url: string } | null }> {
  if (TEST_ENGINE === "sqlite") return { store: new SqliteStore(openDatabase(sqlitePath)), database: null };
  const url = await newPostgresDatabase();
  // Few connections each: a run opens hundreds of harnesses, not all closed at once.
  return { store: new PostgresStore(url, { max: 4, idleTimeout: 2 }), database: { url } };
}

// Preloaded (bunfig.toml): on a PostgreSQL run the cluster starts and the template is migrated
// once, before the first file, under a timeout of its own rather than the first test's.
if (TEST_ENGINE === "postgres") {
  beforeAll(() => migratedTemplate(sharedCluster().adminUrl), 120_000);
  // Its own timeout too: a cluster on disk (no room in /dev/shm, postgres.ts) holds gigabytes
  // of copies by then, and removing them can outlast a test's.
  afterAll(async () => {
    await admin?.close();
    cluster?.stop();
  }, 120_000);
}
