// SPEC.md §6: usage events. Ingestion (one and bulk), idempotency on event_id, queries with
// keyset pagination, aggregation, who may do what, and isolation between environments and tenants.
import { afterEach, describe, expect, test } from "bun:test";
import {
  type CallResult,
  createHarness as createMemoryHarness,
  createTwoTenantHarness as createMemoryTwoTenantHarness,
  DEV_KEY,
  errorOf,
  type Harness,
  OTHER_TENANT_KEY,
} from "./support/harness";
import { environmentOf } from "./support/keys";

// Every test here runs on a store in a file, as a server does: ingestion is committed by the
// event writer thread and reads go through the reader threads (issue 14: with an in-memory store
// neither thread ever ran in these tests). Each harness is closed after its test.
const opened: Harness[] = [];
afterEach(async () => {
  for (const h of opened.splice(0)) await h.close();
});
async function createHarness(...args: Parameters<typeof createMemoryHarness>): Promise<Harness> {
  const h = await createMemoryHarness(args[0], { store: "file" });
  opened.push(h);
  return h;
}
async function createTwoTenantHarness(...args: Parameters<typeof createMemoryTwoTenantHarness>): Promise<Harness> {
  const h = await createMemoryTwoTenantHarness(args[0], { store: "file" });
  opened.push(h);
  return h;
}

interface EventInput {
  event_name?: unknown;
  external_customer_id?: unknown;
  event_id?: unknown;
  customer_id?: unknown;
  timestamp?: unknown;
  source?: unknown;
  properties?: unknown;
  [extra: string]: unknown;
}

async function countEvents(h: Harness, where = "1 = 1", ...params: unknown[]): Promise<number> {
  return ((await h.context.db.get(`SELECT count(*) AS n FROM events WHERE ${where}`, ...params)) as { n: number }).n;
}

async function ingest(h: Harness, event: EventInput, options: { key?: string; headers?: Record<string, string> } = {}) {
  const res = await h.call("POST", "/v1/events", { ...options, body: event });
  expect(res.status).toBe(202);
  return res.body.event_id as string;
}

async function bulk(
  h: Harness,
  events: EventInput[],
  options: { key?: string; headers?: Record<string, string> } = {},
) {
  const res = await h.call("POST", "/v1/events/bulk", { ...options, body: { events } });
  expect(res.status).toBe(202);
  expect(res.body).toEqual({ message: "Events accepted for processing" });
}

function expectValidationError(res: CallResult, field?: string) {
  expect(res.status).toBe(400);
  const error = errorOf(res);
  expect(error.internal_error).toBe("validation_error");
  if (field !== undefined) expect(Object.keys(error.details ?? {})).toContain(field);
  return error;
}

const ids = (res: CallResult): string[] => res.body.events.map((e: { id: string }) => e.id);

async function serviceAccountKey(h: Harness, roles: string[]): Promise<string> {
  const account = await h.call("POST", "/v1/users", {
    body: { type: "service_account", name: roles.join("+"), roles },
  });
  expect(account.status).toBe(201);
  const key = await h.call("POST", "/v1/secrets/api/keys", {
    body: { name: "Event Service Key", service_account_id: account.body.id },
  });
  expect(key.status).toBe(201);
  expect([...key.body.roles].sort()).toEqual([...roles].sort());
  return key.body.api_key;
}

const valid = { event_name: "api_call", external_customer_id: "cust-1" };

describe("POST /v1/events: validation (IngestEventRequest)", () => {
  const long = "x".repeat(256);
  const cases: [string, EventInput, string][] = [
    ["event_name missing", { external_customer_id: "c" }, "event_name"],
    ["event_name empty", { ...valid, event_name: "" }, "event_name"],
    ["event_name 256 characters", { ...valid, event_name: long }, "event_name"],
    ["event_name not a string", { ...valid, event_name: 42 }, "event_name"],
    ["external_customer_id missing", { event_name: "api_call" }, "external_customer_id"],
    ["external_customer_id empty", { ...valid, external_customer_id: "" }, "external_customer_id"],
    ["external_customer_id 256 characters", { ...valid, external_customer_id: long }, "external_customer_id"],
    ["event_id empty", { ...valid, event_id: "" }, "event_id"],
    ["event_id 256 characters", { ...valid, event_id: long }, "event_id"],
    ["event_id not a string", { ...valid, event_id: 7 }, "event_id"],
    ["source 256 characters", { ...valid, source: long }, "source"],
    ["properties an array", { ...valid, properties: ["a"] }, "properties"],
    ["properties a string", { ...valid, properties: "region=us" }, "properties"],
    ["an unknown field", { ...valid, region: "us" }, "region"],
    ["timestamp without an offset", { ...valid, timestamp: "2025-11-14T10:00:00" }, "timestamp"],
    ["timestamp a date only", { ...valid, timestamp: "2025-11-14" }, "timestamp"],
    ["timestamp words", { ...valid, timestamp: "yesterday" }, "timestamp"],
    ["timestamp month 13", { ...valid, timestamp: "2025-13-01T00:00:00Z" }, "timestamp"],
    ["timestamp February 30", { ...valid, timestamp: "2030-02-30T00:00:00Z" }, "timestamp"],
    ["timestamp hour 24", { ...valid, timestamp: "2025-11-14T24:00:00Z" }, "timestamp"],
    ["timestamp offset without a colon", { ...valid, timestamp: "2025-11-14T10:00:00+0500" }, "timestamp"],
    ["timestamp US style in local time", { ...valid, timestamp: "2025/11/14 10:30" }, "timestamp"],
    ["timestamp a number", { ...valid, timestamp: 1763114400 }, "timestamp"],
  ];
  for (const [name, body, field] of cases) {
    test(`${name}: 400 naming ${field}, nothing stored`, async () => {
      const h = await createHarness();
      const res = await h.call("POST", "/v1/events", { body });
      expectValidationError(res, field);
      expect(await countEvents(h)).toBe(0);
    });
  }

  test("a missing required field is reported as `is required`", async () => {
    const h = await createHarness();
    const res = await h.call("POST", "/v1/events", { body: { external_customer_id: "c" } });
    expect(expectValidationError(res).details).toEqual({ event_name: "is required" });
  });

  test("the limits themselves are accepted: 255-character names and ids, a 255-character source", async () => {
    const h = await createHarness();
    const at = "y".repeat(255);
    const id = await ingest(h, { event_name: at, external_customer_id: at, event_id: at, source: at });
    expect(id).toBe(at);
    const { event } = (await h.call("GET", `/v1/events/${at}`)).body;
    expect(event).toMatchObject({ event_name: at, external_customer_id: at, source: at });
  });

  test("properties: 16 KiB of JSON is accepted, one byte more is 400", async () => {
    const h = await createHarness();
    // {"p":"…"} is 8 bytes plus the value; é is two bytes in UTF-8, so the limit is in bytes.
    const exact = { p: "é".repeat(8188) };
    expect(Buffer.byteLength(JSON.stringify(exact))).toBe(16384);
    await ingest(h, { ...valid, event_id: "at-limit", properties: exact });
    const over = { p: `${"é".repeat(8188)}x` };
    const res = await h.call("POST", "/v1/events", { body: { ...valid, event_id: "over-limit", properties: over } });
    expectValidationError(res, "properties");
    expect(await countEvents(h)).toBe(1);
    expect((await h.call("GET", "/v1/events/over-limit")).status).toBe(404);
  });

  test("a body that is not JSON: 400 in the envelope", async () => {
    const h = await createHarness();
    const res = await h.call("POST", "/v1/events", {
      rawBody: "{not json",
      headers: { "content-type": "application/json" },
    });
    expectValidationError(res);
    expect(await countEvents(h)).toBe(0);
  });
});

