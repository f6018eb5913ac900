// `npm run bench`: requests per second of the authentication hot path beside a bare route on
// the same server, in one run. The load generator is wrk (Debian package `wrk`), pinned to one
// core with the server pinned to the other when taskset is available, so neither steals from
// the other; scenarios are interleaved over several rounds and the medians reported.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateApiKey } from "../src/modules/secrets/key-format";

const DEV_KEY = "0cc505d7b917e0b1f25ccbea029dd43f4002edfea46b7f941f281911246768fe";
const DURATION = Number(process.env.BENCH_DURATION ?? "2");
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? "32");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "5");

const wrk = Bun.which("wrk");
if (!wrk) {
  console.error("The benchmark needs wrk: apt-get install wrk");
  process.exit(1);
}
const taskset = Bun.which("taskset");
const pin = (cpu: number, cmd: string[]) => (taskset ? [taskset, "-c", String(cpu), ...cmd] : cmd);

const work = mkdtempSync(join(tmpdir(), "tollgate-bench-"));

async function startServer(): Promise<{ port: number; pid: number; keys: string[]; stop: () => Promise<void> }> {
  const readyFile = join(work, "ready.json");
  const proc = Bun.spawn(pin(0, [process.execPath, join(import.meta.dir, "server.ts")]), {
    env: { ...process.env, BENCH_READY_FILE: readyFile, BENCH_DB: join(work, "bench.db") },
    stdout: "ignore",
    stderr: "inherit",
  });
  for (let waited = 0; !existsSync(readyFile); waited += 50) {
    if (waited > 60_000) throw new Error("benchmark server did not start");
    await Bun.sleep(50);
  }
  await Bun.sleep(100);
  const ready = JSON.parse(readFileSync(readyFile, "utf8"));
  return {
    ...ready,
    pid: proc.pid,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** A wrk script that sends each request with the next key of `keys`, round robin. */
function rotatingKeysScript(name: string, keys: string[]): string {
  const path = join(work, `${name}.lua`);
  const list = keys.map((k) => `"${k}"`).join(",\n");
  writeFileSync(
    path,
    `local keys = {\n${list}\n}\nlocal i = 0\nrequest = function()\n  i = (i % #keys) + 1\n  return wrk.format(nil, nil, { ["x-api-key"] = keys[i] })\nend\n`,
  );
  return path;
}

interface Scenario {
  name: string;
  path: string;
  args: string[];
  /** Run once, unrecorded, right before each measurement (to refill the cache the cold run emptied). */
  prime?: boolean;
}

/** CPU seconds (user + system) the server process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Measurement {
  rps: number;
  /** Server CPU per request, in microseconds: steadier than req/s on a shared machine. */
  cpuUs: number;
}

async function measure(base: string, s: Scenario, duration = DURATION): Promise<Measurement> {
  const cpuBefore = cpuSeconds(server.pid);
  const proc = Bun.spawn(
    pin(1, [wrk as string, "-t1", `-c${CONNECTIONS}`, `-d${duration}s`, ...s.args, `${base}${s.path}`]),
    { stdout: "pipe", stderr: "inherit" },
  );
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const cpu = cpuSeconds(server.pid) - cpuBefore;
  const rps = out.match(/Requests\/sec:\s+([\d.]+)/);
  const total = out.match(/(\d+) requests in/);
  const non2xx = out.match(/Non-2xx or 3xx responses:\s+(\d+)/);
  if (!rps) throw new Error(`wrk printed no rate:\n${out}`);
  if (non2xx && !s.name.includes("401")) throw new Error(`${s.name}: ${non2xx[1]} non-2xx responses`);
  return { rps: Number(rps[1]), cpuUs: (cpu / Number(total?.[1] ?? 1)) * 1e6 };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const server = await startServer();
const base = `http://127.0.0.1:${server.port}`;
const randomKeys = Array.from({ length: 10_000 }, () => generateApiKey("sk", "test").slice(0, -8) + "00000000");
const scenarios: Scenario[] = [
  { name: "bare constant route", path: "/bench/bare", args: [] },
  { name: "GET /v1/users/me, default config key", path: "/v1/users/me", args: ["-H", `x-api-key: ${DEV_KEY}`] },
  {
    name: "GET /v1/users/me, 10,000 stored keys cycling (warm: all cached)",
    path: "/v1/users/me",
    args: ["-s", rotatingKeysScript("warm", server.keys.slice(0, 10_000))],
    prime: true,
  },
  {
    name: "GET /v1/users/me, 20,000 stored keys cycling (cold: every request misses the 10,000-key cache)",
    path: "/v1/users/me",
    args: ["-s", rotatingKeysScript("cold", server.keys)],
  },
  {
    name: "GET /v1/users/me, random well-formed keys (401)",
    path: "/v1/users/me",
    args: ["-s", rotatingKeysScript("random", randomKeys)],
  },
];

try {
  // Warm-up: JIT, caches.
  for (const s of scenarios) await measure(base, s, 1);
  const results = new Map<string, { rps: number[]; cpuUs: number[]; ratio: number[]; cpuRatio: number[] }>(
    scenarios.map((s) => [s.name, { rps: [], cpuUs: [], ratio: [], cpuRatio: [] }]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    const bare = await measure(base, scenarios[0] as Scenario);
    for (const s of scenarios) {
      if (s.prime) await measure(base, s, 1);
      const m = s === scenarios[0] ? bare : await measure(base, s);
      const r = results.get(s.name)!;
      r.rps.push(m.rps);
      r.cpuUs.push(m.cpuUs);
      r.ratio.push(m.rps / bare.rps);
      r.cpuRatio.push(bare.cpuUs / m.cpuUs);
    }
  }
  console.log(
    `\nwrk, ${CONNECTIONS} connections, ${DURATION}s per measurement, ${ROUNDS} interleaved rounds` +
      `${taskset ? ", server and load generator pinned to separate cores" : ""}; medians.` +
      "\nRatios are against the bare route measured in the same round; the CPU ratio divides server" +
      "\nCPU time per request, which a noisy neighbour disturbs far less than wall-clock throughput.\n",
  );
  console.log("| scenario | req/s | ratio (req/s) | server CPU µs/req | ratio (CPU) |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const s of scenarios) {
    const r = results.get(s.name)!;
    console.log(
      `| ${s.name} | ${Math.round(median(r.rps))} | ${median(r.ratio).toFixed(2)} | ${median(r.cpuUs).toFixed(1)} | ${median(r.cpuRatio).toFixed(2)} |`,
    );
  }
} finally {
  await server.stop();
}
