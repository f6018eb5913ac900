// Issue 10, events: the official Flexprice client (@flexprice/sdk 2.0.1, unmodified) drives a real
// Tollgate process over loopback through every events operation whose route Tollgate serves,
// with a user account's key (the development key) and with service accounts' keys, and the
// values it gets back are checked, not only that nothing threw. The SDK validates each response
// against its own schema: a missing field or a text where it wants a number fails the call.
// The SDK types `properties` as Record<string, string>, so every number arrives as text ("42").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Flexprice } from "@flexprice/sdk";
import { ErrorsErrorsErrorResponse, SDKError } from "@flexprice/sdk/sdk/models";
import { failure, type SdkServer, serviceAccountKey, startSdkServer } from "../support/sdk";

let s: SdkServer;
let dev: Flexprice;
let ingestor: Flexprice;
let reader: Flexprice;

beforeAll(async () => {
  s = await startSdkServer();
  dev = s.client();
  ingestor = s.client(await serviceAccountKey(dev, ["event_ingestor"]));
  reader = s.client(await serviceAccountKey(dev, ["event_reader"]));
});
afterAll(async () => {
  await s.stop();
});

/** A 4XX/5XX the SDK has no typed error for (403, 404 on most operations): its SDKError with our body. */
async function httpFailure(call: Promise<unknown>, status: number) {
  const error = await failure(call);
  expect(error).toBeInstanceOf(SDKError);
  expect(error.statusCode).toBe(status);
  return JSON.parse(error.body).error as { message: string; internal_error: string; details?: unknown };
}

const at = (iso: string) => new Date(iso).toISOString();

describe("events.ingestEvent and events.ingestEventsBulk", () => {
  test("ingestEvent with the development key: 202, the event_id sent, stored as sent", async () => {
    const accepted = await dev.events.ingestEvent({
      eventId: "sdk-one",
      eventName: "sdk_ingest",
      externalCustomerId: "cus_sdk",
      customerId: "cust_internal",
      source: "sdk-test",
      timestamp: "2025-05-01T12:00:00+02:00",
      properties: { tokens: "130", region: "eu" },
    });
    expect(accepted).toEqual({ message: "Event accepted for processing", event_id: "sdk-one" });
    const got = await dev.events.getEvent("sdk-one");
    expect(got.event).toEqual({
      id: "sdk-one",
      eventName: "sdk_ingest",
      externalCustomerId: "cus_sdk",
      customerId: "cust_internal",
      source: "sdk-test",
      timestamp: "2025-05-01T10:00:00.000Z",
      properties: { tokens: "130", region: "eu" },
      environmentId: expect.stringMatching(/^env_/),
    });
  });

  test("ingestEvent with an event_ingestor key; without event_id one is generated", async () => {
    const accepted = await ingestor.events.ingestEvent({ eventName: "sdk_ingest", externalCustomerId: "cus_ing" });
    expect(accepted.message).toBe("Event accepted for processing");
    expect(accepted.event_id).toMatch(/^event_/);
    const got = await dev.events.getEvent(accepted.event_id as string);
    expect(got.event?.externalCustomerId).toBe("cus_ing");
    // Sent again with the same event_id: accepted, not stored twice.
    await ingestor.events.ingestEvent({ eventId: accepted.event_id, eventName: "sdk_ingest", externalCustomerId: "x" });
    const page = await dev.events.listRawEvents({ eventId: accepted.event_id });
    expect(page.events?.map((e) => e.externalCustomerId)).toEqual(["cus_ing"]);
  });

  test("ingestEventsBulk with both keys: 202, every event stored", async () => {
    for (const [sdk, prefix] of [
      [dev, "dev"],
      [ingestor, "ing"],
    ] as const) {
      const accepted = await sdk.events.ingestEventsBulk({
        events: [1, 2, 3].map((i) => ({
          eventId: `${prefix}-bulk-${i}`,
          eventName: "sdk_bulk",
          externalCustomerId: `cus_bulk_${prefix}`,
          timestamp: at(`2025-05-02T00:00:0${i}Z`),
          properties: { i: String(i) },
        })),
      });
      expect(accepted).toEqual({ message: "Events accepted for processing" });
      const page = await dev.events.listRawEvents({ externalCustomerId: `cus_bulk_${prefix}`, order: "asc" });
      expect(page.events?.map((e) => [e.id, e.properties])).toEqual([
        [`${prefix}-bulk-1`, { i: "1" }],
        [`${prefix}-bulk-2`, { i: "2" }],
        [`${prefix}-bulk-3`, { i: "3" }],
      ]);
    }
  });

  test("a bad event is a 400 the SDK raises as ErrorsErrorsErrorResponse, with our message", async () => {
    const error = await failure(
      dev.events.ingestEventsBulk({
        events: [
          { eventName: "ok", externalCustomerId: "c" },
          { eventName: "bad", externalCustomerId: "c", timestamp: "yesterday" },
        ],
      }),
    );
    expect(error).toBeInstanceOf(ErrorsErrorsErrorResponse);
    expect(error.statusCode).toBe(400);
    const typed = error as ErrorsErrorsErrorResponse;
    expect(typed.error?.internalError).toBe("validation_error");
    expect(typed.message).toContain("events[1].timestamp");
  });

  test("an event_reader key may not ingest: 403 naming event:write", async () => {
    const error = await httpFailure(reader.events.ingestEvent({ eventName: "e", externalCustomerId: "c" }), 403);
    expect(error).toMatchObject({ internal_error: "permission_denied", details: { required: "event:write" } });
  });
});

