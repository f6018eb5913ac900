// The server side of the benchmark: a real Tollgate on a temporary store, plus bare routes that
// exist only here, so each scenario is measured beside a baseline on the same server in one run.
//   BENCH_KEYS    stored keys to issue (default 20,000: twice the key cache)
//   BENCH_EVENTS  events to store before serving (default 0), for the query benchmark
//   BENCH_AUDIT_ROWS, BENCH_CUSTOMERS, BENCH_ACCOUNTS, BENCH_WEBHOOK_EVENTS  rows of each list to
//                 store before serving (default 0), for the lists benchmark
//   BENCH_DATABASE_URL  a PostgreSQL database to serve from instead of the SQLite file (the
//                 engines section; keys only: events and lists are seeded with SQLite's SQL)
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTollgate } from "../src/app";
import { DEFAULT_CONFIG, DEFAULT_TENANT_ID } from "../src/config";
import { SqliteStore } from "../src/db";
import { authPlugin } from "../src/modules/auth";
import { nowIso } from "../src/db/ids";
import { prepareEvents } from "../src/modules/events/service";
import { scopeKeyFor } from "../src/modules/events/scopes";
import { insertEventsIntoSqlite } from "../src/modules/events/store";
import { issueKey } from "../src/modules/secrets/store";
import { MAX_AMOUNT } from "../src/modules/limits/model";
import { replaceLimits } from "../src/modules/limits/update";
import { syntheticEvents } from "./synthetic";

const readyFile = process.env.BENCH_READY_FILE;
const keyCount = Number(process.env.BENCH_KEYS ?? "20000");
const eventCount = Number(process.env.BENCH_EVENTS ?? "0");
const listRows = {
  audit: Number(process.env.BENCH_AUDIT_ROWS ?? "0"),
  customers: Number(process.env.BENCH_CUSTOMERS ?? "0"),
  accounts: Number(process.env.BENCH_ACCOUNTS ?? "0"),
  webhooks: Number(process.env.BENCH_WEBHOOK_EVENTS ?? "0"),
};
if (!readyFile) throw new Error("BENCH_READY_FILE is required");

const config = structuredClone(DEFAULT_CONFIG);
config.server.port = 0;
// Integration secrets and webhooks need a master key (the webhooks section sets one).
config.secrets.encryption_key = process.env.BENCH_SECRETS_ENCRYPTION_KEY ?? "";
if (process.env.BENCH_DURABILITY === "process") config.events.durability = "process";
// The forward-auth section's rules (a JSON array, as TOLLGATE_FORWARD_AUTH_RULES takes it).
if (process.env.BENCH_FORWARD_RULES) config.forward_auth.rules = JSON.parse(process.env.BENCH_FORWARD_RULES);
// The webhooks section measures refusals themselves, not the 429 that follows 30 of them.
if (process.env.BENCH_MAX_FAILED_ATTEMPTS !== undefined) {
  config.auth.failed_attempts.max_failures = Number(process.env.BENCH_MAX_FAILED_ATTEMPTS);
}
config.database.path = process.env.BENCH_DB ?? join(mkdtempSync(join(tmpdir(), "tollgate-bench-")), "bench.db");
if (process.env.BENCH_DATABASE_URL) {
  config.database.url = process.env.BENCH_DATABASE_URL;
  // Required with PostgreSQL (there is no key file beside a database); any 32 characters do here.
  config.customer_portal.signing_key = "bench-portal-signing-key-0123456789abcdef";
}
const tollgate = await createTollgate({ config });

const store = tollgate.context.db;
const env = (await store.get(
  "SELECT id, type FROM environments WHERE tenant_id = ? AND is_default = 1",
  DEFAULT_TENANT_ID,
)) as { id: string; type: "development" };

const keys = await store.transaction(async (tx) => {
  const issued: string[] = [];
  for (let i = 0; i < keyCount; i++) {
    const key = await issueKey(tx, {
      tenantId: DEFAULT_TENANT_ID,
      environmentId: env.id,
      environmentType: env.type,
      userId: DEFAULT_TENANT_ID,
      createdBy: null,
      name: `bench key ${i}`,
      type: "private_key",
      roles: ["super_admin"],
    });
    issued.push(key.apiKey);
  }
  return issued;
});

// One more key, with an auto-applied rate limit and credits that the benchmark never exhausts:
// the hot path holding a key to its limits (SPEC §14), beside keys[0] without any.
const limitedKey = await store.transaction(async (tx) => {
  const key = await issueKey(tx, {
    tenantId: DEFAULT_TENANT_ID,
    environmentId: env.id,
    environmentType: env.type,
    userId: DEFAULT_TENANT_ID,
    createdBy: null,
    name: "bench key with limits",
    type: "private_key",
    roles: ["super_admin"],
  });
  await replaceLimits(
    tx,
    { tenantId: DEFAULT_TENANT_ID, environmentId: env.id, ownerId: key.secret.id },
    {
      ratelimits: [{ name: "bench", limit: MAX_AMOUNT, duration_ms: 1000, auto_apply: true }],
      credits: { remaining: MAX_AMOUNT },
    },
  );
  return key.apiKey;
});

