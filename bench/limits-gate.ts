// `bun bench/limits-gate.ts`: what holding one request to a key's limits costs in process
// (SPEC §14, issue 29): `Limiter.admit` for a key with one auto-applied rate limit, with credits,
// and with both, against a real store's ledger (SQLite, balances in memory). Best of 7 rounds of
// 1,000,000 calls each; the limit and credits are never reached, so every call is admitted.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTollgate } from "../src/app";
import { DEFAULT_CONFIG } from "../src/config";
import { createLogger } from "../src/http/logging";
import type { KeyLimits } from "../src/modules/auth/model";
import { Limiter } from "../src/modules/limits/gate";
import { keyLimitsOf } from "../src/modules/limits/key-limits";
import { BufferedCreditLedger } from "../src/modules/limits/ledger-buffered";
import { type LimitsInput, MAX_AMOUNT, type LimitsRow } from "../src/modules/limits/model";
import { replaceLimits } from "../src/modules/limits/update";
import { RateLimitWindows } from "../src/modules/limits/windows";

const CALLS = 1_000_000;
const ROUNDS = 7;
const TENANT = "00000000-0000-0000-0000-000000000000";

const config = structuredClone(DEFAULT_CONFIG);
config.database.path = join(mkdtempSync(join(tmpdir(), "tollgate-limits-gate-")), "bench.db");
const logger = createLogger("silent");
const tollgate = await createTollgate({ config, logger });
const { db } = tollgate.context;
const env = (await db.get("SELECT id FROM environments WHERE is_default = 1")) as { id: string };

/** The limits a key with `input` carries, read back from the store as the key cache reads them. */
async function limitsOf(ownerId: string, input: LimitsInput): Promise<KeyLimits> {
  await replaceLimits(db, { tenantId: TENANT, environmentId: env.id, ownerId }, input);
  const rows = (await db.all("SELECT * FROM limits WHERE owner_id = ?", ownerId)) as LimitsRow[];
  const limits = keyLimitsOf({ id: ownerId, user_id: TENANT, tenant_id: TENANT, environment_id: env.id }, rows);
  if (limits === null) throw new Error("no limits stored");
  return limits;
}

const limit = { name: "bench", limit: MAX_AMOUNT, duration_ms: 1000, auto_apply: true };
const cases: [string, KeyLimits][] = [
  ["one auto-applied rate limit", await limitsOf("bench-limit", { ratelimits: [limit] })],
  ["credits", await limitsOf("bench-credits", { credits: { remaining: MAX_AMOUNT } })],
  [
    "one auto-applied rate limit and credits",
    await limitsOf("bench-both", { ratelimits: [limit], credits: { remaining: MAX_AMOUNT } }),
  ],
];

const ledger = new BufferedCreditLedger(db, logger);
const limiter = new Limiter(new RateLimitWindows(), ledger);
const ownRequest = { named: [], credits: 1 };
for (const [name, limits] of cases) {
  // The first spend reads the balance from the store; every later one is synchronous.
  await limiter.admit(limits, ownRequest);
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    for (let i = 0; i < CALLS; i++) {
      const admission = limiter.admit(limits, ownRequest);
      if (admission instanceof Promise || admission.refusal !== null) throw new Error(`${name}: not admitted at once`);
    }
    best = Math.min(best, ((performance.now() - started) * 1e6) / CALLS);
  }
  console.log(`| ${name} | ${best.toFixed(0)} ns |`);
}
await ledger.close();
await tollgate.close();
