// Issue 9, items 1, 3, 5, 6 and the property_filters part of 9: one caller's event reads and
// writes must not cost, or fail, anyone else's.
import { describe, expect, spyOn, test } from "bun:test";
import { join } from "node:path";
import { createTollgate } from "../src/app";
import { DEFAULT_CONFIG } from "../src/config";
import { openDatabase, type Queries, SqliteStore } from "../src/db";
import { STATEMENT_CACHE_SIZE } from "../src/db/sqlite/store";
import { StoreHealth } from "../src/db/health";
import { createLogger } from "../src/http/logging";
import { ApiError } from "../src/http/errors";
import { MAX_FILTER_VALUES, MAX_PROPERTY_FILTERS, MAX_USAGE_WINDOWS } from "../src/modules/events/model";
import { eventsTooExpensive } from "../src/modules/events/model";
import type { EventRow } from "../src/modules/events/model";
import { StoreReaders, MAX_READS_PER_TENANT } from "../src/reads/pool";
import { scopeKeyFor } from "../src/modules/events/scopes";
import * as bulk from "../src/modules/events/bulk";
import { commitBatch, type InsertEvents, insertEventsInto, insertEventsIntoSqlite } from "../src/modules/events/store";
import { EventWriter } from "../src/modules/events/writer";
import {
  callApp,
  createHarness,
  DEFAULT_TENANT,
  errorOf,
  type Harness,
  sqliteOf,
  sqliteStoreOf,
} from "./support/harness";
import { environmentOf, issueTestKey } from "./support/keys";
import { tempDir } from "./support/temp";

const readerKey = async (h: Harness) => (await issueTestKey(h, { roles: ["event_reader"] })).apiKey;
const filtersOf = (count: number, prefix = "p") =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, ["x"]]));

describe("reads cannot grow memory: fixed-shape SQL, a bounded statement cache (item 1)", () => {
  test("queries with 1 to 20 property filters compile no new statement after the first", async () => {
    const h = await createHarness();
    const key = await readerKey(h);
    // With no event in the environment a query returns before any SQL: store one.
    expect((await h.call("POST", "/v1/events", { body: { event_name: "e", external_customer_id: "c" } })).status).toBe(
      202,
    );
    const query = (body: unknown) => h.call("POST", "/v1/events/query", { key, body });
    expect((await query({ property_filters: filtersOf(1) })).status).toBe(200);
    const compiled = sqliteStoreOf(h).cachedStatementCount;
    for (let n = 1; n <= MAX_PROPERTY_FILTERS; n++) {
      const res = await query({ property_filters: filtersOf(n, `k${n}_`) });
      expect(res.status).toBe(200);
    }
    expect(sqliteStoreOf(h).cachedStatementCount).toBe(compiled);
  });

  test("however many distinct statements are asked for, the cache holds at most its size", async () => {
    const h = await createHarness();
    const key = await readerKey(h);
    expect((await h.call("POST", "/v1/events", { body: { event_name: "e", external_customer_id: "c" } })).status).toBe(
      202,
    );
    // Every combination of the optional filters is its own SQL text; cycle through many of them.
    const optional = ["event_name", "external_customer_id", "source", "event_id"] as const;
    for (let mask = 0; mask < 16; mask++) {
      for (const order of ["asc", "desc"]) {
        const body: Record<string, unknown> = { order };
        optional.forEach((field, bit) => {
          if (mask & (1 << bit)) body[field] = "v";
        });
        expect((await h.call("POST", "/v1/events/query", { key, body })).status).toBe(200);
      }
    }
    expect(sqliteStoreOf(h).cachedStatementCount).toBeLessThanOrEqual(STATEMENT_CACHE_SIZE);
    // Shrink the bound's effect into view: the cache is an LRU, not a map that only grows.
    const db = h.context.db;
    for (let i = 0; i < STATEMENT_CACHE_SIZE + 50; i++) await db.get(`SELECT ${i} AS n`);
    expect(sqliteStoreOf(h).cachedStatementCount).toBe(STATEMENT_CACHE_SIZE);
  });

  test("property_filters are capped, in the body and in the query string, with a 400 (never a 500)", async () => {
    const h = await createHarness();
    const key = await readerKey(h);
    const tooMany = filtersOf(MAX_PROPERTY_FILTERS + 1);
    const thousand = filtersOf(1000);
    const tooManyValues = { region: Array.from({ length: MAX_FILTER_VALUES + 1 }, (_, i) => `r${i}`) };
    const longValue = { region: ["x".repeat(256)] };
    for (const property_filters of [tooMany, thousand, tooManyValues, longValue]) {
      const body = await h.call("POST", "/v1/events/query", { key, body: { property_filters } });
      expect(body.status).toBe(400);
      expect(Object.keys(errorOf(body).details ?? {}).join()).toContain("property_filters");
      const param = encodeURIComponent(JSON.stringify(property_filters));
      const query = await h.call("GET", `/v1/events?property_filters=${param}`, { key });
      expect(query.status).toBe(400);
      expect(errorOf(query).details).toHaveProperty("property_filters");
    }
    const atLimit = await h.call("POST", "/v1/events/query", {
      key,
      body: { property_filters: filtersOf(MAX_PROPERTY_FILTERS) },
    });
    expect(atLimit.status).toBe(200);
  });

  test("the fixed-shape filter keeps its meaning: every property must hold one of its values", async () => {
    const h = await createHarness();
    const events = [
      { event_id: "a", properties: { region: "us", tier: 1 } },
      { event_id: "b", properties: { region: "eu", tier: 2 } },
      { event_id: "c", properties: { region: "us", tier: 2, flag: true } },
      { event_id: "d", properties: {} },
    ].map((e) => ({ event_name: "api", external_customer_id: "c1", ...e }));
    expect((await h.call("POST", "/v1/events/bulk", { body: { events } })).status).toBe(202);
    const ids = async (property_filters: unknown) => {
      const res = await h.call("POST", "/v1/events/query", { body: { property_filters, order: "asc" } });
      expect(res.status).toBe(200);
      return res.body.events.map((e: { id: string }) => e.id);
    };
    expect(await ids({ region: ["us"] })).toEqual(["a", "c"]);
    expect(await ids({ region: ["us", "eu"], tier: [2] })).toEqual(["b", "c"]);
    expect(await ids({ flag: [true] })).toEqual(["c"]);
    expect(await ids({ missing: ["x"] })).toEqual([]);
    expect(await ids({})).toEqual(["a", "b", "c", "d"]);
  });
});

