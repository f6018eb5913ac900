// The server side of the benchmark: a real Tollgate on a temporary store, plus one bare
// constant route that exists only here, so both are measured on the same server in one run.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTollgate } from "../src/app";
import { DEFAULT_CONFIG, DEFAULT_TENANT_ID } from "../src/config";
import { sql } from "../src/db";
import { issueKey } from "../src/modules/secrets/service";

const readyFile = process.env.BENCH_READY_FILE;
// Twice the key cache: cycling through all of them misses the cache on every request.
const keyCount = Number(process.env.BENCH_KEYS ?? "20000");
if (!readyFile) throw new Error("BENCH_READY_FILE is required");

const config = structuredClone(DEFAULT_CONFIG);
config.server.port = 0;
config.database.path = process.env.BENCH_DB ?? join(mkdtempSync(join(tmpdir(), "tollgate-bench-")), "bench.db");
const tollgate = createTollgate({ config });

const { db } = tollgate.context;
const env = sql(db, "SELECT id, type FROM environments WHERE tenant_id = ? AND is_default = 1").get(
  DEFAULT_TENANT_ID,
) as {
  id: string;
  type: "development";
};
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

tollgate.app.get("/bench/bare", () => "ok").listen({ hostname: "127.0.0.1", port: 0 });
writeFileSync(readyFile, JSON.stringify({ port: tollgate.app.server?.port, keys }));

process.on("SIGTERM", async () => {
  await tollgate.app.stop();
  tollgate.close();
  process.exit(0);
});
