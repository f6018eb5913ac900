// `npx bun bench/bulk-commit.ts`: where a bulk commit's time goes on a store of 1M events, in-process,
// with the event writer's settings; each knob changes one thing, so runs compare side by side.
//   BULK_SEED         the seeded store to copy (made on first use; default $TMPDIR/tollgate-bulk-seed.db)
//   BULK_PRELOAD      events in the seed (1,000,000)     BULK_ROWS     rows per commit (4,000: 4 bulk requests)
//   BULK_SECONDS      how long to insert (20)            BULK_SYNC     synchronous=… (FULL, as fsync durability)
//   BULK_CHECKPOINT   wal_autocheckpoint pages (40,000, the writer's; 0 = none)
//   BULK_CACHE_MIB    page cache (64, the writer's)      BULK_DROP     indexes to drop first, comma-separated
//   BULK_SORT=1       sort each batch by customer and timestamp before inserting
//   BULK_REPEAT=1     every batch the same 1,000 events over again, as the HTTP benchmark's fixed body
// It prints CPU time beside wall time per event: the difference is time spent waiting for the disk.
import { copyFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTollgate } from "../src/app";
import { DEFAULT_CONFIG } from "../src/config";
import { openDatabase } from "../src/db";
import { prepareEvents } from "../src/modules/events/service";
import { insertEventsIntoSqlite } from "../src/modules/events/store";
import { syntheticEvents } from "./synthetic";

const env = process.env;
const seed = env.BULK_SEED ?? join(tmpdir(), "tollgate-bulk-seed.db");
const preload = Number(env.BULK_PRELOAD ?? 1_000_000);
const rowsPerCommit = Number(env.BULK_ROWS ?? 4000);
const seconds = Number(env.BULK_SECONDS ?? 20);
const SCOPE = 1;

if (!existsSync(seed)) {
  const config = structuredClone(DEFAULT_CONFIG);
  config.database.path = seed;
  // The app's own migrations and bootstrap: the tenant and environment the scope points at.
  const tollgate = await createTollgate({ config });
  await tollgate.close();
  const db = openDatabase(seed);
  db.prepare(
    "INSERT INTO event_scopes (key, tenant_id, environment_id) SELECT ?, tenant_id, id FROM environments LIMIT 1",
  ).run(SCOPE);
  const insertEvents = insertEventsIntoSqlite(db);
  for (let done = 0; done < preload; done += 10_000) {
    await insertEvents(prepareEvents(SCOPE, syntheticEvents(done, Math.min(10_000, preload - done))));
  }
  db.exec("ANALYZE");
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
}

const path = join(tmpdir(), `tollgate-bulk-commit-${process.pid}.db`);
copyFileSync(seed, path);
const db = openDatabase(path);
db.pragma(`synchronous = ${env.BULK_SYNC ?? "FULL"}`);
db.pragma(`wal_autocheckpoint = ${env.BULK_CHECKPOINT ?? 40_000}`);
db.pragma(`cache_size = -${Number(env.BULK_CACHE_MIB ?? 64) * 1024}`);
for (const index of (env.BULK_DROP ?? "").split(",").filter(Boolean)) db.exec(`DROP INDEX ${index}`);
// The writer's statement (store.ts), positional parameters included.
const insert = db.prepare(
  `INSERT INTO events (scope, id, event_name, external_customer_id, customer_id, timestamp, source, properties,
     ingested_at)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
   ON CONFLICT (scope, id) DO NOTHING`,
);
const byCustomer = (a: { external_customer_id: string; timestamp: string }, b: typeof a) =>
  a.external_customer_id.localeCompare(b.external_customer_id) || a.timestamp.localeCompare(b.timestamp);

const fixedBody = syntheticEvents(0, 1000);
const batchOf = (first: number) =>
  env.BULK_REPEAT === "1"
    ? Array.from({ length: Math.ceil(rowsPerCommit / 1000) }, () => fixedBody).flat()
    : syntheticEvents(first, rowsPerCommit);

let next = preload;
let rows = 0;
let inserting = 0;
let committing = 0;
const cpuAtStart = process.cpuUsage();
const started = performance.now();
while (performance.now() - started < seconds * 1000) {
  const batch = prepareEvents(SCOPE, batchOf(next));
  next += rowsPerCommit;
  if (env.BULK_SORT === "1") batch.sort(byCustomer);
  const begun = performance.now();
  db.exec("BEGIN IMMEDIATE");
  for (const r of batch) {
    insert.run(
      r.scope,
      r.id,
      r.event_name,
      r.external_customer_id,
      r.customer_id,
      r.timestamp,
      r.source,
      r.properties,
      r.ingested_at,
    );
  }
  const inserted = performance.now();
  db.exec("COMMIT");
  committing += performance.now() - inserted;
  inserting += inserted - begun;
  rows += batch.length;
}
const elapsed = performance.now() - started;
const cpu = process.cpuUsage(cpuAtStart);
db.close();
for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true });

const perRow = (ms: number) => ((ms * 1000) / rows).toFixed(1);
console.log(
  `${Math.round((rows / elapsed) * 1000)} events/s; per event: insert ${perRow(inserting)} µs, ` +
    `COMMIT ${perRow(committing)} µs, preparing ${perRow(elapsed - inserting - committing)} µs; ` +
    `CPU ${perRow((cpu.user + cpu.system) / 1000)} µs of ${perRow(elapsed)} µs wall`,
);
