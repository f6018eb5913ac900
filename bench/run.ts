// `npm run bench [-- auth|limits|ingest|query|lists|forward|webhooks|engines]`: every figure is measured beside a baseline in the same
// run. The load generator is wrk (Debian package `wrk`), pinned to one core with the server
// pinned to the other when taskset is available; scenarios are interleaved over rounds and
// the medians reported.
//
// BENCH_BASELINE_ROOT=<another checkout> starts that checkout's bench server beside this one and
// measures both in every round (auth, limits and ingest), so a change is compared with what it changed
// in one run: `git archive <commit> | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/`.
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../src/db";
import { prepareEvents } from "../src/modules/events/service";
import { generateApiKey } from "../src/modules/auth/key-format";
import { createHmac } from "node:crypto";
import { createServer } from "node:net";
import { SYNTHETIC_BULK_LUA, syntheticEvents } from "./synthetic";
import { createDatabase, startCluster } from "../test/support/postgres";

const DEV_KEY = "0cc505d7b917e0b1f25ccbea029dd43f4002edfea46b7f941f281911246768fe";
const DURATION = Number(process.env.BENCH_DURATION ?? "2");
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? "32");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "5");
const QUERY_EVENTS = Number(process.env.BENCH_QUERY_EVENTS ?? "1000000");
const sections =
  process.argv.slice(2).length > 0
    ? process.argv.slice(2)
    : ["auth", "limits", "ingest", "query", "lists", "forward", "webhooks", "engines"];
const LIST_AUDIT_ROWS = Number(process.env.BENCH_LIST_AUDIT_ROWS ?? "400000");
const LIST_CUSTOMERS = Number(process.env.BENCH_LIST_CUSTOMERS ?? "100000");
const WEBHOOK_SAMPLES = Number(process.env.BENCH_WEBHOOK_SAMPLES ?? "4000");
const BULK_PRELOAD = Number(process.env.BENCH_BULK_PRELOAD ?? "1000000");
/**
 * Seconds per bulk measurement: long enough to hold several of the event writer's checkpoints
 * (one per 40,000 WAL pages, every 3–4 s at these rates), so that the cost of folding the WAL
 * back is always inside the figure rather than sometimes just after it.
 */
const BULK_DURATION = Number(process.env.BENCH_BULK_DURATION ?? "10");
const BASELINE_ROOT = process.env.BENCH_BASELINE_ROOT;
const HERE = join(import.meta.dir, "..");

const wrk = Bun.which("wrk");
if (!wrk) {
  console.error("The benchmark needs wrk: apt-get install wrk");
  process.exit(1);
}
const taskset = Bun.which("taskset");
const pin = (cpu: number, cmd: string[]) => (taskset ? [taskset, "-c", String(cpu), ...cmd] : cmd);
const work = mkdtempSync(join(tmpdir(), "tollgate-bench-"));

interface Server {
  /** Which checkout it runs: "this" or "baseline". */
  label: string;
  base: string;
  pid: number;
  keys: string[];
  /** A key with an auto-applied rate limit and credits (a checkout older than them has none: its first key then). */
  limitedKey: string;
  /** Where its standard output (the log) goes, to count the lines each measurement wrote. */
  logFile: string;
  stop(): Promise<void>;
}