/** The seeding of events and lists writes SQLite's SQL (printf, strftime) straight into the file. */
function sqliteFile() {
  if (!(store instanceof SqliteStore)) throw new Error("events and lists are seeded on a SQLite file only");
  return store.db;
}

if (eventCount > 0) {
  const db = sqliteFile();
  const scopeKey = await scopeKeyFor(store, { tenantId: DEFAULT_TENANT_ID, environmentId: env.id });
  const insertEvents = insertEventsIntoSqlite(db);
  for (let done = 0; done < eventCount; done += 10_000) {
    await insertEvents(prepareEvents(scopeKey, syntheticEvents(done, Math.min(10_000, eventCount - done))));
  }
  db.exec("ANALYZE");
  // Fold the seeding into the database file, as a long-running server's checkpoints would have.
  db.pragma("wal_checkpoint(TRUNCATE)");
}

if (Object.values(listRows).some((n) => n > 0)) {
  const db = sqliteFile();
  seedLists(db, env.id);
  db.exec("ANALYZE");
  db.pragma("wal_checkpoint(TRUNCATE)");
}

/**
 * Rows of every list, written by SQL as a long-lived install would have them: audit rows of a
 * few actions and resource types over 400 days, customers with names, emails and metadata,
 * service accounts, webhook deliveries of a few types.
 */
function seedLists(db: SqliteStore["db"], environmentId: string) {
  const tenant = DEFAULT_TENANT_ID;
  const series = (n: number) => `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n})`;
  const at = (spreadSeconds: number) =>
    `strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d seconds', i * ${spreadSeconds}))`;
  const run = (statement: string, ...params: unknown[]) => db.prepare(statement).run(...params);
  run(
    `${series(listRows.audit)} INSERT INTO audit_logs (id, tenant_id, environment_id, action, resource_type, resource_id,
       actor_type, actor_id, actor_name, changes, ip, created_at)
     SELECT printf('aud_%09d', i), ?, ?,
       CASE i % 5 WHEN 0 THEN 'secret.created' WHEN 1 THEN 'user.sign_in_failed' WHEN 2 THEN 'customer.created'
         WHEN 3 THEN 'customer.updated' ELSE 'user.signed_in' END,
       CASE i % 5 WHEN 0 THEN 'secret' WHEN 2 THEN 'customer' WHEN 3 THEN 'customer' ELSE 'user' END,
       printf('res_%d', i % 50000), 'user', printf('usr_%d', i % 20), 'Someone',
       '{"before":null,"after":{"name":"x"}}', '127.0.0.1', ${at(86)}
     FROM n`,
    tenant,
    environmentId,
  );
  run(
    `${series(listRows.customers)} INSERT INTO customers (id, tenant_id, environment_id, external_id, name, email,
       metadata, status, created_at, updated_at)
     SELECT printf('cust_%09d', i), ?, ?, printf('ext_%d', i), printf('Customer %d', i),
       printf('billing%d@example.com', i), printf('{"plan":"p%d","region":"r%d"}', i % 7, i % 3), 'published',
       ${at(300)}, ${at(300)}
     FROM n`,
    tenant,
    environmentId,
  );
  run(
    `${series(listRows.accounts)} INSERT INTO users (id, tenant_id, type, name, roles, status, created_at, updated_at)
     SELECT printf('usr_b%09d', i), ?, 'service_account', printf('Worker %d', i),
       CASE i % 2 WHEN 0 THEN '["event_ingestor"]' ELSE '["event_reader"]' END, 'published', ${at(600)}, ${at(600)}
     FROM n`,
    tenant,
  );
  run(
    `${series(listRows.webhooks)} INSERT INTO webhook_events (id, tenant_id, environment_id, provider,
       provider_event_id, event_type, payload, signed_at, received_at)
     SELECT printf('whe_%09d', i), ?, ?, 'stripe', printf('evt_%d', i),
       CASE i % 3 WHEN 0 THEN 'invoice.paid' WHEN 1 THEN 'customer.updated' ELSE 'charge.succeeded' END,
       '{}', ${at(120)}, ${at(120)}
     FROM n`,
    tenant,
    environmentId,
  );
}

tollgate.app
  .use(authPlugin(tollgate.context))
  .get("/bench/bare", () => "ok")
  // The same constant behind a permission: the full authentication and RBAC path, no store.
  .get("/bench/permission", () => "ok", { permission: "event:read" })
  // A POST that reads and parses its JSON body and does nothing else: the floor for ingestion.
  .post("/bench/bare-post", ({ body }) => (body ? "ok" : "empty"), { public: true })
  .listen({ hostname: "127.0.0.1", port: 0 });
writeFileSync(readyFile, JSON.stringify({ port: tollgate.app.server?.port, keys, limitedKey, now: nowIso() }));

process.on("SIGTERM", async () => {
  await tollgate.app.stop();
  await tollgate.close();
  process.exit(0);
});
