// `BENCH_BASELINE_ROOT=<another checkout> bun bench/handle.ts [path]`: one authenticated GET
// (default /v1/users/me, development key) through `app.handle` in this process, this checkout
// against the baseline's, each on an in-memory SQLite store, alternating in 8 rounds of 20,000
// requests; the best round of each is reported. No sockets and no second process: on a shared
// VM, where wrk's figures for two identical servers can differ by a third, this is the steadier
// comparison of the request path itself (auth, Elysia's hooks, the handler).
//
// Both checkouts' own createTollgate are used as they are: before the store seam (issue 27) it
// was synchronous and took `db`, after it asynchronous taking `store`.
import { join } from "node:path";

const DEV_KEY = "0cc505d7b917e0b1f25ccbea029dd43f4002edfea46b7f941f281911246768fe";
const ROUNDS = 8;
const REQUESTS = 20_000;

const baselineRoot = process.env.BENCH_BASELINE_ROOT;
if (!baselineRoot) {
  console.error("BENCH_BASELINE_ROOT=<another checkout> is required (see README, Benchmarks)");
  process.exit(1);
}
const path = process.argv[2] ?? "/v1/users/me";

type Handle = (request: Request) => Promise<Response>;

async function appOf(root: string): Promise<Handle> {
  const { createTollgate } = await import(join(root, "src/app.ts"));
  const { DEFAULT_CONFIG } = await import(join(root, "src/config/index.ts"));
  const db = await import(join(root, "src/db/index.ts"));
  const { createLogger } = await import(join(root, "src/http/logging.ts"));
  const options: Record<string, unknown> = {
    config: structuredClone(DEFAULT_CONFIG),
    logger: createLogger("error", { sink: () => {} }),
  };
  if (db.SqliteStore) options.store = new db.SqliteStore(db.openDatabase(":memory:"));
  else options.db = db.openDatabase(":memory:");
  const tollgate = await createTollgate(options);
  return (request) => tollgate.app.handle(request);
}

const checkouts: [string, Handle][] = [
  ["this", await appOf(join(import.meta.dir, ".."))],
  ["baseline", await appOf(baselineRoot)],
];
const request = () => new Request(`http://localhost${path}`, { headers: { "x-api-key": DEV_KEY } });

for (const [name, handle] of checkouts) {
  const res = await handle(request());
  if (res.status !== 200) throw new Error(`${name}: ${path} answered ${res.status}`);
  for (let i = 0; i < 5000; i++) await (await handle(request())).text();
}
const best = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, handle] of checkouts) {
    const started = performance.now();
    for (let i = 0; i < REQUESTS; i++) await (await handle(request())).text();
    const perRequest = ((performance.now() - started) * 1000) / REQUESTS;
    best.set(name, Math.min(best.get(name) ?? Number.POSITIVE_INFINITY, perRequest));
  }
}
const ours = best.get("this") as number;
const theirs = best.get("baseline") as number;
console.log(
  `${path}: this ${ours.toFixed(2)} µs a request, baseline ${theirs.toFixed(2)} µs; speed ratio this/baseline ${(theirs / ours).toFixed(3)}`,
);