const row = (scope: number, id: string, properties = "{}"): EventRow => ({
  scope,
  id,
  event_name: "api",
  external_customer_id: "c",
  customer_id: null,
  timestamp: new Date().toISOString(),
  source: null,
  properties,
  ingested_at: new Date().toISOString(),
});

describe("one bad event fails only its own request (item 3)", () => {
  const stores = {
    "in memory (batch committed on the main thread)": () => createHarness(),
    "in a file (batch committed by the writer thread)": async () => {
      const config = structuredClone(DEFAULT_CONFIG);
      const store = new SqliteStore(openDatabase(join(tempDir("batch"), "tollgate.db")));
      const tollgate = await createTollgate({ config, store, logger: createLogger("error", { sink: () => {} }) });
      return { ...tollgate, call: (m: string, p: string, o?: object) => callApp(tollgate.app, m, p, o) } as Harness;
    },
  };
  for (const [name, make] of Object.entries(stores)) {
    test(`${name}: a row the store refuses is rejected; the rest of its batch is stored`, async () => {
      const h = await make();
      const [one, two] = (await Promise.all(
        ["development", "production"].map(async (type) => {
          const environment = await environmentOf(h, type as "development" | "production");
          return scopeKeyFor(h.context.db, { tenantId: DEFAULT_TENANT, environmentId: environment.id });
        }),
      )) as [number, number];
      // All queued in one turn, so they share one batch; the middle row breaks the JSON CHECK.
      const writes = [row(one, "good-1"), row(two, "bad", "{not json"), row(two, "good-2"), row(one, "good-3")].map(
        (r) =>
          h.context.events.write([r]).then(
            () => "stored",
            (e: Error) => `refused: ${e.message}`,
          ),
      );
      const outcomes = await Promise.all(writes);
      expect(outcomes[0]).toBe("stored");
      expect(outcomes[1]).toMatch(/^refused: .*CHECK constraint/);
      expect(outcomes.slice(2)).toEqual(["stored", "stored"]);
      const stored = await h.context.db.values("SELECT id FROM events ORDER BY id");
      expect(stored).toEqual(["good-1", "good-2", "good-3"]);
      await h.close();
    });

    test(`${name}: a bulk request sharing the batch is stored all or none; the others are unaffected`, async () => {
      const h = await make();
      const scope = await scopeKeyFor(h.context.db, {
        tenantId: DEFAULT_TENANT,
        environmentId: (await environmentOf(h, "development")).id,
      });
      const outcome = (write: Promise<number>) =>
        write.then(
          () => "stored",
          (e: Error) => `refused: ${e.message}`,
        );
      const writes = [
        outcome(h.context.events.write([row(scope, "single-1")])),
        outcome(
          h.context.events.write([row(scope, "bulk-a-1"), row(scope, "bulk-a-2", "{not json"), row(scope, "bulk-a-3")]),
        ),
        outcome(h.context.events.write([row(scope, "bulk-b-1"), row(scope, "bulk-b-2")])),
        outcome(h.context.events.write([row(scope, "single-2")])),
      ];
      const outcomes = await Promise.all(writes);
      expect(outcomes[1]).toMatch(/^refused: .*CHECK constraint/);
      expect([outcomes[0], outcomes[2], outcomes[3]]).toEqual(["stored", "stored", "stored"]);
      const stored = await h.context.db.values("SELECT id FROM events ORDER BY id");
      expect(stored).toEqual(["bulk-b-1", "bulk-b-2", "single-1", "single-2"]);
      await h.close();
    });
  }

  test("properties nested past the limit are a 400 before the batch, and other tenants' events all land", async () => {
    const h = await createHarness();
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = { d: deep };
    const bad = Array.from({ length: 20 }, () =>
      h.call("POST", "/v1/events", { body: { event_name: "e", external_customer_id: "c", properties: { deep } } }),
    );
    const other = (await issueTestKey(h, { roles: ["event_ingestor"], environment: "production" })).apiKey;
    const good = Array.from({ length: 100 }, (_, i) =>
      h.call("POST", "/v1/events", {
        key: other,
        body: { event_name: "e", external_customer_id: "c", event_id: `g${i}` },
      }),
    );
    const [badResults, goodResults] = await Promise.all([Promise.all(bad), Promise.all(good)]);
    expect(new Set(badResults.map((r) => r.status))).toEqual(new Set([400]));
    expect(errorOf(badResults[0]!).details).toEqual({ properties: "must nest at most 16 levels deep" });
    expect(new Set(goodResults.map((r) => r.status))).toEqual(new Set([202]));
    expect(await h.context.db.value("SELECT count(*) FROM events")).toBe(100);
  });
});

