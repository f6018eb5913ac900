// A store that cannot keep what it is given is noticed (issue 9, item 8): the database files
// deleted or replaced under a running server, a full disk, a write SQLite refuses. `/health`
// answers 503 and writes answer 503 `service_unavailable` instead of a 201/202 that a restart
// would lose, or a 500.
import { afterEach, describe, expect, test } from "bun:test";
import Database from "better-sqlite3";
import { copyFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createTollgate, type Tollgate } from "../src/app";
import { type Config, DEFAULT_CONFIG } from "../src/config";
import { openDatabase, SqliteStore } from "../src/db";
import { DISK_FULL_BYTES, StoreHealth } from "../src/db/health";
import { createLogger } from "../src/http/logging";
import { callApp, type CallResult, createHarness, DEV_KEY, errorOf, type Harness, sqliteOf } from "./support/harness";
import { runToEnd, SOURCE_CLI, startServer } from "./support/process";
import { tempDir } from "./support/temp";

const open: Tollgate[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

interface FileHarness extends Harness {
  dbPath: string;
}

/** The harness on a store file of its own (the event writer then runs on its thread, as in production). */
async function fileHarness(): Promise<FileHarness> {
  const dir = tempDir("store-");
  const dbPath = join(dir, "tollgate.db");
  const config = structuredClone(DEFAULT_CONFIG) as Config;
  config.database.path = dbPath;
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger("debug", { sink: (line) => logs.push(JSON.parse(line)) });
  const tollgate = await createTollgate({ config, store: new SqliteStore(openDatabase(dbPath)), logger });
  open.push(tollgate);
  return { ...tollgate, logs, dbPath, call: (method, path, options) => callApp(tollgate.app, method, path, options) };
}

/**
 * Until the event threads have their connections open, as on a server that has been up for a
 * while: a thread opens the store when it starts, and one that starts after the files are gone
 * creates a new, empty file at the path.
 */
async function threadsOpen(h: Harness) {
  expect(
    (await h.call("POST", "/v1/events", { body: { event_name: "warm_up", external_customer_id: "w" } })).status,
  ).toBe(202);
  // Two at once: each goes to the reader thread with less to do, so both threads answer one.
  const reads = await Promise.all([1, 2].map(() => h.call("POST", "/v1/events/query", { body: {} })));
  expect(reads.map((r) => r.status)).toEqual([200, 200]);
}

async function memoryHarness(): Promise<Harness> {
  const h = await createHarness();
  open.push(h);
  return h;
}

function expectUnavailable(res: CallResult, problem?: string) {
  expect(res.status).toBe(503);
  const error = errorOf(res);
  expect(error.internal_error).toBe("service_unavailable");
  if (problem !== undefined) expect(error.details?.problem).toBe(problem);
  return error;
}

const countCustomers = async (h: Harness) =>
  ((await h.context.db.get("SELECT count(*) AS n FROM customers")) as { n: number }).n;
const countEvents = async (h: Harness) =>
  ((await h.context.db.get("SELECT count(*) AS n FROM events WHERE event_name != 'warm_up'")) as { n: number }).n;

/** One of each kind of write, each of which must be refused. */
async function everyWrite(h: Harness): Promise<CallResult[]> {
  return [
    await h.call("POST", "/v1/customers", { body: { external_id: "after", name: "After" } }),
    await h.call("POST", "/v1/secrets/api/keys", { body: { name: "after" } }),
    await h.call("POST", "/v1/events", { body: { event_name: "api_call", external_customer_id: "after" } }),
    await h.call("POST", "/v1/events/bulk", {
      body: { events: [{ event_name: "api_call", external_customer_id: "after" }] },
    }),
    await h.call("PUT", "/v1/customers/cust_unknown", { body: { name: "x" } }),
    await h.call("DELETE", "/v1/customers/cust_unknown"),
  ];
}

describe("the store file deleted or replaced under a running server", () => {
  test("/health is 200 with the store in place", async () => {
    const h = await fileHarness();
    const res = await h.call("GET", "/health", { key: null });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("ok");
  });

  test("tollgate.db, -wal and -shm deleted: /health 503, every write 503 before it is made", async () => {
    const h = await fileHarness();
    await threadsOpen(h);
    expect((await h.call("POST", "/v1/customers", { body: { external_id: "before", name: "Before" } })).status).toBe(
      201,
    );
    for (const suffix of ["", "-wal", "-shm"]) rmSync(h.dbPath + suffix);

    const health = expectUnavailable(await h.call("GET", "/health", { key: null }), "store_missing");
    expect(health.message).toContain("deleted");
    expect(health.message).toMatch(/restart/i);
    for (const res of await everyWrite(h)) expectUnavailable(res, "store_missing");
    // Nothing was written into the orphaned file either.
    expect(await countCustomers(h)).toBe(1);
    expect(await countEvents(h)).toBe(0);
    // Reads go on from the file still open; read-only POSTs are not writes.
    expect((await h.call("GET", "/v1/customers")).status).toBe(200);
    expect((await h.call("POST", "/v1/events/query", { body: {} })).status).toBe(200);
    expect((await h.call("POST", "/v1/customers/search", { body: {} })).status).toBe(200);
    // A write still answers to its credential and its body first.
    expect((await h.call("POST", "/v1/customers", { key: null, body: { external_id: "x" } })).status).toBe(401);
    const logged = h.logs.filter((entry) => entry.msg === "store unusable");
    expect(logged.length).toBe(1);
    expect(logged[0]?.path).toBe(h.dbPath);
  });

  test("a new file moved in at the same path: /health 503 and writes 503", async () => {
    const h = await fileHarness();
    await threadsOpen(h);
    const copy = `${h.dbPath}.copy`;
    copyFileSync(h.dbPath, copy);
    renameSync(copy, h.dbPath);

    const health = expectUnavailable(await h.call("GET", "/health", { key: null }), "store_replaced");
    expect(health.message).toContain("replaced");
    for (const res of await everyWrite(h)) expectUnavailable(res, "store_replaced");
    expect(await countCustomers(h)).toBe(0);
  });

  test("only the write-ahead log deleted: /health 503 and writes 503", async () => {
    const h = await fileHarness();
    await threadsOpen(h);
    rmSync(`${h.dbPath}-wal`);
    const health = expectUnavailable(await h.call("GET", "/health", { key: null }), "store_missing");
    expect(health.message).toContain("tollgate.db-wal");
    expectUnavailable(await h.call("POST", "/v1/customers", { body: { external_id: "a", name: "A" } }));
  });

  test("the real server: files deleted, 503s, nothing acknowledged; a restart serves a new store", async () => {
    const json = { "X-API-Key": DEV_KEY, "Content-Type": "application/json" };
    const first = await startServer();
    const dbPath = join(first.dir, "tollgate.db");
    try {
      const before = await fetch(`${first.baseUrl}/v1/customers`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ external_id: "before", name: "Before" }),
      });
      expect(before.status).toBe(201);
      // The event threads have their connections open (see threadsOpen).
      const event = await fetch(`${first.baseUrl}/v1/events`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ event_name: "warm_up", external_customer_id: "w" }),
      });
      expect(event.status).toBe(202);
      const reads = await Promise.all(
        [1, 2].map(() => fetch(`${first.baseUrl}/v1/events/query`, { method: "POST", headers: json, body: "{}" })),
      );
      expect(reads.map((r) => r.status)).toEqual([200, 200]);
      for (const suffix of ["", "-wal", "-shm"]) rmSync(dbPath + suffix);

      const health = await fetch(`${first.baseUrl}/health`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as any).error.internal_error).toBe("service_unavailable");
      const healthcheck = await runToEnd([...SOURCE_CLI, "healthcheck", "--url", first.baseUrl]);
      expect(healthcheck.code).toBe(1);

      const writes = [
        ["/v1/customers", { external_id: "after", name: "After" }],
        ["/v1/secrets/api/keys", { name: "after" }],
        ["/v1/events", { event_id: "after", event_name: "api_call", external_customer_id: "after" }],
      ] as const;
      for (const [path, body] of writes) {
        const res = await fetch(`${first.baseUrl}${path}`, {
          method: "POST",
          headers: json,
          body: JSON.stringify(body),
        });
        expect(res.status).toBe(503);
        expect(((await res.json()) as any).error.internal_error).toBe("service_unavailable");
      }
    } finally {
      expect(await first.stop()).toBe(0);
    }

    const second = await startServer({ dir: first.dir });
    try {
      expect((await fetch(`${second.baseUrl}/health`)).status).toBe(200);
      const after = await fetch(`${second.baseUrl}/v1/customers`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ external_id: "after", name: "After" }),
      });
      expect(after.status).toBe(201);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});