async function startServer(
  name: string,
  env: Record<string, string> = {},
  root = HERE,
  label = "this",
): Promise<Server> {
  const readyFile = join(work, `${name}.ready.json`);
  const logFile = join(work, `${name}.log`);
  const proc = Bun.spawn(pin(0, [process.execPath, join(root, "bench", "server.ts")]), {
    env: { ...process.env, BENCH_READY_FILE: readyFile, BENCH_DB: join(work, `${name}.db`), ...env },
    stdout: Bun.file(logFile),
    stderr: "inherit",
  });
  for (let waited = 0; !existsSync(readyFile); waited += 100) {
    if (waited > 600_000) throw new Error("benchmark server did not start");
    await Bun.sleep(100);
  }
  await Bun.sleep(200);
  const ready = JSON.parse(readFileSync(readyFile, "utf8"));
  return {
    label,
    base: `http://127.0.0.1:${ready.port}`,
    pid: proc.pid,
    keys: ready.keys,
    limitedKey: ready.limitedKey ?? ready.keys[0],
    logFile,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** Log lines a server has written so far (newlines in its output file). */
function logLines(server: Server): number {
  const size = statSync(server.logFile).size;
  const fd = openSync(server.logFile, "r");
  const buffer = Buffer.allocUnsafe(1 << 20);
  let lines = 0;
  try {
    for (let at = 0; at < size;) {
      const n = readSync(fd, buffer, 0, buffer.length, at);
      if (n <= 0) break;
      for (let i = 0; i < n; i++) if (buffer[i] === 10) lines++;
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  return lines;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A wrk script: every request with `method`, `body`, and the next header set of `headerSets`. */
function script(name: string, options: { method?: string; body?: string; keys?: string[]; lua?: string }): string {
  const path = join(work, `${name}.lua`);
  const lines = [
    `wrk.method = "${options.method ?? "GET"}"`,
    `wrk.headers["Content-Type"] = "application/json"`,
    `wrk.headers["x-api-key"] = "${DEV_KEY}"`,
  ];
  if (options.body !== undefined) lines.push(`wrk.body = [==[${options.body}]==]`);
  if (options.lua !== undefined) lines.push(options.lua);
  if (options.keys) {
    lines.push(`local keys = {\n${options.keys.map((k) => `"${k}"`).join(",\n")}\n}`);
    lines.push("local i = 0");
    lines.push(
      'request = function()\n  i = (i % #keys) + 1\n  return wrk.format(nil, nil, { ["x-api-key"] = keys[i] })\nend',
    );
  }
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

/** A script made once per server, on first use. */
function perServer(make: (server: Server) => string): (server: Server) => string {
  const made = new Map<Server, string>();
  return (server) => {
    let path = made.get(server);
    if (path === undefined) made.set(server, (path = make(server)));
    return path;
  };
}

interface Scenario {
  name: string;
  path: string;
  /** A wrk script, or one per server (scripts that use the server's own keys). */
  script?: string | ((server: Server) => string);
  connections?: number;
  /** Non-2xx answers are the point of the scenario (rejected keys). */
  refusals?: boolean;
  /** Run once, unrecorded, right before each measurement (to refill a cache another emptied). */
  prime?: boolean;
  /** Arguments for the script's init(), made afresh for each measurement. */
  scriptArgs?: () => string[];
}

interface Measurement {
  rps: number;
  cpuUs: number;
  /** Log lines written per 1,000 requests. */
  logPerK: number;
  p50: number;
  p99: number;
  /** Answers other than 2xx and 3xx (a refusal by the read budget, a 429). */
  non2xx: number;
}

function ms(text: string | undefined): number {
  if (!text) return Number.NaN;
  const value = Number.parseFloat(text);
  return text.endsWith("us") ? value / 1000 : text.endsWith("ms") ? value : value * 1000;
}

async function measure(server: Server, s: Scenario, duration = DURATION): Promise<Measurement> {
  const linesBefore = logLines(server);
  const cpuBefore = cpuSeconds(server.pid);
  const args = [wrk as string, "-t1", `-c${s.connections ?? CONNECTIONS}`, `-d${duration}s`, "--latency"];
  if (s.script) args.push("-s", typeof s.script === "string" ? s.script : s.script(server));
  else args.push("-H", `x-api-key: ${DEV_KEY}`);
  args.push(`${server.base}${s.path}`, ...(s.scriptArgs?.() ?? []));
  const proc = Bun.spawn(pin(1, args), { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const cpu = cpuSeconds(server.pid) - cpuBefore;
  const rps = out.match(/Requests\/sec:\s+([\d.]+)/);
  const total = out.match(/(\d+) requests in/);
  const non2xx = out.match(/Non-2xx or 3xx responses:\s+(\d+)/);
  if (!rps || !total) throw new Error(`wrk printed no rate:\n${out}`);
  if (non2xx && !s.refusals) throw new Error(`${s.name}: ${non2xx[1]} non-2xx responses`);
  // Lines are written after each response; give the last ones a moment to land.
  await Bun.sleep(50);
  return {
    rps: Number(rps[1]),
    cpuUs: (cpu / Number(total[1])) * 1e6,
    logPerK: ((logLines(server) - linesBefore) / Number(total[1])) * 1000,
    p50: ms(out.match(/^\s+50%\s+(\S+)/m)?.[1]),
    p99: ms(out.match(/^\s+99%\s+(\S+)/m)?.[1]),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

type Results = { rps: number[]; cpuUs: number[]; ratio: number[]; cpuRatio: number[]; logPerK: number[] };

/**
 * Each round measures, on every server in turn, the baseline, then every scenario; ratios are
 * taken within a round on the same server. With two servers (BENCH_BASELINE_ROOT), each
 * scenario gets a row per checkout.
 */
async function compare(servers: Server[], baseline: Scenario, scenarios: Scenario[]) {
  const all = [baseline, ...scenarios];
  for (const server of servers) for (const s of all) await measure(server, s, 1);
  const results = new Map<Server, Map<Scenario, Results>>(
    servers.map((server) => [
      server,
      new Map(all.map((s) => [s, { rps: [], cpuUs: [], ratio: [], cpuRatio: [], logPerK: [] }])),
    ]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const server of servers) {
      const base = await measure(server, baseline);
      for (const s of all) {
        if (s.prime) await measure(server, s, 1);
        const m = s === baseline ? base : await measure(server, s);
        const r = results.get(server)!.get(s)!;
        r.rps.push(m.rps);
        r.cpuUs.push(m.cpuUs);
        r.ratio.push(m.rps / base.rps);
        r.cpuRatio.push(base.cpuUs / m.cpuUs);
        r.logPerK.push(m.logPerK);
      }
    }
  }
  const several = servers.length > 1;
  console.log(
    `| scenario |${several ? " checkout |" : ""} req/s | ratio (req/s) | server CPU µs/req | ratio (CPU) | log lines per 1k req |`,
  );
  console.log(`| --- |${several ? " --- |" : ""} ---: | ---: | ---: | ---: | ---: |`);
  for (const s of all) {
    for (const server of servers) {
      const r = results.get(server)!.get(s)!;
      console.log(
        `| ${s.name} |${several ? ` ${server.label} |` : ""} ${Math.round(median(r.rps))} | ${median(r.ratio).toFixed(2)} | ${median(r.cpuUs).toFixed(1)} | ${median(r.cpuRatio).toFixed(2)} | ${median(r.logPerK).toFixed(1)} |`,
      );
    }
  }
  return results;
}

const header = () =>
  console.log(
    `\nwrk, ${CONNECTIONS} connections unless noted, ${DURATION}s per measurement, ${ROUNDS} interleaved rounds` +
      `${taskset ? ", server and wrk pinned to separate cores" : ""}; medians. Ratios are against the` +
      " baseline measured in the same round; the CPU ratio divides server CPU time per request.\n",
  );

const BARE: Scenario = { name: "bare constant route (GET)", path: "/bench/bare" };
const EVENT_BODY = JSON.stringify({
  event_name: "api_call",
  external_customer_id: "cus_1",
  properties: { tokens: 3, region: "us" },
});

async function authSection(servers: Server[]) {
  console.log("\n## Authentication hot path");
  header();
  const randomKeys = Array.from({ length: 10_000 }, () => `${generateApiKey("sk", "test").slice(0, -8)}00000000`);
  await compare(servers, BARE, [
    { name: 'the bare route\'s constant behind { permission: "event:read" }, default key', path: "/bench/permission" },
    { name: "GET /v1/users/me, default config key", path: "/v1/users/me" },
    {
      name: "GET /v1/users/me, one stored key",
      path: "/v1/users/me",
      script: perServer((server) => script(`one-${server.label}`, { keys: [server.keys[0] as string] })),
    },
    {
      name: "GET /v1/users/me, 10,000 stored keys cycling (warm: all cached)",
      path: "/v1/users/me",
      script: perServer((server) => script(`warm-${server.label}`, { keys: server.keys.slice(0, 10_000) })),
      prime: true,
    },
    {
      name: "GET /v1/users/me, 20,000 stored keys cycling (cold: every request misses the 10,000-key cache)",
      path: "/v1/users/me",
      script: perServer((server) => script(`cold-${server.label}`, { keys: server.keys })),
    },
    {
      // From one address: past auth.failed_attempts.max_failures (30 a minute) they are 429s.
      name: "GET /v1/users/me, random well-formed keys from one address (401, refused before the store; 429 once over the failure budget)",
      path: "/v1/users/me",
      script: script("random", { keys: randomKeys }),
      refusals: true,
    },
  ]);
}

/**
 * Issue 29's goal (SPEC §14): a key with an auto-applied rate limit and credits answers at least
 * 0.9 of the same key's requests without them. The key without limits is the baseline of each
 * round, so the ratio is of two measurements side by side, not of two runs.
 */
async function limitsSection(servers: Server[]) {
  console.log("\n## Rate limits and credits on the hot path");
  header();
  await compare(
    servers,
    {
      name: "GET /v1/users/me, one stored key",
      path: "/v1/users/me",
      script: perServer((server) => script(`one-${server.label}`, { keys: [server.keys[0] as string] })),
    },
    [
      {
        name: "GET /v1/users/me, the same with an auto-applied rate limit and credits",
        path: "/v1/users/me",
        script: perServer((server) => script(`limited-${server.label}`, { keys: [server.limitedKey] })),
      },
    ],
  );
}

/**
 * The bulk baseline, as issue 13 fixes it: the same rows inserted in-process with better-sqlite3
 * (same Bun, WAL, synchronous=FULL like the server's default) into a table with only a primary
 * key, in 1,000-row transactions, holding as many rows as the server's store to begin with.
 */
function inProcessInserter(preload: number) {
  const dir = mkdtempSync(join(work, "inprocess-"));
  const db = openDatabase(join(dir, "events.db"));
  db.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, scope INTEGER NOT NULL, id TEXT NOT NULL,
    event_name TEXT NOT NULL, external_customer_id TEXT NOT NULL, customer_id TEXT, timestamp TEXT NOT NULL,
    source TEXT, properties TEXT NOT NULL, ingested_at TEXT NOT NULL) STRICT`);
  const insert = db.prepare(
    `INSERT INTO events (scope, id, event_name, external_customer_id, customer_id, timestamp, source, properties,
       ingested_at) VALUES (@scope, @id, @event_name, @external_customer_id, @customer_id, @timestamp, @source,
       @properties, @ingested_at)`,
  );
  const insertAll = db.transaction((rows: ReturnType<typeof prepareEvents>) => {
    for (const row of rows) insert.run(row);
  });
  for (let done = 0; done < preload; done += 10_000) {
    insertAll(prepareEvents(1, syntheticEvents(done, Math.min(10_000, preload - done))));
  }
  let total = preload;
  return {
    rate(seconds: number): number {
      let inserted = 0;
      const started = performance.now();
      while (performance.now() - started < seconds * 1000) {
        insertAll(prepareEvents(1, syntheticEvents(total + inserted, 1000)));
        inserted += 1000;
      }
      total += inserted;
      return inserted / ((performance.now() - started) / 1000);
    },
    close: () => db.close(),
  };
}

/** Single events, and the bare routes beside them, for each `events.durability`. */
async function ingestSection(servers: Server[]) {
  console.log("\n## Event ingestion");
  header();
  const processDurability = await startServer(
    "process",
    { BENCH_KEYS: "0", BENCH_DURABILITY: "process" },
    HERE,
    "events.durability: process",
  );
  try {
    await compare([...servers, processDurability], BARE, [
      {
        name: "bare POST reading and parsing the same JSON body",
        path: "/bench/bare-post",
        script: script("bare-post", { method: "POST", body: EVENT_BODY }),
      },
      {
        name: "POST /v1/events (validated, authorised, committed before 202)",
        path: "/v1/events",
        script: script("event", { method: "POST", body: EVENT_BODY }),
      },
    ]);
  } finally {
    await processDurability.stop();
  }
  await bulkSection();
}

/**
 * Bulk requests of 1,000 events on a store already holding BENCH_BULK_PRELOAD events, for each
 * durability, against the in-process baseline holding as many rows; then /health's latency
 * alone and beside bulk ingestion (what one request's commit costs everyone else).
 */
async function bulkSection() {
  console.log(
    `\nBulk: POST /v1/events/bulk with 1,000 events a request (4 connections, ${BULK_DURATION}s per measurement), on stores holding ${BULK_PRELOAD.toLocaleString("en")}` +
      " events, against inserting the same rows in-process with better-sqlite3 into a table with only a primary key" +
      " (same Bun, WAL, synchronous=FULL) in 1,000-row transactions, alternating.\n",
  );
  // Seeded once, copied for each durability.
  const seed = await startServer("bulk-seed", { BENCH_KEYS: "0", BENCH_EVENTS: String(BULK_PRELOAD) });
  await seed.stop();
  const seededDb = join(work, "bulk-seed.db");
  // Each request carries 1,000 new events from the generator the in-process baseline inserts
  // from (bench/synthetic.ts), so both sides store the same kind of rows. The body re-sent as is
  // gets a store of its own: re-sending the same timestamps piles every index's new entries onto
  // the same 1,000 spots, a worst case that would also slow the stores measured after it.
  let nextEvent = BULK_PRELOAD;
  const fresh: Scenario = {
    name: "bulk",
    path: "/v1/events/bulk",
    connections: 4,
    script: script("bulk", { method: "POST", lua: SYNTHETIC_BULK_LUA }),
    // Far enough apart that no two measurements send the same events.
    scriptArgs: () => [String((nextEvent += 1_000_000)), String(Date.now())],
  };
  const resent: Scenario = {
    name: "bulk, the same body",
    path: "/v1/events/bulk",
    connections: 4,
    script: script("bulk-same", { method: "POST", body: JSON.stringify({ events: syntheticEvents(0, 1000) }) }),
  };
  const runs: { durability: string; root: string; checkout: string; load: Scenario; label: string }[] = [
    { durability: "fsync", root: HERE, checkout: "this", load: fresh, label: "" },
    { durability: "process", root: HERE, checkout: "this", load: fresh, label: "" },
    ...(BASELINE_ROOT
      ? [{ durability: "fsync", root: BASELINE_ROOT, checkout: "baseline", load: fresh, label: " (baseline)" }]
      : []),
    {
      durability: "fsync",
      root: HERE,
      checkout: "same",
      load: resent,
      label: ", the same 1,000 events in every request",
    },
  ];
  const bulkServers: { server: Server; load: Scenario; rates: number[] }[] = [];
  for (const { durability, root, checkout, load, label } of runs) {
    const copy = join(work, `bulk-${durability}-${checkout}.db`);
    copyFileSync(seededDb, copy);
    const server = await startServer(
      `bulk-${durability}-${checkout}`,
      { BENCH_KEYS: "0", BENCH_DB: copy, BENCH_DURABILITY: durability },
      root,
      `events.durability: ${durability}${label}`,
    );
    bulkServers.push({ server, load, rates: [] });
  }
  const local = inProcessInserter(BULK_PRELOAD);
  const inProcess: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const { server, load, rates } of bulkServers) {
        rates.push((await measure(server, load, BULK_DURATION)).rps * 1000);
      }
      inProcess.push(local.rate(BULK_DURATION));
    }
    console.log("| path | events/s | ratio |");
    console.log("| --- | ---: | ---: |");
    console.log(`| in-process better-sqlite3, primary key only | ${Math.round(median(inProcess))} | 1.00 |`);
    for (const { server, rates } of bulkServers) {
      console.log(
        `| POST /v1/events/bulk, ${server.label} | ${Math.round(median(rates))} | ${(median(rates) / median(inProcess)).toFixed(2)} |`,
      );
    }
    await healthBeside(bulkServers[0]!.server, fresh, "bulk ingestion, 4 connections", BULK_DURATION);
  } finally {
    local.close();
    for (const { server } of bulkServers) await server.stop();
  }
}

async function querySection() {
  console.log(`\n## Queries with ${QUERY_EVENTS.toLocaleString("en")} stored events`);
  const seeded = performance.now();
  const server = await startServer("query", { BENCH_KEYS: "0", BENCH_EVENTS: String(QUERY_EVENTS) });
  console.log(
    `(stored in ${((performance.now() - seeded) / 1000).toFixed(0)} s; 4 connections, ${DURATION * 2}s each)\n`,
  );
  const now = Date.now();
  const day = 24 * 3600 * 1000;
  const iso = (t: number) => new Date(t).toISOString();
  const queries: [string, string, unknown][] = [
    ["newest 50 events", "/v1/events/query", { page_size: 50 }],
    ["one customer's newest 100", "/v1/events/query", { external_customer_id: "cus_42", page_size: 100 }],
    [
      "one event name, one day, property filter",
      "/v1/events/query",
      {
        event_name: "api_call",
        start_time: iso(now - 3 * day),
        end_time: iso(now - 2 * day),
        property_filters: { region: ["us"] },
      },
    ],
    [
      "usage: SUM per DAY, one customer, 30 days",
      "/v1/events/usage",
      {
        event_name: "tokens_used",
        external_customer_id: "cus_42",
        aggregation_type: "SUM",
        property_name: "tokens",
        start_time: iso(now - 30 * day),
        end_time: iso(now),
        window_size: "DAY",
      },
    ],
    [
      "usage: COUNT per HOUR, all customers, 1 day",
      "/v1/events/usage",
      {
        event_name: "api_call",
        aggregation_type: "COUNT",
        start_time: iso(now - 2 * day),
        end_time: iso(now - day),
        window_size: "HOUR",
      },
    ],
  ];
  console.log("| query | req/s | p50 ms | p99 ms |");
  console.log("| --- | ---: | ---: | ---: |");
  try {
    for (const [name, path, body] of queries) {
      const s: Scenario = {
        name,
        path,
        connections: 4,
        script: script(`q-${name.replace(/\W+/g, "-")}`, { method: "POST", body: JSON.stringify(body) }),
      };
      await measure(server, s, 1);
      const m = await measure(server, s, DURATION * 2);
      console.log(`| ${name} | ${Math.round(m.rps)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} |`);
    }
    await healthUnderLoad(server);
  } finally {
    await server.stop();
  }
}

/**
 * /health alone, then while 4 connections keep the heaviest query Tollgate allows running (a
 * property filter over every stored event, counted: a full scan, stopped by the read budget).
 * Event reads run on reader threads, so the main thread's answers should barely move.
 */
async function healthUnderLoad(server: Server) {
  await healthBeside(
    server,
    {
      name: "heaviest query",
      path: "/v1/events/query",
      connections: 4,
      // On a large store the budget stops it with a 400: that is the bound working.
      refusals: true,
      script: script("q-heaviest", {
        method: "POST",
        body: JSON.stringify({ property_filters: { region: ["us"], tokens: [1, 2, 3] }, page_size: 1000 }),
      }),
    },
    "the heaviest query",
  );
}

/** /health's latency alone, then while `load` runs: how long the main thread is kept from it. */
async function healthBeside(server: Server, load: Scenario, what: string, seconds = DURATION) {
  const health: Scenario = { name: "/health", path: "/health", connections: 1 };
  const idle = await measure(server, health, seconds);
  const background = measure(server, load, seconds + 2);
  await Bun.sleep(1000);
  const loaded = await measure(server, health, seconds);
  const h = await background;
  console.log("\n| /health | p50 ms | p99 ms |");
  console.log("| --- | ---: | ---: |");
  console.log(`| alone | ${idle.p50.toFixed(2)} | ${idle.p99.toFixed(2)} |`);
  console.log(
    `| beside ${what} (${h.rps.toFixed(1)} req/s, p50 ${h.p50.toFixed(0)} ms) | ${loaded.p50.toFixed(2)} | ${loaded.p99.toFixed(2)} |`,
  );
  console.log(`\n/health p99 beside ${what} / alone: ${(loaded.p99 / idle.p99).toFixed(1)}x`);
}

/**
 * Every list and search, with every filter, on a store of 400,000 audit rows and 100,000
 * customers (issue 23): what each list costs, and /health's p99 while 4 connections keep that
 * list running. Lists run on the reader threads under the read budget, so /health should not move.
 */
async function listsSection() {
  console.log(
    `\n## Lists beside /health: ${LIST_AUDIT_ROWS.toLocaleString("en")} audit rows, ${LIST_CUSTOMERS.toLocaleString("en")} customers, 10,000 service accounts, 50,000 webhook deliveries`,
  );
  const seeded = performance.now();
  const server = await startServer("lists", {
    BENCH_KEYS: "0",
    BENCH_AUDIT_ROWS: String(LIST_AUDIT_ROWS),
    BENCH_CUSTOMERS: String(LIST_CUSTOMERS),
    BENCH_ACCOUNTS: "10000",
    BENCH_WEBHOOK_EVENTS: "50000",
  });
  console.log(
    `(stored in ${((performance.now() - seeded) / 1000).toFixed(0)} s; each list 4 connections, ${DURATION}s)\n`,
  );
  const contains = (field: string, value: string) => ({
    filters: [{ field, operator: "contains", data_type: "string", value: { string: value } }],
  });
  const month = new Date(Date.now() - 30 * 86_400_000).toISOString();
  const lists: [string, string, string, unknown?][] = [
    ["audit: newest 50", "GET", "/v1/audit-logs"],
    ["audit: action", "GET", "/v1/audit-logs?action=user.sign_in_failed"],
    ["audit: action nobody used", "GET", "/v1/audit-logs?action=x"],
    ["audit: resource_type", "GET", "/v1/audit-logs?resource_type=customer"],
    ["audit: resource_id", "GET", "/v1/audit-logs?resource_id=res_42"],
    ["audit: actor_id", "GET", "/v1/audit-logs?actor_id=usr_7"],
    ["audit: last 30 days", "GET", `/v1/audit-logs?start_time=${month}`],
    ["audit: offset 390,000", "GET", "/v1/audit-logs?offset=390000&limit=10"],
    ["customers: newest 50", "GET", "/v1/customers"],
    ["customers: external_id", "GET", "/v1/customers?external_id=ext_4242"],
    ["customers: email", "GET", "/v1/customers?email=billing4242@example.com"],
    ["customers search: name contains", "POST", "/v1/customers/search", contains("name", "4242")],
    [
      "customers search: 100 external ids",
      "POST",
      "/v1/customers/search",
      {
        external_ids: Array.from({ length: 100 }, (_, i) => `ext_${i * 97}`),
      },
    ],
    ["customers search: sort by name", "POST", "/v1/customers/search", { sort: [{ field: "name", direction: "asc" }] }],
    ["customers search: offset 99,000", "POST", "/v1/customers/search", { offset: 99000, limit: 10 }],
    [
      "users search: service accounts, a role",
      "POST",
      "/v1/users/search",
      { type: "service_account", roles: ["event_reader"] },
    ],
    ["users search: name contains", "POST", "/v1/users/search", contains("name", "99")],
    ["keys", "GET", "/v1/secrets/api/keys"],
    ["webhook events: newest 50", "GET", "/v1/webhooks/events"],
    ["webhook events: type", "GET", "/v1/webhooks/events?type=invoice.paid"],
    ["environments", "GET", "/v1/environments"],
  ];
  const health: Scenario = { name: "/health", path: "/health", connections: 1 };
  try {
    await measure(server, health, 1);
    const idle = await measure(server, health, DURATION);
    console.log(`/health alone: p50 ${idle.p50.toFixed(2)} ms, p99 ${idle.p99.toFixed(2)} ms\n`);
    console.log(
      "| list | list req/s | list p50 ms | refused (400/429) | /health p50 ms beside | /health p99 ms beside |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
    let worst = 0;
    for (const [name, method, path, body] of lists) {
      const load: Scenario = {
        name,
        path,
        connections: 4,
        refusals: true,
        script: script(`l-${name.replace(/\W+/g, "-")}`, {
          method,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
      };
      // The reads the last list left queued (up to 4 per tenant, each stopped by the 1 s budget) finish first.
      await Bun.sleep(2500);
      const background = measure(server, load, DURATION + 2);
      await Bun.sleep(1000);
      const beside = await measure(server, health, DURATION);
      const l = await background;
      worst = Math.max(worst, beside.p99);
      const refused = l.non2xx > 0 ? `${l.non2xx}` : "0";
      console.log(
        `| ${name} | ${l.rps.toFixed(0)} | ${l.p50.toFixed(1)} | ${refused} | ${beside.p50.toFixed(2)} | ${beside.p99.toFixed(2)} |`,
      );
    }
    console.log(`\n/health p99 beside the worst list: ${worst.toFixed(2)} ms (goal: under 10 ms)`);
  } finally {
    await server.stop();
  }
}

/** A loopback port free right now (the OS picks it; Caddy binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Starts a process and waits for the port it writes to its ready file. */
async function startReady(name: string, command: string[], env: Record<string, string> = {}) {
  const readyFile = join(work, `${name}.ready.json`);
  const proc = Bun.spawn(command, {
    env: { ...process.env, BENCH_READY_FILE: readyFile, ...env },
    stdout: "ignore",
    stderr: "inherit",
  });
  for (let waited = 0; !existsSync(readyFile); waited += 50) {
    if (waited > 30_000) throw new Error(`${name} did not start`);
    await Bun.sleep(50);
  }
  await Bun.sleep(100);
  return { proc, port: JSON.parse(readFileSync(readyFile, "utf8")).port as number };
}

/** Caddy with a Caddyfile, in the foreground; resolves once it answers on `port`. */
async function startCaddy(name: string, caddyfile: string, port: number, env: Record<string, string>) {
  const home = join(work, `${name}-home`);
  const log = join(work, `${name}.log`);
  const proc = Bun.spawn(["caddy", "run", "--config", caddyfile, "--adapter", "caddyfile"], {
    env: { ...process.env, ...env, XDG_CONFIG_HOME: home, XDG_DATA_HOME: home, HOME: home },
    stdout: "ignore",
    stderr: Bun.file(log),
  });
  for (let waited = 0; ; waited += 50) {
    if (waited > 15_000 || proc.exitCode !== null) {
      throw new Error(`${name} did not start:\n${readFileSync(log, "utf8").split("\n").slice(-5).join("\n")}`);
    }
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      await Bun.sleep(50);
    }
  }
  return proc;
}

/**
 * Forward-auth (issue 24): through the real Caddy with the README's Caddyfile (docs/proxies/)
 * to an upstream that answers "ok", against the same Caddy proxying without forward_auth, in
 * alternating rounds; and GET /v1/auth/forward against GET / on the Tollgate server itself, with
 * the forward call's latency. wrk is pinned to one core; Tollgate to the other, which Caddy and
 * the upstream share with it.
 */
async function forwardSection() {
  if (!Bun.which("caddy")) {
    console.error("The forward section needs Caddy: apt-get install caddy");
    return;
  }
  console.log("\n## Forward-auth through Caddy");
  header();
  const rule = [{ path: "/", permission: "event:read" }];
  const server = await startServer("forward", { BENCH_KEYS: "1", BENCH_FORWARD_RULES: JSON.stringify(rule) });
  const upstream = await startReady("upstream", [process.execPath, join(HERE, "bench", "upstream.ts")]);
  const guardedPort = await freePort();
  const plainPort = await freePort();
  const tollgatePort = new URL(server.base).port;
  const guarded = await startCaddy("caddy-guarded", join(HERE, "docs", "proxies", "Caddyfile"), guardedPort, {
    LISTEN: `127.0.0.1:${guardedPort}`,
    TOLLGATE: `127.0.0.1:${tollgatePort}`,
    UPSTREAM: `127.0.0.1:${upstream.port}`,
  });
  // The same Caddyfile asking a Bun server that answers 200 to anything instead of Tollgate: what
  // forward_auth costs with an auth server that does no work, for comparison.
  // Pinned where Tollgate is, so both auth servers get the same core.
  const freeAuth = await startReady("free-auth", pin(0, [process.execPath, join(HERE, "bench", "upstream.ts")]));
  const ceilingPort = await freePort();
  const ceiling = await startCaddy("caddy-ceiling", join(HERE, "docs", "proxies", "Caddyfile"), ceilingPort, {
    LISTEN: `127.0.0.1:${ceilingPort}`,
    TOLLGATE: `127.0.0.1:${freeAuth.port}`,
    UPSTREAM: `127.0.0.1:${upstream.port}`,
  });
  const plainFile = join(work, "Caddyfile.plain");
  writeFileSync(
    plainFile,
    `{\n\tadmin off\n\tauto_https off\n}\nhttp://127.0.0.1:${plainPort} {\n\treverse_proxy 127.0.0.1:${upstream.port}\n}\n`,
  );
  const plain = await startCaddy("caddy-plain", plainFile, plainPort, {});
  const key = server.keys[0] as string;
  const keyScript = script("forward-key", { lua: `wrk.headers["x-api-key"] = "${key}"` });
  try {
    const through = (port: number, proc: { pid: number }): Server => ({
      ...server,
      base: `http://127.0.0.1:${port}`,
      pid: proc.pid,
    });
    const viaPlain = through(plainPort, plain);
    const viaGuarded = through(guardedPort, guarded);
    const proxied: Scenario = { name: "Caddy → upstream", path: "/orders/1", script: keyScript };
    const viaCeiling = through(ceilingPort, ceiling);
    const ratios = { guarded: [] as number[], ceiling: [] as number[] };
    const rates = { plain: [] as number[], guarded: [] as number[], ceiling: [] as number[] };
    for (const via of [viaPlain, viaGuarded, viaCeiling]) await measure(via, proxied, 1);
    for (let round = 0; round < ROUNDS; round++) {
      const without = await measure(viaPlain, proxied);
      const withAuth = await measure(viaGuarded, proxied);
      const free = await measure(viaCeiling, proxied);
      rates.plain.push(without.rps);
      rates.guarded.push(withAuth.rps);
      rates.ceiling.push(free.rps);
      ratios.guarded.push(withAuth.rps / without.rps);
      ratios.ceiling.push(free.rps / without.rps);
    }
    console.log("| through Caddy | req/s | ÷ reverse_proxy only |");
    console.log("| --- | ---: | ---: |");
    console.log(`| reverse_proxy only | ${Math.round(median(rates.plain))} | 1.00 |`);
    console.log(
      `| forward_auth to Tollgate, then reverse_proxy | ${Math.round(median(rates.guarded))} | **${median(ratios.guarded).toFixed(2)}** |`,
    );
    console.log(
      `| forward_auth to a Bun server answering 200 to anything (no work), then reverse_proxy | ${Math.round(median(rates.ceiling))} | ${median(ratios.ceiling).toFixed(2)} |`,
    );
    console.log(
      `\nwith forward-auth ÷ without: ${median(ratios.guarded).toFixed(2)} (goal ≥ 0.5); Tollgate ÷ the auth server that does no work: ${(median(rates.guarded) / median(rates.ceiling)).toFixed(2)}\n`,
    );

    const forward: Scenario = {
      name: "GET /v1/auth/forward, a stored key, one rule",
      path: "/v1/auth/forward",
      script: script("forward-direct", {
        lua: [
          `wrk.headers["x-api-key"] = "${key}"`,
          'wrk.headers["X-Forwarded-Method"] = "GET"',
          'wrk.headers["X-Forwarded-Uri"] = "/orders/1?page=2"',
          'wrk.headers["X-Forwarded-Host"] = "api.example.com"',
        ].join("\n"),
      }),
    };
    const cheapest: Scenario = { name: "GET / (the cheapest route: a redirect)", path: "/" };
    await compare([server], cheapest, [forward]);
    const latency = await measure(server, { ...forward, connections: 1 });
    console.log(
      `\nOne connection, one request at a time: GET /v1/auth/forward p50 ${latency.p50.toFixed(3)} ms, p99 ${latency.p99.toFixed(3)} ms`,
    );
  } finally {
    guarded.kill();
    ceiling.kill();
    plain.kill();
    upstream.proc.kill();
    freeAuth.proc.kill();
    await server.stop();
  }
}

/**
 * Whether a refused webhook delivery tells anything by its timing (SPEC §12): one request at a
 * time over loopback, the cases interleaved so drift touches all alike, each case's median
 * latency set beside the wrong-signature case's (an environment that has a secret).
 */
async function webhooksSection() {
  console.log("\n## Webhook refusals: timing");
  const server = await startServer("webhooks", {
    BENCH_KEYS: "0",
    BENCH_SECRETS_ENCRYPTION_KEY: "5f".repeat(32),
    BENCH_MAX_FAILED_ATTEMPTS: "0",
  });
  try {
    const secret = "whsec_BenchWebhookSigningSecret000001";
    const saved = await fetch(`${server.base}/v1/secrets/integrations/create/stripe`, {
      method: "POST",
      headers: { "x-api-key": DEV_KEY, "content-type": "application/json" },
      body: JSON.stringify({
        name: "stripe",
        // Real sizes: Stripe's live keys run to ~107 characters.
        credentials: {
          secret_key: `sk_live_${"7".repeat(99)}`,
          publishable_key: `pk_live_${"3".repeat(99)}`,
          webhook_secret: secret,
        },
      }),
    });
    if (saved.status !== 201) throw new Error(`saving the stripe secret: ${saved.status} ${await saved.text()}`);
    const dev = ((await saved.json()) as { environment_id: string }).environment_id;
    const tenant = "00000000-0000-0000-0000-000000000000";
    const listed = await fetch(`${server.base}/v1/environments`, { headers: { "x-api-key": DEV_KEY } });
    const envs = ((await listed.json()) as { items: { id: string }[] }).items;
    const noSecret = envs.find((e) => e.id !== dev)?.id as string;
    const payload = JSON.stringify({ id: "evt_bench", object: "event", type: "invoice.paid", data: { object: {} } });
    const sign = (key: string, t: number) =>
      `t=${t},v1=${createHmac("sha256", key).update(`${t}.${payload}`).digest("hex")}`;
    const now = () => Math.floor(Date.now() / 1000);
    const cases: { name: string; url: string; signature: () => string | null }[] = [
      {
        name: "wrong signature, environment with a secret",
        url: `${tenant}/${dev}`,
        signature: () => sign("whsec_wrong", now()),
      },
      // The same case again: how far two identical cases' medians land apart, the noise floor.
      { name: "the same case again (control)", url: `${tenant}/${dev}`, signature: () => sign("whsec_wrong", now()) },
      { name: "unknown tenant", url: `tenant-nobody/${dev}`, signature: () => sign(secret, now()) },
      { name: "environment without a secret", url: `${tenant}/${noSecret}`, signature: () => sign(secret, now()) },
      { name: "stale timestamp, right secret", url: `${tenant}/${dev}`, signature: () => sign(secret, now() - 600) },
      { name: "no Stripe-Signature header", url: `${tenant}/${dev}`, signature: () => null },
      { name: "valid (a repeat: 200, duplicate)", url: `${tenant}/${dev}`, signature: () => sign(secret, now()) },
    ];
    const samples = cases.map(() => [] as number[]);
    const statuses = cases.map(() => new Set<number>());
    const order = cases.map((_, c) => c);
    for (let i = 0; i < WEBHOOK_SAMPLES + 200; i++) {
      // A new order each round, so no case always follows the same one (a write, a GC).
      for (let k = order.length - 1; k > 0; k--) {
        const j = Math.floor(Math.random() * (k + 1));
        [order[k], order[j]] = [order[j]!, order[k]!];
      }
      for (const c of order) {
        const item = cases[c]!;
        const signature = item.signature();
        const headers: Record<string, string> = signature === null ? {} : { "stripe-signature": signature };
        const started = performance.now();
        const res = await fetch(`${server.base}/v1/webhooks/stripe/${item.url}`, {
          method: "POST",
          headers,
          body: payload,
        });
        await res.arrayBuffer();
        const took = (performance.now() - started) * 1000;
        // The first 200 rounds warm the JIT and connections; not counted.
        if (i >= 200) samples[c]!.push(took);
        statuses[c]!.add(res.status);
      }
    }
    const reference = median(samples[0]!);
    console.log(
      `\n${WEBHOOK_SAMPLES} sequential requests per case over loopback, interleaved in a random order; median latency and its difference` +
        " from the first case (a refusal by an environment that has a secret).\n",
    );
    console.log("| case | statuses | median µs | p90 µs | Δ median µs |");
    console.log("| --- | --- | ---: | ---: | ---: |");
    for (const [c, item] of cases.entries()) {
      const sorted = [...samples[c]!].sort((a, b) => a - b);
      const p90 = sorted[Math.floor(sorted.length * 0.9)] as number;
      const m = median(sorted);
      console.log(
        `| ${item.name} | ${[...statuses[c]!].join(", ")} | ${m.toFixed(1)} | ${p90.toFixed(1)} | ${(m - reference).toFixed(1)} |`,
      );
    }
  } finally {
    await server.stop();
  }
}

/**
 * The same checkout on each store engine, side by side in every round: the embedded SQLite file
 * and a PostgreSQL cluster on this machine with its durable defaults (fsync, synchronous commit;
 * Debian's binaries, a Unix socket). The CPU column counts Tollgate's process only: PostgreSQL's
 * own backends are not in it.
 */
async function enginesSection() {
  console.log("\n## Store engines: SQLite and PostgreSQL");
  header();
  const cluster = startCluster({ durable: true });
  try {
    const url = await createDatabase(cluster.adminUrl, "tollgate_bench");
    const servers = [
      await startServer("engine-sqlite", {}, HERE, "SQLite"),
      await startServer("engine-postgres", { BENCH_DATABASE_URL: url }, HERE, "PostgreSQL"),
    ];
    let nextEvent = 0;
    try {
      await compare(servers, BARE, [
        { name: 'constant behind { permission: "event:read" }, default key', path: "/bench/permission" },
        { name: "GET /v1/users/me, default config key", path: "/v1/users/me" },
        {
          name: "GET /v1/users/me, 10,000 stored keys cycling (warm: all cached)",
          path: "/v1/users/me",
          script: perServer((server) => script(`engine-warm-${server.label}`, { keys: server.keys.slice(0, 10_000) })),
          prime: true,
        },
        {
          name: "GET /v1/users/me, 20,000 stored keys cycling (cold: a store lookup each)",
          path: "/v1/users/me",
          script: perServer((server) => script(`engine-cold-${server.label}`, { keys: server.keys })),
        },
        {
          name: "POST /v1/events, one event, committed before 202",
          path: "/v1/events",
          script: script("engine-event", { method: "POST", body: EVENT_BODY }),
        },
        {
          name: "POST /v1/events/bulk, 1,000 new events a request (4 connections)",
          path: "/v1/events/bulk",
          connections: 4,
          script: script("engine-bulk", { method: "POST", lua: SYNTHETIC_BULK_LUA }),
          scriptArgs: () => [String((nextEvent += 1_000_000)), String(Date.now())],
        },
      ]);
    } finally {
      for (const server of servers) await server.stop();
    }
  } finally {
    cluster.stop();
  }
}

try {
  if (sections.includes("auth") || sections.includes("limits") || sections.includes("ingest")) {
    const servers = [await startServer("main")];
    if (BASELINE_ROOT) servers.push(await startServer("baseline", {}, BASELINE_ROOT, "baseline"));
    try {
      if (sections.includes("auth")) await authSection(servers);
      if (sections.includes("limits")) await limitsSection(servers);
      if (sections.includes("ingest")) await ingestSection(servers);
    } finally {
      for (const server of servers) await server.stop();
    }
  }
  if (sections.includes("query")) await querySection();
  if (sections.includes("lists")) await listsSection();
  if (sections.includes("forward")) await forwardSection();
  if (sections.includes("webhooks")) await webhooksSection();
  if (sections.includes("engines")) await enginesSection();
} finally {
  rmSync(work, { recursive: true, force: true });
}