describe("usage aggregates never overflow and never produce unbounded windows (items 5, 6)", () => {
  const usage = (h: Harness, body: Record<string, unknown>) =>
    h.call("POST", "/v1/events/usage", {
      body: { event_name: "api", start_time: "2025-01-01T00:00:00Z", end_time: "2025-01-02T00:00:00Z", ...body },
    });

  test("SUM over two values of 2^62 answers (as a float) instead of failing for good", async () => {
    const h = await createHarness();
    const big = 2 ** 62;
    const events = ["a", "b"].map((event_id) => ({
      event_id,
      event_name: "api",
      external_customer_id: "c",
      timestamp: "2025-01-01T10:00:00Z",
      properties: { n: big },
    }));
    expect((await h.call("POST", "/v1/events/bulk", { body: { events } })).status).toBe(202);
    const res = await usage(h, { aggregation_type: "SUM", property_name: "n", window_size: "DAY" });
    expect(res.status).toBe(200);
    expect(res.body.value).toBe(2 * big);
    expect(res.body.results).toEqual([{ window_size: "2025-01-01T00:00:00.000Z", value: 2 * big }]);
    const none = await usage(h, { aggregation_type: "SUM", property_name: "nothing" });
    expect(none.body.value).toBe(0);
  });

  test(`a windowed query may produce at most ${MAX_USAGE_WINDOWS} windows`, async () => {
    const h = await createHarness();
    const tenYears = { start_time: "2015-01-01T00:00:00Z", end_time: "2025-01-01T00:00:00Z" };
    const minutes = await usage(h, { aggregation_type: "COUNT", window_size: "MINUTE", ...tenYears });
    expect(minutes.status).toBe(400);
    expect(Object.keys(errorOf(minutes).details ?? {})).toEqual(["window_size"]);
    const days = await usage(h, { aggregation_type: "COUNT", window_size: "DAY", ...tenYears });
    expect(days.status).toBe(200);
    const week = await usage(h, {
      aggregation_type: "COUNT",
      window_size: "MINUTE",
      start_time: "2025-01-01T00:00:00Z",
      end_time: "2025-01-08T00:00:00Z",
    });
    expect(week.status).toBe(200);
  });
});

