// The server side of the benchmark: a real Tollgate on a temporary store, plus bare routes that
// exist only here, so each scenario is measured beside a baseline on the same server in one run.
//   BENCH_KEYS    stored keys to issue (default 20,000: twice the key cache)
//   BENCH_EVENTS  events to store before serving (default 0), for the query benchmark
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTollgate } from "../src/app";
import { DEFAULT_CONFIG, DEFAULT_TENANT_ID } from "../src/config";
import { sql } from "../src/db";
import { authPlugin } from "../src/modules/auth";
import { nowIso } from "../src/db/ids";
import { prepareEvents } from "../src/modules/events/service";
import { scopeKeyFor } from "../src/modules/events/scopes";
import { insertEvents } from "../src/modules/events/store";
import { issueKey } from "../src/modules/secrets/store";
import { syntheticEvents } from "./synthetic";

const readyFile = process.env.BENCH_READY_FILE;
const keyCount = Number(process.env.BENCH_KEYS ?? "20000");
const eventCount = Number(process.env.BENCH_EVENTS ?? "0");
if (!readyFile) throw new Error("BENCH_READY_FILE is required");

const config = structuredClone(DEFAULT_CONFIG);
config.server.port = 0;
// Integration secrets and webhooks need a master key (the webhooks section sets one).
config.secrets.encryption_key = process.env.BENCH_SECRETS_ENCRYPTION_KEY ?? "";
if (process.env.BENCH_DURABILITY === "process") config.events.durability = "process";
// The webhooks section measures refusals themselves, not the 429 that follows 30 of them.
if (process.env.BENCH_MAX_FAILED_ATTEMPTS !== undefined) {
  config.auth.failed_attempts.max_failures = Number(process.env.BENCH_MAX_FAILED_ATTEMPTS);
}
config.database.path = process.env.BENCH_DB ?? join(mkdtempSync(join(tmpdir(), "tollgate-bench-")), "bench.db");
const tollgate = createTollgate({ config });

const { db } = tollgate.context;
const env = sql(db, "SELECT id, type FROM environments WHERE tenant_id = ? AND is_default = 1").get(
  DEFAULT_TENANT_ID,
) as { id: string; type: "development" };

const keys = db.transaction(() =>
  Array.from(
    { length: keyCount },
    (_, i) =>
      issueKey(db, {
        tenantId: DEFAULT_TENANT_ID,
        environmentId: env.id,
        environmentType: env.type,
        userId: DEFAULT_TENANT_ID,
        createdBy: null,
        name: `bench key ${i}`,
        type: "private_key",
        roles: ["super_admin"],
      }).apiKey,
  ),
)();

if (eventCount > 0) {
  const scopeKey = scopeKeyFor(db, { tenantId: DEFAULT_TENANT_ID, environmentId: env.id });
  for (let done = 0; done < eventCount; done += 10_000) {
    insertEvents(db, prepareEvents(scopeKey, syntheticEvents(done, Math.min(10_000, eventCount - done))));
  }
  db.exec("ANALYZE");
  // Fold the seeding into the database file, as a long-running server's checkpoints would have.
  db.pragma("wal_checkpoint(TRUNCATE)");
}

tollgate.app
  .use(authPlugin(tollgate.context))
  .get("/bench/bare", () => "ok")
  // The same constant behind a permission: the full authentication and RBAC path, no store.
  .get("/bench/permission", () => "ok", { permission: "event:read" })
  // A POST that reads and parses its JSON body and does nothing else: the floor for ingestion.
  .post("/bench/bare-post", ({ body }) => (body ? "ok" : "empty"), { public: true })
  .listen({ hostname: "127.0.0.1", port: 0 });
writeFileSync(readyFile, JSON.stringify({ port: tollgate.app.server?.port, keys, now: nowIso() }));

process.on("SIGTERM", async () => {
  await tollgate.app.stop();
  await tollgate.close();
  process.exit(0);
});
