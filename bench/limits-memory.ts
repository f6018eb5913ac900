// `bun bench/limits-memory.ts`: the memory of rate-limit windows and credit balances (SPEC §14,
// issue 29): 10,000 keys, each with an auto-applied limit and credits, each used in rounds
// through app.handle; the process's RSS after each round. Memory must stay bounded: a window
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

const config = structuredClone(DEFAULT_CONFIG);
config.database.path = join(mkdtempSync(join(tmpdir(), "tollgate-limits-memory-")), "bench.db");
config.auth.api_key.cache_size = KEYS;
const tollgate = await createTollgate({ config, logger: createLogger("silent") });
const { db } = tollgate.context;
const env = (await db.get("SELECT id, type FROM environments WHERE is_default = 1")) as {
  id: string;
  type: "development";
};

const mib = () => (process.memoryUsage().rss / 1024 / 1024).toFixed(1);
const settle = () => {
  Bun.gc(true);
  return mib();
};

console.log(`RSS before the keys: ${settle()} MiB`);
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
console.log(`RSS with ${KEYS.toLocaleString("en")} keys stored: ${settle()} MiB`);

for (let round = 1; round <= ROUNDS; round++) {
  for (let i = 0; i < keys.length; i += 100) {
    const batch = keys.slice(i, i + 100).map(async (key) => {
      const res = await tollgate.app.handle(
        new Request("http://localhost/v1/users/me", { headers: { "x-api-key": key } }),
      );
      if (res.status !== 200) throw new Error(`round ${round}: ${res.status}`);
      await res.arrayBuffer();
    });
    await Promise.all(batch);
  }
  console.log(`RSS after round ${round} (every key used once more): ${settle()} MiB`);
}
await tollgate.close();