const HOUR_AGO = new Date(Date.now() - 3_600_000).toISOString();

/** 5,000 events: enough that the budget check (one row in 256, at random) is certain to run. */
async function storeManyEvents(h: Harness, count = 5000) {
  for (let first = 0; first < count; first += 1000) {
    const events = Array.from({ length: 1000 }, (_, i) => ({
      event_name: "api",
      external_customer_id: "c",
      event_id: `${first + i}`,
      timestamp: HOUR_AGO,
      properties: { region: "us" },
    }));
    expect((await h.call("POST", "/v1/events/bulk", { body: { events } })).status).toBe(202);
  }
}

describe("a read has a time budget (item 5)", () => {
  test("a statement past its budget stops with a 400 naming the budget; within it, it answers", async () => {
    const h = await createHarness();
    await storeManyEvents(h);
    const db = h.context.db;
    const count = (q: Queries) => q.value(`SELECT count(*) FROM events WHERE ${db.dialect.withinBudget}`);
    expect(await db.withinBudget(1000, eventsTooExpensive, count)).toBe(5000);
    let refused: unknown;
    try {
      await db.withinBudget(-1, eventsTooExpensive, count);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 400, code: "invalid_operation", details: { budget_ms: -1 } });
    // The budget belongs to the read it was given to: the next read starts afresh.
    expect(await db.withinBudget(1000, eventsTooExpensive, count)).toBe(5000);
  });

  test("every event read of the API runs under it: query, list, usage, the portal's usage", async () => {
    const h = await createHarness();
    await storeManyEvents(h);
    const created = await h.call("POST", "/v1/customers", { body: { external_id: "c", name: "C" } });
    expect(created.status).toBe(201);
    const token = (await h.call("GET", "/v1/customers/portal/c")).body.token;
    // The same reads with no time at all: each must be stopped by the budget.
    h.context.reads = new StoreReaders(h.context.db, h.context.logger, null, -1);
    // Within the portal's 30 days too.
    const window = {
      start_time: new Date(Date.now() - 86_400_000).toISOString(),
      end_time: new Date(Date.now() + 60_000).toISOString(),
    };
    const answers = [
      await h.call("POST", "/v1/events/query", { body: { property_filters: { region: ["us"] } } }),
      await h.call("GET", "/v1/events?external_customer_id=c"),
      await h.call("POST", "/v1/events/usage", { body: { event_name: "api", aggregation_type: "COUNT", ...window } }),
      await h.call("GET", "/v1/customer/portal/usage", { key: null, headers: { "x-session-token": token } }),
    ];
    for (const res of answers) {
      expect({ status: res.status, text: res.text }).toMatchObject({ status: 400 });
      expect(errorOf(res)).toMatchObject({ internal_error: "invalid_operation", details: { budget_ms: -1 } });
    }
  });
});