describe("POST /v1/events: accepted and readable", () => {
  test("202 with the message and the sent event_id; readable at once as processed", async () => {
    const h = await createHarness();
    const env = await environmentOf(h, "development");
    const res = await h.call("POST", "/v1/events", {
      body: {
        event_name: "api_call",
        external_customer_id: "cust-1",
        event_id: "evt-001",
        customer_id: "cust_internal",
        timestamp: "2025-11-14T10:00:00.000Z",
        source: "api-gateway",
        properties: { region: "us", tokens: 12, nested: { ok: true } },
      },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ message: "Event accepted for processing", event_id: "evt-001" });

    const read = await h.call("GET", "/v1/events/evt-001");
    expect(read.status).toBe(200);
    expect(read.body).toEqual({
      event: {
        id: "evt-001",
        event_name: "api_call",
        external_customer_id: "cust-1",
        customer_id: "cust_internal",
        timestamp: "2025-11-14T10:00:00.000Z",
        source: "api-gateway",
        properties: { region: "us", tokens: 12, nested: { ok: true } },
        environment_id: env.id,
      },
      status: "processed",
      // Flexprice's pricing trace and per-feature usage: Tollgate does neither, and says null.
      debug_tracker: null,
      processed_events: null,
    });
  });

  test("without event_id: a generated event_… id, which reads back; timestamp defaults to now", async () => {
    const h = await createHarness();
    const before = Date.now();
    const id = await ingest(h, valid);
    const after = Date.now();
    expect(id).toMatch(/^event_[0-9A-Z]{26}$/);
    const read = await h.call("GET", `/v1/events/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.event).toMatchObject({ id, customer_id: null, source: null, properties: {} });
    const ts = Date.parse(read.body.event.timestamp);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(after);
    expect(read.body.event.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  test("two events without event_id get two different ids", async () => {
    const h = await createHarness();
    const [a, b] = [await ingest(h, valid), await ingest(h, valid)];
    expect(a).not.toBe(b);
    expect(await countEvents(h)).toBe(2);
  });

  test("timestamps with any offset are stored and returned in UTC", async () => {
    const h = await createHarness();
    const cases: [string, string][] = [
      ["2025-11-14T10:00:00Z", "2025-11-14T10:00:00.000Z"],
      ["2025-11-14T12:30:00+02:30", "2025-11-14T10:00:00.000Z"],
      ["2025-11-14T05:00:00-05:00", "2025-11-14T10:00:00.000Z"],
      ["2025-11-14T00:30:00.250-10:00", "2025-11-14T10:30:00.250Z"],
      ["2025-11-15T01:00:00+15:00", "2025-11-14T10:00:00.000Z"],
    ];
    for (const [sent, stored] of cases) {
      const id = await ingest(h, { ...valid, timestamp: sent });
      expect({ sent, got: (await h.call("GET", `/v1/events/${id}`)).body.event.timestamp }).toEqual({
        sent,
        got: stored,
      });
      const row = (await h.context.db.get("SELECT timestamp FROM events WHERE id = ?", id)) as { timestamp: string };
      expect(row.timestamp).toBe(stored);
    }
  });

  test("GET /v1/events/{id} of an unknown id: 404 not_found", async () => {
    const h = await createHarness();
    const res = await h.call("GET", "/v1/events/evt-missing");
    expect(res.status).toBe(404);
    expect(errorOf(res).internal_error).toBe("not_found");
  });
});

describe("idempotency on event_id", () => {
  test("the same event_id twice: both 202, one row, the first one kept", async () => {
    const h = await createHarness();
    const first = await h.call("POST", "/v1/events", { body: { ...valid, event_id: "evt-dup", properties: { n: 1 } } });
    const second = await h.call("POST", "/v1/events", {
      body: { ...valid, event_id: "evt-dup", properties: { n: 2 } },
    });
    for (const res of [first, second]) {
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ message: "Event accepted for processing", event_id: "evt-dup" });
    }
    expect(await countEvents(h, "id = ?", "evt-dup")).toBe(1);
    expect((await h.call("GET", "/v1/events/evt-dup")).body.event.properties).toEqual({ n: 1 });
  });

  test("50 concurrent POSTs of one event_id store exactly one row", async () => {
    const h = await createHarness();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        h.call("POST", "/v1/events", { body: { ...valid, event_id: "evt-race", properties: { n: i } } }),
      ),
    );
    for (const res of results) {
      expect(res.status).toBe(202);
      expect(res.body.event_id).toBe("evt-race");
    }
    expect(await countEvents(h)).toBe(1);
  });

  test("the same event_id in another environment is a different event", async () => {
    const h = await createHarness();
    const prod = (await environmentOf(h, "production")).id;
    const dev = (await environmentOf(h, "development")).id;
    await ingest(h, { ...valid, event_id: "evt-shared", properties: { env: "dev" } });
    await ingest(
      h,
      { ...valid, event_id: "evt-shared", properties: { env: "prod" } },
      { headers: { "X-Environment-ID": prod } },
    );
    expect(await countEvents(h, "id = ?", "evt-shared")).toBe(2);
    const inDev = (await h.call("GET", "/v1/events/evt-shared")).body.event;
    const inProd = (await h.call("GET", "/v1/events/evt-shared", { headers: { "X-Environment-ID": prod } })).body.event;
    expect(inDev).toMatchObject({ environment_id: dev, properties: { env: "dev" } });
    expect(inProd).toMatchObject({ environment_id: prod, properties: { env: "prod" } });
  });
});

describe("POST /v1/events/bulk", () => {
  const many = (n: number, prefix = "b") =>
    Array.from({ length: n }, (_, i) => ({ ...valid, event_id: `${prefix}-${i}`, properties: { i } }));

  test("1 event and 1000 events: 202 with the message, every one stored and readable", async () => {
    const h = await createHarness();
    await bulk(h, many(1, "one"));
    await bulk(h, many(1000));
    expect(await countEvents(h)).toBe(1001);
    expect((await h.call("GET", "/v1/events/b-999")).body.event.properties).toEqual({ i: 999 });
    expect((await h.call("GET", "/v1/events/one-0")).status).toBe(200);
  });

  test("0 events and 1001 events: 400, nothing stored", async () => {
    const h = await createHarness();
    expectValidationError(await h.call("POST", "/v1/events/bulk", { body: { events: [] } }), "events");
    expectValidationError(await h.call("POST", "/v1/events/bulk", { body: { events: many(1001) } }), "events");
    expectValidationError(await h.call("POST", "/v1/events/bulk", { body: {} }), "events");
    expectValidationError(await h.call("POST", "/v1/events/bulk", { body: { events: many(1), extra: true } }), "extra");
    expect(await countEvents(h)).toBe(0);
  });

  test("one invalid event rejects the whole batch, with details keyed by its index", async () => {
    const h = await createHarness();
    const events: EventInput[] = many(5);
    const { event_name: _, ...noName } = events[3] as EventInput;
    events[3] = noName;
    const res = await h.call("POST", "/v1/events/bulk", { body: { events } });
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({
      internal_error: "validation_error",
      details: { "events[3].event_name": "is required" },
    });
    expect(await countEvents(h)).toBe(0);
  });

  test("other invalid events name their index too: timestamp, unknown field, oversized properties", async () => {
    const h = await createHarness();
    const cases: [EventInput, string][] = [
      [{ ...valid, timestamp: "2025-11-14T10:00:00" }, "events[2].timestamp"],
      [{ ...valid, colour: "red" }, "events[2].colour"],
      [{ ...valid, properties: { p: "x".repeat(17000) } }, "events[2].properties"],
    ];
    for (const [bad, field] of cases) {
      const events: EventInput[] = many(4);
      events[2] = bad;
      expectValidationError(await h.call("POST", "/v1/events/bulk", { body: { events } }), field);
    }
    expect(await countEvents(h)).toBe(0);
  });

  test("a duplicate event_id inside one batch, or one already stored, is stored once", async () => {
    const h = await createHarness();
    await ingest(h, { ...valid, event_id: "already", properties: { v: "single" } });
    await bulk(h, [
      { ...valid, event_id: "twice", properties: { v: 1 } },
      { ...valid, event_id: "twice", properties: { v: 2 } },
      { ...valid, event_id: "already", properties: { v: "bulk" } },
      { ...valid, event_id: "fresh" },
    ]);
    expect(await countEvents(h)).toBe(3);
    expect(await countEvents(h, "id = ?", "twice")).toBe(1);
    expect((await h.call("GET", "/v1/events/already")).body.event.properties).toEqual({ v: "single" });
  });

  test("timestamps in a batch are normalised to UTC as well", async () => {
    const h = await createHarness();
    await bulk(h, [{ ...valid, event_id: "tz", timestamp: "2025-11-14T12:00:00+02:00" }]);
    expect((await h.call("GET", "/v1/events/tz")).body.event.timestamp).toBe("2025-11-14T10:00:00.000Z");
  });
});

describe("querying events: POST /v1/events/query and GET /v1/events", () => {
  const T = (s: number) => `2025-06-01T10:00:0${s}.000Z`;
  const dataset: EventInput[] = [
    {
      event_id: "e1",
      event_name: "api_call",
      external_customer_id: "c1",
      source: "web",
      timestamp: T(0),
      properties: { region: "us", tier: 1 },
    },
    {
      event_id: "e2",
      event_name: "api_call",
      external_customer_id: "c2",
      source: "sdk",
      timestamp: T(1),
      properties: { region: "eu" },
    },
    {
      event_id: "e3",
      event_name: "storage",
      external_customer_id: "c1",
      source: "web",
      timestamp: T(2),
      properties: { region: "ap" },
    },
    {
      event_id: "e4",
      event_name: "storage",
      external_customer_id: "c2",
      timestamp: T(3),
      properties: { region: "us" },
    },
    { event_id: "e5", event_name: "api_call", external_customer_id: "c1", source: "sdk", timestamp: T(4) },
    {
      event_id: "e6",
      event_name: "api_call",
      external_customer_id: "c1",
      source: "web",
      timestamp: T(5),
      properties: { region: "eu", tier: 2 },
    },
  ];

  async function seeded() {
    const h = await createHarness();
    await bulk(h, dataset);
    return h;
  }

  function asParams(filters: Record<string, unknown>): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) params.set(k, typeof v === "object" ? JSON.stringify(v) : String(v));
    return params.toString();
  }

  /** Runs the same filters through both routes and checks both return exactly `expected`, in order. */
  async function expectBoth(h: Harness, filters: Record<string, unknown>, expected: string[]) {
    const post = await h.call("POST", "/v1/events/query", { body: { order: "asc", ...filters } });
    const get = await h.call("GET", `/v1/events?${asParams({ order: "asc", ...filters })}`);
    for (const res of [post, get]) {
      expect(res.status).toBe(200);
      expect({ filters, ids: ids(res) }).toEqual({ filters, ids: expected });
      expect(res.body.total_count).toBe(expected.length);
      expect(res.body.has_more).toBe(false);
    }
  }

  test("each filter alone, and combined", async () => {
    const h = await seeded();
    await expectBoth(h, {}, ["e1", "e2", "e3", "e4", "e5", "e6"]);
    await expectBoth(h, { external_customer_id: "c1" }, ["e1", "e3", "e5", "e6"]);
    await expectBoth(h, { event_name: "storage" }, ["e3", "e4"]);
    await expectBoth(h, { event_id: "e2" }, ["e2"]);
    await expectBoth(h, { source: "web" }, ["e1", "e3", "e6"]);
    await expectBoth(h, { external_customer_id: "c1", event_name: "api_call" }, ["e1", "e5", "e6"]);
    await expectBoth(h, { external_customer_id: "nobody" }, []);
  });

  test("start_time is inclusive and end_time exclusive, with any offset", async () => {
    const h = await seeded();
    await expectBoth(h, { start_time: T(1), end_time: T(4) }, ["e2", "e3", "e4"]);
    await expectBoth(h, { start_time: "2025-06-01T12:00:01+02:00", end_time: "2025-06-01T05:00:04-05:00" }, [
      "e2",
      "e3",
      "e4",
    ]);
    await expectBoth(h, { start_time: T(5) }, ["e6"]);
    await expectBoth(h, { end_time: T(1) }, ["e1"]);
  });

  test("property_filters: any of the listed values; several properties must all match", async () => {
    const h = await seeded();
    await expectBoth(h, { property_filters: { region: ["us", "eu"] } }, ["e1", "e2", "e4", "e6"]);
    await expectBoth(h, { property_filters: { region: ["us", "eu"], tier: [2] } }, ["e6"]);
    await expectBoth(h, { property_filters: { region: ["mars"] } }, []);
    await expectBoth(h, { property_filters: { region: ["us"] }, external_customer_id: "c2" }, ["e4"]);
  });

  test("property_filters compare as SQLite's JSON does, on either engine: true is 1, 2 is 2.0, an object is its text", async () => {
    const h = await createHarness();
    const flags: [string, unknown][] = [
      ["true", true],
      ["one", 1],
      ["one.0", 1.0],
      ["false", false],
      ["zero", 0],
      ["text-1", "1"],
      ["text-true", "true"],
      ["half", 2.5],
      ["object", { o: 1 }],
      ["array", [1]],
      ["null", null],
    ];
    await bulk(
      h,
      flags.map(([id, flag], i) => ({
        event_id: id,
        event_name: "flagged",
        external_customer_id: "c1",
        timestamp: `2025-01-01T00:00:${String(i).padStart(2, "0")}Z`,
        properties: { flag },
      })),
    );
    await expectBoth(h, { property_filters: { flag: [1] } }, ["true", "one", "one.0"]);
    await expectBoth(h, { property_filters: { flag: [true] } }, ["true", "one", "one.0"]);
    await expectBoth(h, { property_filters: { flag: [false] } }, ["false", "zero"]);
    await expectBoth(h, { property_filters: { flag: ["1", "true"] } }, ["text-1", "text-true"]);
    await expectBoth(h, { property_filters: { flag: [2.5, 0] } }, ["false", "zero", "half"]);
    await expectBoth(h, { property_filters: { flag: ['{"o":1}', "[1]"] } }, ["object", "array"]);
    await expectBoth(h, { property_filters: { flag: ["null"] } }, []);
    await expectBoth(h, { property_filters: { missing: [1] } }, []);
  });

  test("order asc and desc", async () => {
    const h = await seeded();
    const asc = await h.call("POST", "/v1/events/query", { body: { order: "asc" } });
    const desc = await h.call("POST", "/v1/events/query", { body: { order: "desc" } });
    const getDesc = await h.call("GET", "/v1/events?order=desc");
    expect(ids(asc)).toEqual(["e1", "e2", "e3", "e4", "e5", "e6"]);
    expect(ids(desc)).toEqual(["e6", "e5", "e4", "e3", "e2", "e1"]);
    expect(ids(getDesc)).toEqual(ids(desc));
    expectValidationError(await h.call("POST", "/v1/events/query", { body: { order: "newest" } }), "order");
    expectValidationError(await h.call("GET", "/v1/events?order=newest"), "order");
  });

  test("events come back in the Event shape", async () => {
    const h = await seeded();
    const res = await h.call("POST", "/v1/events/query", { body: { event_id: "e1" } });
    expect(res.body.events).toEqual([
      {
        id: "e1",
        event_name: "api_call",
        external_customer_id: "c1",
        customer_id: null,
        timestamp: T(0),
        source: "web",
        properties: { region: "us", tier: 1 },
        environment_id: (await environmentOf(h, "development")).id,
      },
    ]);
  });

  test("page_size, has_more, total_count and the iteration keys", async () => {
    const h = await seeded();
    const first = await h.call("POST", "/v1/events/query", { body: { order: "asc", page_size: 4 } });
    expect(ids(first)).toEqual(["e1", "e2", "e3", "e4"]);
    expect(first.body).toMatchObject({ has_more: true, total_count: 6 });
    expect(typeof first.body.iter_first_key).toBe("string");
    expect(typeof first.body.iter_last_key).toBe("string");
    expect(first.body.iter_first_key).not.toBe(first.body.iter_last_key);

    const second = await h.call("POST", "/v1/events/query", {
      body: { order: "asc", page_size: 4, iter_last_key: first.body.iter_last_key },
    });
    expect(ids(second)).toEqual(["e5", "e6"]);
    expect(second.body).toMatchObject({ has_more: false, total_count: 6 });

    // iter_first_key marks the page's first row: continuing from it skips exactly that row.
    const fromFirst = await h.call("POST", "/v1/events/query", {
      body: { order: "asc", page_size: 4, iter_last_key: first.body.iter_first_key },
    });
    expect(ids(fromFirst)).toEqual(["e2", "e3", "e4", "e5"]);

    // The same through GET, with page_size as a query parameter.
    const viaGet = await h.call("GET", `/v1/events?order=asc&page_size=4&iter_last_key=${first.body.iter_last_key}`);
    expect(ids(viaGet)).toEqual(["e5", "e6"]);
    const exact = await h.call("POST", "/v1/events/query", { body: { order: "asc", page_size: 6 } });
    expect(exact.body.has_more).toBe(false);
  });

  test("page_size 1 and 1000 are accepted; 0, 1001 and non-numbers are 400 on both routes", async () => {
    const h = await seeded();
    expect(ids(await h.call("POST", "/v1/events/query", { body: { page_size: 1, order: "asc" } }))).toEqual(["e1"]);
    expect(ids(await h.call("GET", "/v1/events?page_size=1&order=asc"))).toEqual(["e1"]);
    expect((await h.call("POST", "/v1/events/query", { body: { page_size: 1000 } })).status).toBe(200);
    expect((await h.call("GET", "/v1/events?page_size=1000")).status).toBe(200);
    for (const size of [0, 1001, -1]) {
      expectValidationError(await h.call("POST", "/v1/events/query", { body: { page_size: size } }), "page_size");
      expectValidationError(await h.call("GET", `/v1/events?page_size=${size}`), "page_size");
    }
    expectValidationError(await h.call("POST", "/v1/events/query", { body: { page_size: "10" } }), "page_size");
    expectValidationError(await h.call("GET", "/v1/events?page_size=ten"), "page_size");
  });

  test("a garbage iter_last_key is 400, on both routes", async () => {
    const h = await seeded();
    const forged = Buffer.from(JSON.stringify({ hello: "world" })).toString("base64url");
    for (const key of ["garbage", "%%%", forged]) {
      expectValidationError(
        await h.call("POST", "/v1/events/query", { body: { iter_last_key: key } }),
        "iter_last_key",
      );
      expectValidationError(
        await h.call("GET", `/v1/events?iter_last_key=${encodeURIComponent(key)}`),
        "iter_last_key",
      );
    }
  });

  test("bad filters are 400: unknown field, bad timestamp, malformed property_filters", async () => {
    const h = await seeded();
    expectValidationError(await h.call("POST", "/v1/events/query", { body: { customer: "c1" } }), "customer");
    expectValidationError(await h.call("GET", "/v1/events?customer=c1"), "customer");
    expectValidationError(
      await h.call("POST", "/v1/events/query", { body: { start_time: "yesterday" } }),
      "start_time",
    );
    expectValidationError(await h.call("GET", "/v1/events?end_time=2025-06-01"), "end_time");
    expectValidationError(await h.call("POST", "/v1/events/query", { body: { property_filters: { region: "us" } } }));
    expectValidationError(await h.call("GET", "/v1/events?property_filters=region%3Dus"), "property_filters");
    expectValidationError(
      await h.call("GET", `/v1/events?property_filters=${encodeURIComponent('{"region":"us"}')}`),
      "property_filters",
    );
  });
});

describe("keyset pagination under concurrent ingestion", () => {
  const BASE = Date.parse("2025-01-01T00:00:00.000Z");
  const at = (ms: number) => new Date(ms).toISOString();

  /** 300 events one second apart, all named `page`. */
  async function threeHundred(h: Harness): Promise<string[]> {
    const events = Array.from({ length: 300 }, (_, i) => ({
      event_id: `orig-${i}`,
      event_name: "page",
      external_customer_id: "c",
      timestamp: at(BASE + i * 1000),
    }));
    await bulk(h, events);
    return events.map((e) => e.event_id);
  }

  async function walk(
    fetch: (cursor: string | undefined) => Promise<CallResult>,
    between: (page: number) => Promise<void>,
  ): Promise<string[]> {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 1; ; page++) {
      const res = await fetch(cursor);
      expect(res.status).toBe(200);
      expect(res.body.events.length).toBeLessThanOrEqual(7);
      seen.push(...ids(res));
      if (!res.body.has_more) break;
      expect(res.body.events.length).toBe(7);
      cursor = res.body.iter_last_key;
      await between(page);
      if (page > 200) throw new Error("pagination did not finish");
    }
    return seen;
  }

  function expectEachOnce(seen: string[], expected: string[]) {
    expect(new Set(seen).size).toBe(seen.length);
    const seenSet = new Set(seen);
    expect(expected.filter((id) => !seenSet.has(id))).toEqual([]);
  }

  test("desc (POST /v1/events/query): newer events inserted between pages never shift the walk", async () => {
    const h = await createHarness();
    const originals = await threeHundred(h);
    const newer: string[] = [];
    const older: string[] = [];
    const seen = await walk(
      (cursor) =>
        h.call("POST", "/v1/events/query", {
          body: { event_name: "page", order: "desc", page_size: 7, ...(cursor ? { iter_last_key: cursor } : {}) },
        }),
      async (page) => {
        if (page > 40) return;
        // Newer than everything: sorts before the cursor in desc order. Older than everything: after it.
        newer.push(
          await ingest(h, {
            event_name: "page",
            external_customer_id: "c",
            event_id: `new-${page}`,
            timestamp: at(BASE + 10_000_000 + page * 1000),
          }),
        );
        older.push(
          await ingest(h, {
            event_name: "page",
            external_customer_id: "c",
            event_id: `old-${page}`,
            timestamp: at(BASE - 10_000_000 - page * 1000),
          }),
        );
      },
    );
    expectEachOnce(seen, [...originals, ...older]);
    expect(seen.filter((id) => newer.includes(id))).toEqual([]);
    // The originals come in exact descending order, followed by the older ones.
    expect(seen.slice(0, 300)).toEqual([...originals].reverse());
    expect(seen).toHaveLength(300 + older.length);
  });

  test("asc (GET /v1/events): older events inserted between pages never shift the walk", async () => {
    const h = await createHarness();
    const originals = await threeHundred(h);
    const newer: string[] = [];
    const older: string[] = [];
    const seen = await walk(
      (cursor) =>
        h.call("GET", `/v1/events?event_name=page&order=asc&page_size=7${cursor ? `&iter_last_key=${cursor}` : ""}`),
      async (page) => {
        if (page > 40) return;
        older.push(
          await ingest(h, {
            event_name: "page",
            external_customer_id: "c",
            event_id: `old-${page}`,
            timestamp: at(BASE - 10_000_000 - page * 1000),
          }),
        );
        newer.push(
          await ingest(h, {
            event_name: "page",
            external_customer_id: "c",
            event_id: `new-${page}`,
            timestamp: at(BASE + 10_000_000 + page * 1000),
          }),
        );
      },
    );
    expectEachOnce(seen, [...originals, ...newer]);
    expect(seen.filter((id) => older.includes(id))).toEqual([]);
    expect(seen.slice(0, 300)).toEqual(originals);
  });

  test("ingestion racing each page fetch: every original exactly once, no id twice", async () => {
    const h = await createHarness();
    const originals = await threeHundred(h);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 1; page < 200; page++) {
      const body = { event_name: "page", order: "desc", page_size: 7, ...(cursor ? { iter_last_key: cursor } : {}) };
      const [res] = await Promise.all([
        h.call("POST", "/v1/events/query", { body }),
        h.call("POST", "/v1/events/bulk", {
          body: {
            events: [
              { event_name: "page", external_customer_id: "c", timestamp: at(BASE + 10_000_000 + page * 1000) },
              { event_name: "page", external_customer_id: "c", timestamp: at(BASE - 10_000_000 - page * 1000) },
              // Same timestamp as an original: the tie is broken by insertion order, still never repeated.
              { event_name: "page", external_customer_id: "c", timestamp: at(BASE + ((page * 37) % 300) * 1000) },
            ],
          },
        }),
      ]);
      expect(res?.status).toBe(200);
      seen.push(...ids(res as CallResult));
      if (!res?.body.has_more) break;
      cursor = res.body.iter_last_key;
    }
    expectEachOnce(seen, originals);
  });

  test("many events sharing one timestamp page without repeats or gaps", async () => {
    const h = await createHarness();
    const events = Array.from({ length: 50 }, (_, i) => ({
      event_id: `same-${i}`,
      event_name: "tie",
      external_customer_id: "c",
      timestamp: "2025-02-02T00:00:00Z",
    }));
    await bulk(h, events);
    for (const order of ["asc", "desc"]) {
      const seen = await walk(
        (cursor) =>
          h.call("POST", "/v1/events/query", {
            body: { event_name: "tie", order, page_size: 7, ...(cursor ? { iter_last_key: cursor } : {}) },
          }),
        async () => {},
      );
      expect(seen).toHaveLength(50);
      expectEachOnce(
        seen,
        events.map((e) => e.event_id),
      );
    }
  });
});

describe("POST /v1/events/usage", () => {
  const START = "2025-03-01T00:00:00Z";
  const END = "2025-03-03T00:00:00Z";

  async function seeded() {
    const h = await createHarness();
    await bulk(h, [
      {
        event_name: "tokens",
        external_customer_id: "c1",
        timestamp: "2025-03-01T10:00:10Z",
        properties: { n: 5, model: "a" },
      },
      // 10:00:50 UTC, sent with an offset: windows are computed in UTC.
      {
        event_name: "tokens",
        external_customer_id: "c1",
        timestamp: "2025-03-01T11:00:50+01:00",
        properties: { n: 7, model: "b" },
      },
      {
        event_name: "tokens",
        external_customer_id: "c1",
        timestamp: "2025-03-01T10:01:30Z",
        properties: { n: "lots", model: "a" },
      },
      {
        event_name: "tokens",
        external_customer_id: "c1",
        timestamp: "2025-03-01T11:15:00Z",
        properties: { n: 2.5, model: "c" },
      },
      {
        event_name: "tokens",
        external_customer_id: "c1",
        timestamp: "2025-03-02T09:00:00Z",
        properties: { n: 10, model: "a" },
      },
      {
        event_name: "tokens",
        external_customer_id: "c2",
        timestamp: "2025-03-01T10:00:20Z",
        properties: { n: 100, model: "z" },
      },
      // Outside the range: just before the start, exactly at the (exclusive) end.
      {
        event_name: "tokens",
        external_customer_id: "c1",
        timestamp: "2025-02-28T23:59:59Z",
        properties: { n: 1000, model: "x" },
      },
      { event_name: "tokens", external_customer_id: "c1", timestamp: END, properties: { n: 1000, model: "y" } },
      // Another event name.
      {
        event_name: "other",
        external_customer_id: "c1",
        timestamp: "2025-03-01T10:00:00Z",
        properties: { n: 1000, model: "o" },
      },
    ]);
    return h;
  }

  async function usage(h: Harness, body: Record<string, unknown>, key?: string) {
    const res = await h.call("POST", "/v1/events/usage", {
      key,
      body: { event_name: "tokens", start_time: START, end_time: END, ...body },
    });
    expect(res.status).toBe(200);
    return res.body as {
      event_name: string;
      type: string;
      value: unknown;
      results: { window_size: string; value: unknown }[];
    };
  }

  test("each aggregation over the whole range, for one customer and for all", async () => {
    const h = await seeded();
    const c1 = { external_customer_id: "c1" };
    expect(await usage(h, { ...c1, aggregation_type: "COUNT" })).toMatchObject({
      event_name: "tokens",
      type: "COUNT",
      value: 5,
    });
    expect((await usage(h, { ...c1, aggregation_type: "SUM", property_name: "n" })).value).toBe(24.5);
    expect((await usage(h, { ...c1, aggregation_type: "MAX", property_name: "n" })).value).toBe(10);
    expect((await usage(h, { ...c1, aggregation_type: "COUNT_UNIQUE", property_name: "model" })).value).toBe(3);
    expect((await usage(h, { ...c1, aggregation_type: "LATEST", property_name: "n" })).value).toBe(10);
    // LATEST reads numbers, like SUM and MAX: a property that never holds one has no latest value.
    expect((await usage(h, { ...c1, aggregation_type: "LATEST", property_name: "model" })).value).toBe(null);

    expect((await usage(h, { aggregation_type: "COUNT" })).value).toBe(6);
    expect((await usage(h, { aggregation_type: "SUM", property_name: "n" })).value).toBe(124.5);
    expect((await usage(h, { aggregation_type: "MAX", property_name: "n" })).value).toBe(100);
    expect((await usage(h, { aggregation_type: "COUNT_UNIQUE", property_name: "model" })).value).toBe(4);
    expect(await usage(h, { aggregation_type: "SUM", property_name: "n" })).toMatchObject({
      event_name: "tokens",
      type: "SUM",
    });
  });

  test("SUM and MAX read numbers sent as text and ignore any other value instead of coercing or failing", async () => {
    const h = await createHarness();
    await bulk(h, [
      { event_name: "tokens", external_customer_id: "c", timestamp: "2025-03-01T10:00:00Z", properties: { n: "999" } },
      { event_name: "tokens", external_customer_id: "c", timestamp: "2025-03-01T10:00:01Z", properties: { n: "lots" } },
      { event_name: "tokens", external_customer_id: "c", timestamp: "2025-03-01T10:00:02Z", properties: { n: 3 } },
      { event_name: "tokens", external_customer_id: "c", timestamp: "2025-03-01T10:00:03Z", properties: { n: true } },
      { event_name: "tokens", external_customer_id: "c", timestamp: "2025-03-01T10:00:04Z", properties: {} },
    ]);
    // "999" is a number as text (the SDK sends every property so); "lots", true and {} are not.
    expect((await usage(h, { aggregation_type: "SUM", property_name: "n" })).value).toBe(1002);
    expect((await usage(h, { aggregation_type: "MAX", property_name: "n" })).value).toBe(999);
    expect((await usage(h, { aggregation_type: "COUNT" })).value).toBe(5);
  });

  test("nothing in range: COUNT and SUM are 0, with no windows", async () => {
    const h = await seeded();
    const empty = { start_time: "2024-01-01T00:00:00Z", end_time: "2024-01-02T00:00:00Z" };
    expect((await usage(h, { ...empty, aggregation_type: "COUNT" })).value).toBe(0);
    expect((await usage(h, { ...empty, aggregation_type: "SUM", property_name: "n" })).value).toBe(0);
    expect((await usage(h, { ...empty, aggregation_type: "COUNT", window_size: "DAY" })).results).toEqual([]);
  });

  test("window_size MINUTE: one result per minute with events, keyed by the window start in UTC", async () => {
    const h = await seeded();
    const c1 = { external_customer_id: "c1", window_size: "MINUTE" };
    const count = await usage(h, { ...c1, aggregation_type: "COUNT" });
    expect(count.value).toBe(5);
    expect(count.results).toEqual([
      { window_size: "2025-03-01T10:00:00.000Z", value: 2 },
      { window_size: "2025-03-01T10:01:00.000Z", value: 1 },
      { window_size: "2025-03-01T11:15:00.000Z", value: 1 },
      { window_size: "2025-03-02T09:00:00.000Z", value: 1 },
    ]);
    const sum = await usage(h, { ...c1, aggregation_type: "SUM", property_name: "n" });
    expect(sum.results.map((r) => r.value)).toEqual([12, 0, 2.5, 10]);
    const latest = await usage(h, { ...c1, aggregation_type: "LATEST", property_name: "n" });
    // 10:01 holds only "lots": no number, so no latest value.
    expect(latest.results.map((r) => r.value)).toEqual([7, null, 2.5, 10]);
  });

  test("window_size HOUR", async () => {
    const h = await seeded();
    const c1 = { external_customer_id: "c1", window_size: "HOUR" };
    expect((await usage(h, { ...c1, aggregation_type: "COUNT" })).results).toEqual([
      { window_size: "2025-03-01T10:00:00.000Z", value: 3 },
      { window_size: "2025-03-01T11:00:00.000Z", value: 1 },
      { window_size: "2025-03-02T09:00:00.000Z", value: 1 },
    ]);
    expect(
      (await usage(h, { ...c1, aggregation_type: "SUM", property_name: "n" })).results.map((r) => r.value),
    ).toEqual([12, 2.5, 10]);
    expect(
      (await usage(h, { ...c1, aggregation_type: "MAX", property_name: "n" })).results.map((r) => r.value),
    ).toEqual([7, 2.5, 10]);
    expect(
      (await usage(h, { ...c1, aggregation_type: "COUNT_UNIQUE", property_name: "model" })).results.map((r) => r.value),
    ).toEqual([2, 1, 1]);
  });

  test("window_size DAY, for every aggregation", async () => {
    const h = await seeded();
    const c1 = { external_customer_id: "c1", window_size: "DAY" };
    const days = ["2025-03-01T00:00:00.000Z", "2025-03-02T00:00:00.000Z"];
    const expected: [Record<string, unknown>, unknown, unknown[]][] = [
      [{ aggregation_type: "COUNT" }, 5, [4, 1]],
      [{ aggregation_type: "SUM", property_name: "n" }, 24.5, [14.5, 10]],
      [{ aggregation_type: "MAX", property_name: "n" }, 10, [7, 10]],
      [{ aggregation_type: "COUNT_UNIQUE", property_name: "model" }, 3, [3, 1]],
      [{ aggregation_type: "LATEST", property_name: "n" }, 10, [2.5, 10]],
    ];
    for (const [body, total, perDay] of expected) {
      const res = await usage(h, { ...c1, ...body });
      expect({ body, value: res.value, results: res.results }).toEqual({
        body,
        value: total,
        results: days.map((d, i) => ({ window_size: d, value: perDay[i] })),
      });
    }
    // Everyone, per day: c2's 100 joins the first day.
    const all = await usage(h, { window_size: "DAY", aggregation_type: "SUM", property_name: "n" });
    expect(all.results).toEqual([
      { window_size: days[0], value: 114.5 },
      { window_size: days[1], value: 10 },
    ]);
  });

  test("property_name is required except for COUNT; bad requests are 400", async () => {
    const h = await seeded();
    const base = { event_name: "tokens", start_time: START, end_time: END };
    for (const type of ["SUM", "MAX", "COUNT_UNIQUE", "LATEST", "AVG", "SUM_WITH_MULTIPLIER", "WEIGHTED_SUM"]) {
      const res = await h.call("POST", "/v1/events/usage", { body: { ...base, aggregation_type: type } });
      expectValidationError(res, "property_name");
    }
    const bad: [Record<string, unknown>, string][] = [
      [{ ...base, aggregation_type: "MEDIAN" }, "aggregation_type"],
      [{ ...base, aggregation_type: "COUNT", window_size: "YEAR" }, "window_size"],
      [{ start_time: START, end_time: END, aggregation_type: "COUNT" }, "event_name"],
      [{ ...base, aggregation_type: "COUNT", start_time: "2025-03-01" }, "start_time"],
      [{ ...base, aggregation_type: "COUNT", extra: 1 }, "extra"],
      [{ ...base, start_time: END, end_time: START, aggregation_type: "COUNT" }, "end_time"],
    ];
    for (const [body, field] of bad) expectValidationError(await h.call("POST", "/v1/events/usage", { body }), field);
  });
});

describe("who may send and read events (seed scenarios)", () => {
  const reads = (id: string): [string, string, unknown?][] => [
    ["GET", "/v1/events"],
    ["POST", "/v1/events/query", {}],
    ["GET", `/v1/events/${id}`],
    [
      "POST",
      "/v1/events/usage",
      {
        event_name: "api_call",
        aggregation_type: "COUNT",
        start_time: "2025-01-01T00:00:00Z",
        end_time: "2030-01-01T00:00:00Z",
      },
    ],
  ];

  test("an event_ingestor key sends events (202) but gets 403 reading them and on customers", async () => {
    const h = await createHarness();
    const key = await serviceAccountKey(h, ["event_ingestor"]);
    const sent = await h.call("POST", "/v1/events", { key, body: { ...valid, event_id: "from-ingestor" } });
    expect(sent.status).toBe(202);
    const sentBulk = await h.call("POST", "/v1/events/bulk", {
      key,
      body: { events: [{ ...valid, event_id: "bulk-ingestor" }] },
    });
    expect(sentBulk.status).toBe(202);
    expect((await h.call("GET", "/v1/events/from-ingestor")).status).toBe(200);

    for (const [method, path, body] of reads("from-ingestor")) {
      const res = await h.call(method, path, { key, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
      expect(errorOf(res)).toEqual({
        message: "Insufficient permissions",
        internal_error: "permission_denied",
        details: { required: "event:read", roles: ["event_ingestor"] },
      });
    }
    const list = await h.call("GET", "/v1/customers", { key });
    expect(list.status).toBe(403);
    expect(errorOf(list).details).toEqual({ required: "customer:read", roles: ["event_ingestor"] });
    const create = await h.call("POST", "/v1/customers", { key, body: { external_id: "sneaky" } });
    expect(create.status).toBe(403);
    expect(errorOf(create).details).toEqual({ required: "customer:write", roles: ["event_ingestor"] });
    expect(((await h.context.db.get("SELECT count(*) AS n FROM customers")) as { n: number }).n).toBe(0);
  });

  test("an event_reader key reads events but gets 403 sending them and changing customers", async () => {
    const h = await createHarness();
    await ingest(h, { ...valid, event_id: "readable" });
    const key = await serviceAccountKey(h, ["event_reader"]);
    for (const [method, path, body] of reads("readable")) {
      const res = await h.call(method, path, { key, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 200 });
    }
    expect(ids(await h.call("GET", "/v1/events", { key }))).toEqual(["readable"]);

    const refused: [string, unknown][] = [
      ["/v1/events", { ...valid, event_id: "from-reader" }],
      ["/v1/events/bulk", { events: [{ ...valid, event_id: "bulk-reader" }] }],
    ];
    for (const [path, body] of refused) {
      const res = await h.call("POST", path, { key, body });
      expect(res.status).toBe(403);
      expect(errorOf(res)).toEqual({
        message: "Insufficient permissions",
        internal_error: "permission_denied",
        details: { required: "event:write", roles: ["event_reader"] },
      });
    }
    expect(await countEvents(h)).toBe(1);

    const customer = await h.call("POST", "/v1/customers", { body: { external_id: "acme", name: "Acme" } });
    expect(customer.status).toBe(201);
    const changes: [string, string, unknown?][] = [
      ["POST", "/v1/customers", { external_id: "sneaky" }],
      ["PUT", `/v1/customers/${customer.body.id}`, { name: "Taken over" }],
      ["DELETE", `/v1/customers/${customer.body.id}`],
    ];
    for (const [method, path, body] of changes) {
      const res = await h.call(method, path, { key, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
      expect(errorOf(res).details).toEqual({ required: "customer:write", roles: ["event_reader"] });
    }
    const after = await h.call("GET", `/v1/customers/${customer.body.id}`);
    expect(after.body).toMatchObject({ name: "Acme", status: "published" });
    expect(((await h.context.db.get("SELECT count(*) AS n FROM customers")) as { n: number }).n).toBe(1);
  });

  test("a service account with both roles sends and reads", async () => {
    const h = await createHarness();
    const key = await serviceAccountKey(h, ["event_ingestor", "event_reader"]);
    expect((await h.call("POST", "/v1/events", { key, body: { ...valid, event_id: "both" } })).status).toBe(202);
    for (const [method, path, body] of reads("both")) {
      const res = await h.call(method, path, { key, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 200 });
    }
    const one = await h.call("GET", "/v1/events/both", { key });
    expect(one.body.event.id).toBe("both");
    // Still no customer access.
    expect((await h.call("GET", "/v1/customers", { key })).status).toBe(403);
  });

  test("a publishable key gets 403 on every event route, and nothing is stored", async () => {
    const h = await createHarness();
    await ingest(h, { ...valid, event_id: "existing" });
    const pk = await h.call("POST", "/v1/secrets/api/keys", { body: { name: "pk", type: "publishable_key" } });
    expect(pk.status).toBe(201);
    const key = pk.body.api_key as string;
    const routes: [string, string, unknown?][] = [
      ["POST", "/v1/events", { ...valid, event_id: "from-pk" }],
      ["POST", "/v1/events/bulk", { events: [{ ...valid, event_id: "bulk-pk" }] }],
      ...reads("existing"),
    ];
    for (const [method, path, body] of routes) {
      const res = await h.call(method, path, { key, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
      expect(errorOf(res)).toMatchObject({
        message: "Publishable keys cannot access this resource",
        internal_error: "permission_denied",
      });
    }
    expect(await countEvents(h)).toBe(1);
  });

  test("no key: 401 API key required on every event route", async () => {
    const h = await createHarness();
    for (const [method, path, body] of [["POST", "/v1/events", valid] as [string, string, unknown], ...reads("x")]) {
      const res = await h.call(method, path, { key: null, body });
      expect(res.status).toBe(401);
      expect(errorOf(res).message).toBe("API key required");
    }
    expect(await countEvents(h)).toBe(0);
  });
});

describe("isolation", () => {
  async function readAll(h: Harness, key: string, headers: Record<string, string> = {}) {
    return {
      list: await h.call("GET", "/v1/events", { key, headers }),
      byId: await h.call("GET", "/v1/events?event_id=secret-evt", { key, headers }),
      byCustomer: await h.call("POST", "/v1/events/query", { key, headers, body: { external_customer_id: "victim" } }),
      query: await h.call("POST", "/v1/events/query", { key, headers, body: {} }),
      one: await h.call("GET", "/v1/events/secret-evt", { key, headers }),
      usage: await h.call("POST", "/v1/events/usage", {
        key,
        headers,
        body: {
          event_name: "api_call",
          aggregation_type: "COUNT",
          start_time: "2025-01-01T00:00:00Z",
          end_time: "2026-01-01T00:00:00Z",
          window_size: "DAY",
        },
      }),
    };
  }

  function expectNothing(reads: Awaited<ReturnType<typeof readAll>>) {
    for (const res of [reads.list, reads.byId, reads.byCustomer, reads.query]) {
      expect(res.status).toBe(200);
      expect(res.body.events).toEqual([]);
      expect(res.body.total_count).toBe(0);
      expect(res.text).not.toContain("secret-evt");
    }
    expect(reads.one.status).toBe(404);
    expect(errorOf(reads.one).internal_error).toBe("not_found");
    expect(reads.usage.status).toBe(200);
    expect(reads.usage.body.value).toBe(0);
    expect(reads.usage.body.results).toEqual([]);
  }

  const secret = {
    event_id: "secret-evt",
    event_name: "api_call",
    external_customer_id: "victim",
    timestamp: "2025-05-05T05:05:05Z",
  };

  test("another environment never sees the event on any read route", async () => {
    const h = await createHarness();
    await ingest(h, secret);
    expectNothing(await readAll(h, DEV_KEY, { "X-Environment-ID": (await environmentOf(h, "production")).id }));
    // A stored key of the production environment sees nothing either.
    const prodKey = await h.call("POST", "/v1/secrets/api/keys", {
      headers: { "X-Environment-ID": (await environmentOf(h, "production")).id },
      body: { name: "prod" },
    });
    expect(prodKey.status).toBe(201);
    expectNothing(await readAll(h, prodKey.body.api_key));
    // And the development environment still does.
    expect((await h.call("GET", "/v1/events/secret-evt")).status).toBe(200);
  });

  test("another tenant never sees the event, and its own event with the same id is separate", async () => {
    const h = await createTwoTenantHarness();
    await ingest(h, { ...secret, properties: { owner: "one" } });
    expectNothing(await readAll(h, OTHER_TENANT_KEY));

    await ingest(h, { ...secret, properties: { owner: "two" } }, { key: OTHER_TENANT_KEY });
    expect(await countEvents(h, "id = ?", "secret-evt")).toBe(2);
    expect((await h.call("GET", "/v1/events/secret-evt")).body.event.properties).toEqual({ owner: "one" });
    const theirs = await h.call("GET", "/v1/events/secret-evt", { key: OTHER_TENANT_KEY });
    expect(theirs.body.event.properties).toEqual({ owner: "two" });
    const mine = await h.call("POST", "/v1/events/query", { body: {} });
    expect(mine.body.total_count).toBe(1);
  });

  test("another tenant's environment id is refused: 403", async () => {
    const h = await createTwoTenantHarness();
    await ingest(h, secret);
    const res = await h.call("GET", "/v1/events/secret-evt", {
      key: OTHER_TENANT_KEY,
      headers: { "X-Environment-ID": (await environmentOf(h, "development")).id },
    });
    expect(res.status).toBe(403);
    expect(errorOf(res).message).toBe("Invalid or inaccessible environment");
  });
});

describe("total_count of an unfiltered page (the per-scope running count)", () => {
  test("matches the rows stored, through duplicates, bulk batches and environments", async () => {
    const h = await createHarness();
    const prod = (await h.call("GET", "/v1/environments")).body.items.find(
      (e: { type: string }) => e.type === "production",
    ).id;
    await h.call("POST", "/v1/events", { body: { event_id: "a", event_name: "x", external_customer_id: "c" } });
    await h.call("POST", "/v1/events", { body: { event_id: "a", event_name: "x", external_customer_id: "c" } });
    await h.call("POST", "/v1/events/bulk", {
      body: {
        events: ["a", "b", "c", "c"].map((event_id) => ({ event_id, event_name: "x", external_customer_id: "c" })),
      },
    });
    await h.call("POST", "/v1/events", {
      headers: { "X-Environment-ID": prod },
      body: { event_id: "a", event_name: "x", external_customer_id: "c" },
    });
    const page = await h.call("POST", "/v1/events/query", { body: { page_size: 1 } });
    expect(page.body.total_count).toBe(3);
    const stored = await h.context.db.value("SELECT count(*) FROM events");
    expect(stored).toBe(4);
    const inProd = await h.call("POST", "/v1/events/query", { headers: { "X-Environment-ID": prod }, body: {} });
    expect(inProd.body.total_count).toBe(1);
  });
});