describe("events.listRawEvents (POST /v1/events/query)", () => {
  const NAME = "sdk_list";
  /** Ten events a minute apart, e0 oldest; even ones in region eu. */
  beforeAll(async () => {
    await dev.events.ingestEventsBulk({
      events: Array.from({ length: 10 }, (_, i) => ({
        eventId: `list-${i}`,
        eventName: i < 4 ? NAME : `${NAME}_b`,
        externalCustomerId: "cus_list",
        timestamp: at(`2025-06-01T10:0${i}:00Z`),
        properties: { region: i % 2 === 0 ? "eu" : "us", n: String(i) },
      })),
    });
  });
  const ids = (page: { events?: { id?: string }[] | undefined }) => page.events?.map((e) => e.id);

  test("one page, every field of the response, with the development key and an event_reader key", async () => {
    for (const sdk of [dev, reader]) {
      const page = await sdk.events.listRawEvents({ externalCustomerId: "cus_list", pageSize: 3 });
      expect(ids(page)).toEqual(["list-9", "list-8", "list-7"]);
      expect(page).toMatchObject({ hasMore: true, totalCount: 10, offset: 3 });
      expect(typeof page.iterFirstKey).toBe("string");
      expect(typeof page.iterLastKey).toBe("string");
      expect(page.events?.[0]).toEqual({
        id: "list-9",
        eventName: `${NAME}_b`,
        externalCustomerId: "cus_list",
        customerId: undefined,
        source: undefined,
        timestamp: "2025-06-01T10:09:00.000Z",
        properties: { region: "us", n: "9" },
        environmentId: expect.stringMatching(/^env_/),
      });
    }
  });

  test("keyset pages: iterLastKey forward, iterFirstKey back, never a repeat or a gap", async () => {
    const base = { externalCustomerId: "cus_list", pageSize: 4, order: "asc" };
    const first = await reader.events.listRawEvents(base);
    expect(ids(first)).toEqual(["list-0", "list-1", "list-2", "list-3"]);
    const second = await reader.events.listRawEvents({ ...base, iterLastKey: first.iterLastKey });
    expect(ids(second)).toEqual(["list-4", "list-5", "list-6", "list-7"]);
    expect(second).toMatchObject({ hasMore: true, offset: 8, totalCount: 10 });
    const third = await reader.events.listRawEvents({ ...base, iterLastKey: second.iterLastKey });
    expect(ids(third)).toEqual(["list-8", "list-9"]);
    expect(third).toMatchObject({ hasMore: false, offset: 10 });
    // Back from the third page: the second again, then the first (nothing before it).
    const back = await reader.events.listRawEvents({ ...base, iterFirstKey: third.iterFirstKey });
    expect(ids(back)).toEqual(["list-4", "list-5", "list-6", "list-7"]);
    expect(back).toMatchObject({ hasMore: true, offset: 8 });
    const start = await reader.events.listRawEvents({ ...base, iterFirstKey: back.iterFirstKey });
    expect(ids(start)).toEqual(["list-0", "list-1", "list-2", "list-3"]);
    expect(start).toMatchObject({ hasMore: false, offset: 4 });
  });

  test("iterFirstKey in the default (newest first) order: what arrived since the page was read", async () => {
    const poll = { externalCustomerId: "cus_poll", pageSize: 2 };
    const send = (eventId: string, timestamp: string) =>
      dev.events.ingestEvent({ eventId, eventName: NAME, externalCustomerId: "cus_poll", timestamp });
    await send("poll-1", "2025-06-02T10:00:00Z");
    await send("poll-2", "2025-06-02T10:01:00Z");
    await send("poll-3", "2025-06-02T10:02:00Z");
    const top = await reader.events.listRawEvents(poll);
    expect(ids(top)).toEqual(["poll-3", "poll-2"]);
    const nothingYet = await reader.events.listRawEvents({ ...poll, iterFirstKey: top.iterFirstKey });
    expect(nothingYet).toMatchObject({ events: [], hasMore: false });
    for (let i = 4; i <= 6; i++) await send(`poll-${i}`, `2025-06-02T10:0${i}:00Z`);
    // The page just above the top one, newest first: the next poll continues from its iterFirstKey.
    const newer = await reader.events.listRawEvents({ ...poll, iterFirstKey: top.iterFirstKey });
    expect(ids(newer)).toEqual(["poll-5", "poll-4"]);
    expect(newer.hasMore).toBe(true);
    const newest = await reader.events.listRawEvents({ ...poll, iterFirstKey: newer.iterFirstKey });
    expect(ids(newest)).toEqual(["poll-6"]);
    expect(newest.hasMore).toBe(false);
  });

  test("offset pages, and offset sent back with the cursor it came with", async () => {
    const base = { externalCustomerId: "cus_list", eventName: `${NAME}_b`, pageSize: 4, order: "asc" };
    const first = await reader.events.listRawEvents(base);
    expect(ids(first)).toEqual(["list-4", "list-5", "list-6", "list-7"]);
    const second = await reader.events.listRawEvents({ ...base, offset: first.offset });
    expect(ids(second)).toEqual(["list-8", "list-9"]);
    expect(second).toMatchObject({ hasMore: false, offset: 6, totalCount: 6 });
    // A client that sends back both the cursor and the offset of one page gets the next page.
    const both = await reader.events.listRawEvents({ ...base, offset: first.offset, iterLastKey: first.iterLastKey });
    expect(ids(both)).toEqual(["list-8", "list-9"]);
  });

  test("sort event_name, property filters, time range", async () => {
    const sorted = await reader.events.listRawEvents({
      externalCustomerId: "cus_list",
      sort: "event_name",
      order: "asc",
      pageSize: 5,
    });
    expect(ids(sorted)).toEqual(["list-0", "list-1", "list-2", "list-3", "list-4"]);
    const next = await reader.events.listRawEvents({
      externalCustomerId: "cus_list",
      sort: "event_name",
      order: "asc",
      pageSize: 5,
      iterLastKey: sorted.iterLastKey,
    });
    expect(ids(next)).toEqual(["list-5", "list-6", "list-7", "list-8", "list-9"]);
    const eu = await reader.events.listRawEvents({
      externalCustomerId: "cus_list",
      propertyFilters: { region: ["eu"] },
      startTime: "2025-06-01T10:02:00Z",
      endTime: "2025-06-01T10:08:00Z",
      order: "asc",
    });
    expect(ids(eu)).toEqual(["list-2", "list-4", "list-6"]);
  });

  test("a bad sort is a 400 ErrorsErrorsErrorResponse naming it; an event_ingestor key gets 403", async () => {
    const error = await failure(dev.events.listRawEvents({ sort: "customer" }));
    expect(error).toBeInstanceOf(ErrorsErrorsErrorResponse);
    expect(error.statusCode).toBe(400);
    expect(JSON.parse(error.body).error.details).toHaveProperty("sort");
    const denied = await httpFailure(ingestor.events.listRawEvents({}), 403);
    expect(denied.details).toMatchObject({ required: "event:read" });
  });
});