describe("one tenant cannot fill the reader threads (item 5)", () => {
  test(`a tenant's ${MAX_READS_PER_TENANT + 1}th read under way is a 429; other tenants still read`, async () => {
    const tollgate = await createTollgate({
      config: structuredClone(DEFAULT_CONFIG),
      store: new SqliteStore(openDatabase(join(tempDir("reads-cap"), "tollgate.db"))),
      logger: createLogger("error", { sink: () => {} }),
    });
    try {
      const reads = tollgate.context.reads;
      const scope = { tenantId: "t1", environmentId: "e1" };
      // Started in one turn: none can have finished before the last one is asked for.
      const first = Array.from({ length: MAX_READS_PER_TENANT }, () => reads.query(scope, {}));
      const refused = reads.query(scope, {}).catch((error: unknown) => error);
      const otherTenant = reads.query({ tenantId: "t2", environmentId: "e1" }, {});
      expect(await refused).toMatchObject({ status: 429, details: { retry_after_seconds: 1 } });
      expect((await Promise.all(first)).map((page) => page.total_count)).toEqual(Array(MAX_READS_PER_TENANT).fill(0));
      expect((await otherTenant).events).toEqual([]);
      // Finished reads free their places.
      expect((await reads.query(scope, {})).events).toEqual([]);
    } finally {
      await tollgate.close();
    }
  });
});

describe("a failure of the store fails the batch at once, without a retry per row (item 3)", () => {
  test("the store is locked: one attempt, every row refused with SQLITE_BUSY", async () => {
    const h = await createHarness();
    const path = join(tempDir("busy"), "tollgate.db");
    sqliteOf(h).exec(`VACUUM INTO '${path}'`); // a migrated store with the default tenant
    const db = openDatabase(path);
    const scope = await scopeKeyFor(new SqliteStore(db), {
      tenantId: DEFAULT_TENANT,
      environmentId: (await environmentOf(h, "development")).id,
    });
    db.pragma("busy_timeout = 20");
    const holder = openDatabase(path);
    holder.exec("BEGIN IMMEDIATE");
    const attempts = { count: 0 };
    const insertEvents = insertEventsIntoSqlite(db);
    const insert: InsertEvents = (rows) => {
      attempts.count++;
      return insertEvents(rows);
    };
    try {
      const failures = await commitBatch(insert, [[row(scope, "a")], [row(scope, "b")], [row(scope, "c")]]);
      expect(failures.map((f) => [f.index, f.code])).toEqual([
        [0, "SQLITE_BUSY"],
        [1, "SQLITE_BUSY"],
        [2, "SQLITE_BUSY"],
      ]);
      expect(attempts.count).toBe(1);
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
      db.close();
    }
  });
});

describe("event reads run on reader threads with a file store (item 5)", () => {
  test("queries, usage and their errors come back from the thread as from the main thread", async () => {
    const config = structuredClone(DEFAULT_CONFIG);
    const store = new SqliteStore(openDatabase(join(tempDir("readers"), "tollgate.db")));
    const errors: string[] = [];
    const tollgate = await createTollgate({
      config,
      store,
      logger: createLogger("error", { sink: (line) => errors.push(line) }),
    });
    const call = (method: string, path: string, body?: unknown) => callApp(tollgate.app, method, path, { body });
    try {
      const events = ["a", "b", "c"].map((event_id, i) => ({
        event_id,
        event_name: "api",
        external_customer_id: "c1",
        timestamp: `2025-01-01T0${i}:00:00Z`,
        properties: { n: i + 1 },
      }));
      expect((await call("POST", "/v1/events/bulk", { events })).status).toBe(202);
      const compiledOnMain = store.cachedStatementCount;
      const page = await call("POST", "/v1/events/query", { page_size: 2, order: "asc" });
      expect(page.status).toBe(200);
      expect(page.body.events.map((e: { id: string }) => e.id)).toEqual(["a", "b"]);
      const next = await call("GET", `/v1/events?page_size=2&order=asc&iter_last_key=${page.body.iter_last_key}`);
      expect(next.body.events.map((e: { id: string }) => e.id)).toEqual(["c"]);
      const sum = await call("POST", "/v1/events/usage", {
        event_name: "api",
        aggregation_type: "SUM",
        property_name: "n",
        start_time: "2025-01-01T00:00:00Z",
        end_time: "2025-01-02T00:00:00Z",
      });
      expect(sum.body).toMatchObject({ value: 6, type: "SUM" });
      const badCursor = await call("POST", "/v1/events/query", { iter_last_key: "not-a-cursor" });
      expect(badCursor.status).toBe(400);
      expect(errorOf(badCursor)).toEqual({
        message: "iter_last_key is not a cursor this API returned",
        internal_error: "validation_error",
        details: { iter_last_key: "is not a valid cursor" },
      });
      // The query ran on a reader thread: the main connection compiled no statement for it.
      expect(store.cachedStatementCount).toBe(compiledOnMain);
      const other = await callApp(tollgate.app, "POST", "/v1/events/query", {
        body: {},
        headers: {
          "x-environment-id": (await environmentOf({ context: tollgate.context } as Harness, "production")).id,
        },
      });
      expect(other.body.events).toEqual([]);
      expect(errors).toEqual([]); // no "reader thread failed; reading on the main thread"
    } finally {
      await tollgate.close();
    }
  });
});