describe("a write SQLite cannot make durable", () => {
  test("SQLITE_FULL from a service: 503 service_unavailable, /health 503 until a write succeeds", async () => {
    const h = await memoryHarness();
    const db = sqliteOf(h);
    db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true })}`);
    const statuses: number[] = [];
    let refused: CallResult | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const res = await h.call("POST", "/v1/customers", {
        body: { external_id: `c${i}`, name: "x".repeat(250) },
      });
      statuses.push(res.status);
      if (res.status !== 201) refused = res;
    }
    expect(refused).toBeDefined();
    const error = expectUnavailable(refused as CallResult, "disk_full");
    expect(error.message).toContain("full");
    expect(error.message).not.toContain("SQLITE");
    expect(statuses.filter((s) => s !== 201)).toEqual([503]);
    expect(h.logs.some((entry) => entry.msg === "unhandled error" && entry.error === "database or disk is full")).toBe(
      true,
    );

    // Events, single (the group-commit writer) and bulk, get the same answer.
    expectUnavailable(
      await h.call("POST", "/v1/events", {
        body: { event_name: "api_call", external_customer_id: "c", properties: { p: "z".repeat(5000) } },
      }),
      "disk_full",
    );
    expectUnavailable(
      await h.call("POST", "/v1/events/bulk", {
        body: {
          events: Array.from({ length: 20 }, () => ({
            event_name: "api_call",
            external_customer_id: "c",
            properties: { p: "z".repeat(5000) },
          })),
        },
      }),
      "disk_full",
    );

    const health = expectUnavailable(await h.call("GET", "/health", { key: null }), "disk_full");
    expect(health.message).toContain("last write");

    db.pragma("max_page_count = 1073741823");
    expect((await h.call("GET", "/health", { key: null })).status).toBe(503);
    expect((await h.call("POST", "/v1/customers", { body: { external_id: "ok", name: "Ok" } })).status).toBe(201);
    expect((await h.call("GET", "/health", { key: null })).status).toBe(200);
  });

  test("a read-only store (SQLITE_READONLY): 503 read_only", async () => {
    const h = await memoryHarness();
    sqliteOf(h).pragma("query_only = ON");
    expectUnavailable(await h.call("POST", "/v1/customers", { body: { external_id: "a", name: "A" } }), "read_only");
    expectUnavailable(await h.call("GET", "/health", { key: null }), "read_only");
  });

  test("an error carrying an SQLite I/O code (the event writer's rejection): 503 io_error; a plain error stays 500", async () => {
    const h = await memoryHarness();
    const events = h.context.events as unknown as { write: (...args: unknown[]) => Promise<number> };
    events.write = async () => {
      throw Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR_FSYNC" });
    };
    const body = { event_name: "api_call", external_customer_id: "c" };
    const error = expectUnavailable(await h.call("POST", "/v1/events", { body }), "io_error");
    expect(error.message).not.toContain("disk I/O error");
    expectUnavailable(await h.call("GET", "/health", { key: null }), "io_error");

    events.write = async () => {
      throw new Error("something else");
    };
    const crash = await h.call("POST", "/v1/events", { body });
    expect(crash.status).toBe(500);
    expect(errorOf(crash).internal_error).toBe("internal_error");
  });
});

describe("a store busy beyond the busy timeout (another process holding the write lock)", () => {
  test("503 service_unavailable with Retry-After, and /health stays 200: busy is not broken", async () => {
    const h = await memoryHarness();
    const events = h.context.events as unknown as { write: (...args: unknown[]) => Promise<number> };
    events.write = async () => {
      throw Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
    };
    const res = await h.call("POST", "/v1/events", { body: { event_name: "api_call", external_customer_id: "c" } });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(errorOf(res)).toEqual({
      message: "The store is busy (another process is writing to it); retry shortly",
      internal_error: "service_unavailable",
      details: { problem: "busy", retry_after_seconds: 1 },
    });
    expect((await h.call("GET", "/health", { key: null })).status).toBe(200);
    expect(h.logs.some((e) => e.msg === "unhandled error")).toBe(false);
  });

  test("for real: another connection holds the write lock past the busy timeout, a customer write is 503", async () => {
    const h = await fileHarness();
    // The server waits 5 s for a lock; a short wait keeps the test fast and changes nothing else.
    sqliteOf(h).pragma("busy_timeout = 50");
    const other = new Database(h.dbPath);
    other.exec("BEGIN IMMEDIATE");
    try {
      const res = await h.call("POST", "/v1/customers", { body: { external_id: "acme" } });
      expect(res.status).toBe(503);
      expect(errorOf(res).details).toEqual({ problem: "busy", retry_after_seconds: 1 });
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    expect((await h.call("GET", "/health", { key: null })).status).toBe(200);
    expect((await h.call("POST", "/v1/customers", { body: { external_id: "acme" } })).status).toBe(201);
  });
});

describe("StoreHealth", () => {
  const statfsWith = (freeBytes: number) => () => ({
    bsize: 4096,
    bavail: Math.floor(freeBytes / 4096),
    bfree: Math.floor(freeBytes / 4096),
  });

  function fileStore(): string {
    const path = join(tempDir("health-"), "tollgate.db");
    openDatabase(path).close();
    return path;
  }

  test("disk full below the threshold, fine above it", () => {
    const path = fileStore();
    const full = new StoreHealth(path, { statfs: statfsWith(DISK_FULL_BYTES - 4096) }).check();
    expect(full.ok).toBe(false);
    if (!full.ok) {
      expect(full.problem).toBe("disk_full");
      expect(full.message).toBe("The disk holding the database is full");
    }
    expect(new StoreHealth(path, { statfs: statfsWith(DISK_FULL_BYTES * 4) }).check()).toEqual({ ok: true });
  });

  test("the disk is not looked at for each write, only the files", () => {
    const path = fileStore();
    const health = new StoreHealth(path, { statfs: statfsWith(0) });
    expect(health.fileProblem()).toEqual({ ok: true });
    rmSync(path);
    expect(health.fileProblem().ok).toBe(false);
  });

  test("a recorded failure holds until a write succeeds, or for a while with no write", () => {
    let now = 1_000_000;
    const health = new StoreHealth(null, { now: () => now });
    expect(health.check()).toEqual({ ok: true });
    health.recordFailure("SQLITE_FULL");
    expect(health.check().ok).toBe(false);
    health.writeSucceeded();
    expect(health.check()).toEqual({ ok: true });

    health.recordFailure("SQLITE_IOERR_WRITE");
    now += StoreHealth.FAILURE_HOLD_MS - 1;
    expect(health.check().ok).toBe(false);
    now += 1;
    // Long enough that a server a load balancer took out of rotation gets writes again.
    expect(health.check()).toEqual({ ok: true });
  });

  test("an in-memory store has no file to lose", () => {
    expect(new StoreHealth(null).fileProblem()).toEqual({ ok: true });
    expect(new StoreHealth(null).check()).toEqual({ ok: true });
  });
});

// A real full disk: the server in a mount namespace of its own with its store on a small tmpfs,
// filled from outside through nsenter. Needs root (for unshare --mount), like test/binary.test.ts.
const canMount =
  process.getuid?.() === 0 &&
  Bun.which("unshare") !== null &&
  Bun.which("mount") !== null &&
  Bun.which("nsenter") !== null;

describe.skipIf(!canMount)("a full disk under the real server", () => {
  test("writes 503 (never 500) and are not stored, /health 503; space freed, a write, 200 again", async () => {
    const dir = tempDir("full-");
    const server = await startServer({
      dir,
      cwd: tempDir("full-cwd-"),
      command: [
        Bun.which("unshare") as string,
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        `${Bun.which("mount")} -t tmpfs -o size=16m tmpfs "$0" && exec "$@"`,
        dir,
        ...SOURCE_CLI,
        "serve",
      ],
    });
    const inServer = (script: string) =>
      runToEnd([
        Bun.which("nsenter") as string,
        "-t",
        String(server.proc.pid),
        "-m",
        "--",
        "/bin/sh",
        "-c",
        script,
        dir,
      ]);
    const json = { "X-API-Key": DEV_KEY, "Content-Type": "application/json" };
    const post = (path: string, body: unknown) =>
      fetch(`${server.baseUrl}${path}`, { method: "POST", headers: json, body: JSON.stringify(body) });
    try {
      expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
      await inServer('dd if=/dev/zero of="$0/filler" bs=65536 2>/dev/null; true');

      const health = await fetch(`${server.baseUrl}/health`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as any).error.details.problem).toBe("disk_full");

      const answered = new Map<string, number>();
      for (let i = 0; i < 40; i++) {
        const res = await post("/v1/customers", { external_id: `c${i}`, name: "x".repeat(200) });
        answered.set(`c${i}`, res.status);
        if (res.status === 503) expect(((await res.json()) as any).error.internal_error).toBe("service_unavailable");
        else await res.body?.cancel();
      }
      const statuses = new Set(answered.values());
      expect([...statuses].every((s) => s === 201 || s === 503)).toBe(true);
      expect(statuses.has(503)).toBe(true);
      const event = await post("/v1/events", {
        event_id: "full",
        event_name: "api_call",
        external_customer_id: "c",
        properties: { p: "z".repeat(20_000) },
      });
      expect(event.status).toBe(503);
      expect(((await event.json()) as any).error.internal_error).toBe("service_unavailable");

      await inServer('rm "$0/filler"');
      // Space again, but the last write failed: unhealthy until one succeeds.
      expect((await fetch(`${server.baseUrl}/health`)).status).toBe(503);
      expect((await post("/v1/customers", { external_id: "after", name: "After" })).status).toBe(201);
      expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);

      // What was answered 201 is stored; what was answered 503 is not.
      const list = await fetch(`${server.baseUrl}/v1/customers?limit=1000`, { headers: json });
      const stored = new Set(((await list.json()) as any).items.map((c: { external_id: string }) => c.external_id));
      for (const [id, status] of answered) expect(stored.has(id)).toBe(status === 201);
      expect((await fetch(`${server.baseUrl}/v1/events/full`, { headers: json })).status).toBe(404);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
