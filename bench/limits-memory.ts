// `bun bench/limits-memory.ts`: the memory of rate-limit windows and credit balances (SPEC §14,
// issue 29): 10,000 keys, each with an auto-applied limit and credits, each used in rounds
// through a listening server; the process's RSS after each round (client and server in one process). Memory must stay bounded: a window
// holds at most min(limit, duration_ms) entries, idle windows are swept, idle balances let go.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTollgate } from "../src/app";
import { DEFAULT_CONFIG } from "../src/config";
import { createLogger } from "../src/http/logging";
import { replaceLimits } from "../src/modules/limits/update";
import { issueKey } from "../src/modules/secrets/store";

const KEYS = Number(process.env.BENCH_LIMITED_KEYS ?? "10000");
const ROUNDS = Number(process.env.BENCH_LIMITED_ROUNDS ?? "5");
/** BENCH_LIMITED_NONE=1: the same keys without limits, for comparison. */
const WITH_LIMITS = process.env.BENCH_LIMITED_NONE !== "1";

const config = structuredClone(DEFAULT_CONFIG);
config.database.path = join(mkdtempSync(join(tmpdir(), "tollgate-limits-memory-")), "bench.db");
config.auth.api_key.cache_size = KEYS;
const tollgate = await createTollgate({ config, logger: createLogger("silent") });
// A listening server, as in production: app.handle without one keeps every request (and its
// headers) alive after it ends, ~1.6 KB each, which would hide what the limits take.
tollgate.app.listen({ port: 0, hostname: "127.0.0.1" });
const base = `http://127.0.0.1:${tollgate.app.server?.port}`;
const { db } = tollgate.context;
const env = (await db.get("SELECT id, type FROM environments WHERE is_default = 1")) as {
  id: string;
  type: "development";
};

const mib = () => {
  const { rss, heapUsed } = process.memoryUsage();
  return `${(rss / 1024 / 1024).toFixed(1)} MiB (JS heap ${(heapUsed / 1024 / 1024).toFixed(1)} MiB)`;
};
const settle = () => {
  Bun.gc(true);
  return mib();
};

console.log(`${WITH_LIMITS ? "with" : "without"} limits; RSS before the keys: ${settle()}`);
const keys = await db.transaction(async (tx) => {
  const issued: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const { apiKey, secret } = await issueKey(tx, {
      tenantId: "00000000-0000-0000-0000-000000000000",
      environmentId: env.id,
      environmentType: env.type,
      userId: "00000000-0000-0000-0000-000000000000",
      createdBy: null,
      name: `limited ${i}`,
      type: "private_key",
      roles: ["super_admin"],
    });
    if (WITH_LIMITS)
      await replaceLimits(
        tx,
        { tenantId: "00000000-0000-0000-0000-000000000000", environmentId: env.id, ownerId: secret.id },
        {
          ratelimits: [{ name: "api", limit: 1000, duration_ms: 60_000, auto_apply: true }],
          credits: { remaining: 1_000_000 },
        },
      );
    issued.push(apiKey);
  }
  return issued;
});
console.log(`RSS with ${KEYS.toLocaleString("en")} keys stored: ${settle()}`);

for (let round = 1; round <= ROUNDS; round++) {
  for (let i = 0; i < keys.length; i += 100) {
    const batch = keys.slice(i, i + 100).map(async (key) => {
      const res = await fetch(`${base}/v1/users/me`, { headers: { "x-api-key": key } });
      if (res.status !== 200) throw new Error(`round ${round}: ${res.status}`);
      await res.arrayBuffer();
    });
    await Promise.all(batch);
  }
  console.log(`RSS after round ${round} (every key used once more): ${settle()}`);
}
await tollgate.close();