describe("the request thread never waits on the store for ingestion (issue 13)", () => {
  test("with a file store the main connection never checkpoints the WAL, nor parses a bulk body: the writer thread does", async () => {
    const config = structuredClone(DEFAULT_CONFIG);
    const db = openDatabase(join(tempDir("checkpoint"), "tollgate.db"));
    const tollgate = await createTollgate({
      config,
      store: new SqliteStore(db),
      logger: createLogger("error", { sink: () => {} }),
    });
    try {
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
      // A bulk request's body is parsed, validated and prepared on the writer thread, not here,
      // and its events are readable right after the 202; a bad body still gets its own 400.
      const prepared = spyOn(bulk, "prepareBulk");
      try {
        const events = Array.from({ length: 50 }, (_, i) => ({ event_name: "e", external_customer_id: `c${i % 5}` }));
        const res = await callApp(tollgate.app, "POST", "/v1/events/bulk", { body: { events } });
        expect(res.status).toBe(202);
        expect(await tollgate.context.db.value("SELECT count(*) FROM events")).toBe(50);
        const bad = await callApp(tollgate.app, "POST", "/v1/events/bulk", {
          body: { events: [{ event_name: "e", external_customer_id: "c" }, { external_customer_id: "c" }] },
        });
        expect(bad.status).toBe(400);
        expect(errorOf(bad).details).toEqual({ "events[1].event_name": "is required" });
        expect(prepared).not.toHaveBeenCalled();
      } finally {
        prepared.mockRestore();
      }
    } finally {
      await tollgate.close();
    }
  });
});

describe("when the event writer thread dies (issue 14)", () => {
  test("writes fall back to the main thread, logged once; nothing is acknowledged that is not stored", async () => {
    const h = await createHarness();
    const path = join(tempDir("fallback"), "tollgate.db");
    sqliteOf(h).exec(`VACUUM INTO '${path}'`); // a migrated store with the default tenant
    const store = new SqliteStore(openDatabase(path));
    const db = store.db;
    const errors: Record<string, unknown>[] = [];
    const logger = createLogger("error", { sink: (line) => errors.push(JSON.parse(line)) });
    const scope = await scopeKeyFor(store, {
      tenantId: DEFAULT_TENANT,
      environmentId: (await environmentOf(h, "development")).id,
    });
    db.pragma("wal_autocheckpoint = 0");
    const writer = new EventWriter(insertEventsInto(store), logger, new StoreHealth(path), {
      storePath: path,
      entry: new URL("./support/failing-writer-thread.ts", import.meta.url),
      durability: "fsync",
      checkpointHere: () => db.pragma("wal_autocheckpoint = 1000"),
    });
    try {
      const outcomes: string[] = [];
      for (let i = 0; i < 20 && !outcomes.includes("stored"); i++) {
        outcomes.push(
          await writer.write([row(scope, `e${i}`)]).then(
            () => "stored",
            () => "refused",
          ),
        );
        await Bun.sleep(20);
      }
      expect(outcomes.at(-1)).toBe("stored");
      const stored = await store.values("SELECT id FROM events ORDER BY id");
      const acknowledged = outcomes.flatMap((outcome, i) => (outcome === "stored" ? [`e${i}`] : []));
      expect(stored).toEqual(acknowledged);
      expect(errors.filter((e) => e.msg === "event writer thread failed; committing on the main thread")).toHaveLength(
        1,
      );
      // The main connection checkpoints again now that the thread that did is gone.
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
    } finally {
      await writer.close();
      db.close();
    }
  });
});