describe("events.getEvent", () => {
  test("every field, with an event_reader key", async () => {
    await dev.events.ingestEvent({
      eventId: "get-me",
      eventName: "sdk_get",
      externalCustomerId: "cus_get",
      timestamp: "2025-07-01T00:00:00Z",
      properties: { gb: "1.5" },
    });
    const got = await reader.events.getEvent("get-me");
    expect(got).toEqual({
      event: {
        id: "get-me",
        eventName: "sdk_get",
        externalCustomerId: "cus_get",
        customerId: undefined,
        source: undefined,
        timestamp: "2025-07-01T00:00:00.000Z",
        properties: { gb: "1.5" },
        environmentId: expect.stringMatching(/^env_/),
      },
      status: "processed",
      // Sent as null (the SDK wants the keys present) and read by the SDK as undefined.
      debugTracker: undefined,
      processedEvents: undefined,
    });
  });

  test("an unknown id is a 404 ErrorsErrorsErrorResponse: Event not found", async () => {
    const error = await failure(dev.events.getEvent("no-such-event"));
    expect(error).toBeInstanceOf(ErrorsErrorsErrorResponse);
    expect(error.statusCode).toBe(404);
    expect(error.message).toBe("Event not found");
  });
});

describe("events.getUsageStatistics (POST /v1/events/usage)", () => {
  const START = "2025-08-04T00:00:00Z"; // a Monday
  const END = "2025-08-18T00:00:00Z";
  const range = { startTime: START, endTime: END };
  beforeAll(async () => {
    const events: [string, string, Record<string, string>][] = [
      ["2025-08-04T10:05:00Z", "c1", { n: "2", server: "s1" }],
      ["2025-08-04T10:40:00Z", "c1", { n: "4", server: "s2" }],
      ["2025-08-04T10:50:00Z", "c1", { n: "3", server: "s1" }],
      ["2025-08-04T11:10:00Z", "c1", { n: "9", server: "s1" }],
      ["2025-08-05T00:00:00Z", "c1", { n: "n/a", server: "s2" }],
      ["2025-08-12T06:00:00Z", "c2", { n: "12.5", server: "s2" }],
      // Outside the range.
      ["2025-08-18T00:00:00Z", "c1", { n: "1000", server: "s1" }],
    ];
    await dev.events.ingestEventsBulk({
      events: events.map(([timestamp, customer, properties], i) => ({
        eventId: `usage-${i}`,
        eventName: "sdk_usage",
        externalCustomerId: customer,
        timestamp,
        properties,
      })),
    });
  });
  const usage = (sdk: Flexprice, body: Omit<Parameters<Flexprice["events"]["getUsageStatistics"]>[0], "eventName">) =>
    sdk.events.getUsageStatistics({ eventName: "sdk_usage", ...range, ...body });

  test("each aggregation reads numbers sent as text, with both keys", async () => {
    for (const sdk of [dev, reader]) {
      const expected: [Parameters<typeof usage>[1], number | undefined][] = [
        [{ aggregationType: "COUNT" }, 6],
        [{ aggregationType: "SUM", propertyName: "n" }, 30.5],
        [{ aggregationType: "MAX", propertyName: "n" }, 12.5],
        [{ aggregationType: "AVG", propertyName: "n" }, 6.1],
        [{ aggregationType: "COUNT_UNIQUE", propertyName: "server" }, 2],
        // The newest numeric value: the later "n/a" is not a number.
        [{ aggregationType: "LATEST", propertyName: "n", externalCustomerId: "c1" }, 9],
        [{ aggregationType: "SUM_WITH_MULTIPLIER", propertyName: "n", multiplier: "2.5" }, 76.25],
        [{ aggregationType: "SUM", propertyName: "n", filters: { server: ["s1"] } }, 14],
        [{ aggregationType: "SUM", propertyName: "n", externalCustomerId: "c2" }, 12.5],
        // No number at all: null on the wire, undefined once the SDK has read it.
        [{ aggregationType: "MAX", propertyName: "server" }, undefined],
      ];
      for (const [body, value] of expected) {
        const res = await usage(sdk, body);
        expect({ body, value: res.value, type: res.type, eventName: res.eventName, results: res.results }).toEqual({
          body,
          value: value as number,
          type: body.aggregationType,
          eventName: "sdk_usage",
          results: [],
        });
      }
    }
  });

  test("WEIGHTED_SUM weighs each value by the share of the range left after it", async () => {
    const res = await dev.events.getUsageStatistics({
      eventName: "sdk_usage",
      aggregationType: "WEIGHTED_SUM",
      propertyName: "n",
      externalCustomerId: "c2",
      startTime: "2025-08-12T00:00:00Z",
      endTime: "2025-08-13T00:00:00Z",
    });
    // 12.5 at 06:00 of a one-day range: three quarters of the range are left.
    expect(res.value).toBeCloseTo(9.375, 9);
  });

  test("windows: 15MIN, 3HOUR, DAY, WEEK (from Monday), MONTH, with and without a billing anchor", async () => {
    const c1 = { externalCustomerId: "c1" };
    const quarter = await usage(reader, { ...c1, aggregationType: "SUM", propertyName: "n", windowSize: "15MIN" });
    expect(quarter.value).toBe(18);
    expect(quarter.results).toEqual([
      { windowSize: "2025-08-04T10:00:00.000Z", value: 2 },
      { windowSize: "2025-08-04T10:30:00.000Z", value: 4 },
      { windowSize: "2025-08-04T10:45:00.000Z", value: 3 },
      { windowSize: "2025-08-04T11:00:00.000Z", value: 9 },
      { windowSize: "2025-08-05T00:00:00.000Z", value: 0 },
    ]);
    const threeHours = await usage(reader, { ...c1, aggregationType: "MAX", propertyName: "n", windowSize: "3HOUR" });
    expect(threeHours.results).toEqual([
      { windowSize: "2025-08-04T09:00:00.000Z", value: 9 },
      { windowSize: "2025-08-05T00:00:00.000Z", value: undefined },
    ]);
    const weeks = await usage(reader, { aggregationType: "COUNT", windowSize: "WEEK" });
    expect(weeks.results).toEqual([
      { windowSize: "2025-08-04T00:00:00.000Z", value: 5 },
      { windowSize: "2025-08-11T00:00:00.000Z", value: 1 },
    ]);
    const months = await usage(reader, { aggregationType: "AVG", propertyName: "n", windowSize: "MONTH" });
    expect(months.results).toEqual([{ windowSize: "2025-08-01T00:00:00.000Z", value: 6.1 }]);
    const anchored = await usage(reader, {
      aggregationType: "COUNT",
      windowSize: "MONTH",
      billingAnchor: "2025-01-05T00:00:00Z",
    });
    expect(anchored.results).toEqual([
      { windowSize: "2025-07-05T00:00:00.000Z", value: 4 },
      { windowSize: "2025-08-05T00:00:00.000Z", value: 2 },
    ]);
  });

  test("MAX with bucket_size: the sum of each bucket's maximum; group_by_property: per group first", async () => {
    const c1 = { externalCustomerId: "c1", aggregationType: "MAX", propertyName: "n" } as const;
    const bucketed = await usage(reader, { ...c1, bucketSize: "HOUR", endTime: "2025-08-05T00:00:00Z" });
    expect(bucketed.results).toEqual([
      { windowSize: "2025-08-04T10:00:00.000Z", value: 4 },
      { windowSize: "2025-08-04T11:00:00.000Z", value: 9 },
    ]);
    expect(bucketed.value).toBe(13);
    const grouped = await usage(reader, {
      ...c1,
      bucketSize: "HOUR",
      groupByProperty: "server",
      endTime: "2025-08-05T00:00:00Z",
    });
    // 10:00: s1's maximum 3 plus s2's 4; 11:00: s1's 9.
    expect(grouped.results).toEqual([
      { windowSize: "2025-08-04T10:00:00.000Z", value: 7 },
      { windowSize: "2025-08-04T11:00:00.000Z", value: 9 },
    ]);
    expect(grouped.value).toBe(16);
  });

  test("no start_time or end_time: the last 7 days", async () => {
    const now = Date.now();
    await dev.events.ingestEventsBulk({
      events: [
        { eventName: "sdk_recent", externalCustomerId: "c", timestamp: new Date(now - 3_600_000).toISOString() },
        { eventName: "sdk_recent", externalCustomerId: "c", timestamp: new Date(now - 6 * 86_400_000).toISOString() },
        { eventName: "sdk_recent", externalCustomerId: "c", timestamp: new Date(now - 8 * 86_400_000).toISOString() },
      ],
    });
    const res = await dev.events.getUsageStatistics({ eventName: "sdk_recent", aggregationType: "COUNT" });
    expect(res.value).toBe(2);
    const daily = await dev.events.getUsageStatistics({
      eventName: "sdk_recent",
      aggregationType: "COUNT",
      windowSize: "DAY",
    });
    expect(daily.results?.map((r) => r.value)).toEqual([1, 1]);
  });

  test("a refused request is a 400 ErrorsErrorsErrorResponse with our message", async () => {
    const cases: [Parameters<typeof usage>[1], string][] = [
      [{ aggregationType: "SUM" }, "property_name is required for SUM"],
      [{ aggregationType: "MEDIAN" as never, propertyName: "n" }, "aggregation_type"],
      [{ aggregationType: "SUM", propertyName: "n", multiplier: "2" }, "multiplier"],
      [{ aggregationType: "COUNT", bucketSize: "HOUR" }, "bucket_size"],
    ];
    for (const [body, says] of cases) {
      const error = await failure(usage(dev, body));
      expect(error).toBeInstanceOf(ErrorsErrorsErrorResponse);
      expect(error.statusCode).toBe(400);
      expect(error.message).toContain(says);
    }
  });

  test("an event_ingestor key may not read usage: 403", async () => {
    const error = await httpFailure(usage(ingestor, { aggregationType: "COUNT" }), 403);
    expect(error.details).toMatchObject({ required: "event:read" });
  });
});

describe("events operations Tollgate does not serve: 501 not_implemented, saying why", () => {
  const calls: [string, (sdk: Flexprice) => Promise<unknown>][] = [
    ["getUsageAnalytics", (sdk) => sdk.events.getUsageAnalytics({ externalCustomerId: "c" })],
    ["getUsageByMeter", (sdk) => sdk.events.getUsageByMeter({ meterId: "m" })],
    ["getHuggingfaceInferenceData", (sdk) => sdk.events.getHuggingfaceInferenceData()],
  ];
  for (const [name, call] of calls) {
    test(name, async () => {
      const error = await failure(call(dev));
      expect(error.statusCode).toBe(501);
      expect(JSON.parse(error.body)).toMatchObject({ code: "not_implemented", http_status_code: 501 });
    });
  }
});
