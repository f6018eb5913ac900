// Issue 10, usage at the HTTP level: every field the Flexprice API (and its SDK) sends to
// POST /v1/events/usage is honoured, or refused with a 400 naming it where ignoring it would
// give a wrong answer; every aggregation and window the SDK names works; numbers sent as text
// (as the SDK sends every property) count as numbers; and `value` is always a number or null.
// SPEC.md §0 "Wire fidelity", §6.
import { describe, expect, test } from "bun:test";
import { MAX_USAGE_WINDOWS } from "../src/modules/events/model";
import { StoreReaders } from "../src/reads/pool";
import { callApp, createHarness, errorOf, type Harness } from "./support/harness";
import { bulk, readerTollgate, refused, type Body } from "./support/events";
import { environmentOf } from "./support/keys";

describe("POST /v1/events/usage: Flexprice's request fields", () => {
  const RANGE = { start_time: "2025-03-01T00:00:00Z", end_time: "2025-04-01T00:00:00Z" };

  async function usage(h: Harness, body: Body) {
    const res = await h.call("POST", "/v1/events/usage", { body: { event_name: "u", ...RANGE, ...body } });
    expect({ status: res.status, text: res.text }).toMatchObject({ status: 200 });
    return res.body as {
      event_name: string;
      type: string;
      value: number | null;
      results: { window_size: string; value: number | null }[];
    };
  }
  const send = (h: Harness, rows: [string, Body, Body?][]) =>
    bulk(
      h,
      rows.map(([timestamp, properties, extra], i) => ({
        event_id: `u${i}`,
        event_name: "u",
        external_customer_id: "c1",
        timestamp,
        properties,
        ...extra,
      })),
    );

  test("numbers sent as text count as numbers for SUM, MAX, AVG, LATEST; other text never does", async () => {
    const h = await createHarness();
    await send(h, [
      ["2025-03-01T10:00:00Z", { n: "42" }],
      ["2025-03-01T10:01:00Z", { n: " 7 " }],
      ["2025-03-01T10:02:00Z", { n: "1e1" }],
      ["2025-03-01T10:03:00Z", { n: 1 }],
      ["2025-03-01T10:04:00Z", { n: "-0.5" }],
      // Not numbers: words, JSON5 and hexadecimal forms, one past the range of a double, booleans.
      ["2025-03-01T10:05:00Z", { n: "lots" }],
      ["2025-03-01T10:06:00Z", { n: "0x10" }],
      ["2025-03-01T10:07:00Z", { n: ".5" }],
      ["2025-03-01T10:08:00Z", { n: "1e999" }],
      ["2025-03-01T10:09:00Z", { n: "" }],
      ["2025-03-01T10:10:00Z", { n: true }],
      ["2025-03-01T10:11:00Z", { n: "[1]" }],
    ]);
    expect((await usage(h, { aggregation_type: "SUM", property_name: "n" })).value).toBe(59.5);
    expect((await usage(h, { aggregation_type: "MAX", property_name: "n" })).value).toBe(42);
    expect((await usage(h, { aggregation_type: "AVG", property_name: "n" })).value).toBe(11.9);
    expect((await usage(h, { aggregation_type: "LATEST", property_name: "n" })).value).toBe(-0.5);
    // The same per window and per group: the newest events of the hour hold no number.
    const hourly = await usage(h, { aggregation_type: "LATEST", property_name: "n", window_size: "HOUR" });
    expect(hourly).toMatchObject({ value: -0.5, results: [{ window_size: "2025-03-01T10:00:00.000Z", value: -0.5 }] });
    const grouped = await usage(h, { aggregation_type: "LATEST", property_name: "n", group_by_property: "none" });
    expect(grouped.value).toBe(-0.5);
    expect((await usage(h, { aggregation_type: "COUNT" })).value).toBe(12);
  });

  test("every aggregation answers a number or null, never text", async () => {
    const h = await createHarness();
    await send(h, [["2025-03-01T10:00:00Z", { n: "word", m: { nested: 1 } }]]);
    for (const aggregation_type of [
      "SUM",
      "MAX",
      "AVG",
      "LATEST",
      "COUNT_UNIQUE",
      "SUM_WITH_MULTIPLIER",
      "WEIGHTED_SUM",
    ]) {
      for (const property_name of ["n", "m"]) {
        const res = await usage(h, { aggregation_type, property_name, window_size: "DAY" });
        for (const value of [res.value, ...res.results.map((r) => r.value)]) {
          expect({ aggregation_type, property_name, type: value === null ? "null" : typeof value }).toMatchObject({
            type: expect.stringMatching(/^(number|null)$/),
          });
        }
      }
    }
  });

  test("AVG, SUM_WITH_MULTIPLIER (text or number) and WEIGHTED_SUM, overall and per window", async () => {
    const h = await createHarness();
    await send(h, [
      ["2025-03-01T00:00:00Z", { n: "4" }],
      ["2025-03-01T12:00:00Z", { n: 8 }],
      ["2025-03-02T00:00:00Z", { n: "6" }],
    ]);
    const day = { start_time: "2025-03-01T00:00:00Z", end_time: "2025-03-03T00:00:00Z", window_size: "DAY" };
    const avg = await usage(h, { ...day, aggregation_type: "AVG", property_name: "n" });
    expect(avg.value).toBe(6);
    expect(avg.results.map((r) => r.value)).toEqual([6, 6]);
    for (const multiplier of ["0.5", 0.5, "5e-1"]) {
      const sum = await usage(h, { ...day, aggregation_type: "SUM_WITH_MULTIPLIER", property_name: "n", multiplier });
      expect({ multiplier, value: sum.value, results: sum.results.map((r) => r.value) }).toEqual({
        multiplier,
        value: 9,
        results: [6, 3],
      });
    }
    // Without a multiplier, SUM_WITH_MULTIPLIER is SUM (Flexprice's default of 1).
    expect((await usage(h, { ...day, aggregation_type: "SUM_WITH_MULTIPLIER", property_name: "n" })).value).toBe(18);
    // Two days: 4 counts whole, 8 three quarters, 6 half.
    const weighted = await usage(h, { ...day, aggregation_type: "WEIGHTED_SUM", property_name: "n" });
    expect(weighted.value).toBeCloseTo(13, 9);
    expect(weighted.results.map((r) => r.value)).toEqual([expect.closeTo(10, 9), expect.closeTo(3, 9)]);
  });

  test("every window the SDK names, keyed by its start in UTC; weeks start on Monday", async () => {
    const h = await createHarness();
    // A Sunday evening, and the Monday after.
    await send(h, [
      ["2025-03-09T23:47:59.999Z", {}],
      ["2025-03-10T00:00:00Z", {}],
    ]);
    const expected: Record<string, string[]> = {
      MINUTE: ["2025-03-09T23:47:00.000Z", "2025-03-10T00:00:00.000Z"],
      "15MIN": ["2025-03-09T23:45:00.000Z", "2025-03-10T00:00:00.000Z"],
      "30MIN": ["2025-03-09T23:30:00.000Z", "2025-03-10T00:00:00.000Z"],
      HOUR: ["2025-03-09T23:00:00.000Z", "2025-03-10T00:00:00.000Z"],
      "3HOUR": ["2025-03-09T21:00:00.000Z", "2025-03-10T00:00:00.000Z"],
      "6HOUR": ["2025-03-09T18:00:00.000Z", "2025-03-10T00:00:00.000Z"],
      "12HOUR": ["2025-03-09T12:00:00.000Z", "2025-03-10T00:00:00.000Z"],
      DAY: ["2025-03-09T00:00:00.000Z", "2025-03-10T00:00:00.000Z"],
      WEEK: ["2025-03-03T00:00:00.000Z", "2025-03-10T00:00:00.000Z"],
      MONTH: ["2025-03-01T00:00:00.000Z"],
    };
    const range = { start_time: "2025-03-09T00:00:00Z", end_time: "2025-03-11T00:00:00Z" };
    for (const [window_size, starts] of Object.entries(expected)) {
      const res = await usage(h, { ...range, aggregation_type: "COUNT", window_size });
      expect({ window_size, results: res.results }).toEqual({
        window_size,
        results: starts.map((start) => ({ window_size: start, value: starts.length === 1 ? 2 : 1 })),
      });
    }
  });

  test("billing_anchor: MONTH windows from the anchor's day and time; the 31st falls on shorter months' last day", async () => {
    const h = await createHarness();
    await send(h, [
      ["2025-01-31T09:00:00Z", {}],
      ["2025-01-31T13:00:00Z", {}],
      ["2025-02-28T11:59:59Z", {}],
      ["2025-02-28T12:00:00Z", {}],
      ["2025-03-30T23:00:00Z", {}],
      ["2025-03-31T12:00:00Z", {}],
    ]);
    const range = { start_time: "2025-01-01T00:00:00Z", end_time: "2025-05-01T00:00:00Z" };
    const anchored = await usage(h, {
      ...range,
      aggregation_type: "COUNT",
      window_size: "MONTH",
      billing_anchor: "2024-12-31T13:00:00+01:00", // 12:00 UTC on the 31st
    });
    expect(anchored.results).toEqual([
      { window_size: "2024-12-31T12:00:00.000Z", value: 1 },
      { window_size: "2025-01-31T12:00:00.000Z", value: 2 },
      { window_size: "2025-02-28T12:00:00.000Z", value: 2 },
      { window_size: "2025-03-31T12:00:00.000Z", value: 1 },
    ]);
    const calendar = await usage(h, { ...range, aggregation_type: "COUNT", window_size: "MONTH" });
    expect(calendar.results.map((r) => [r.window_size.slice(0, 10), r.value])).toEqual([
      ["2025-01-01", 2],
      ["2025-02-01", 2],
      ["2025-03-01", 2],
    ]);
    // An anchor every month has (the 1st to the 28th), with a time of day.
    const fifteenth = await usage(h, {
      ...range,
      aggregation_type: "COUNT",
      window_size: "MONTH",
      billing_anchor: "2023-06-15T06:30:00Z",
    });
    expect(fifteenth.results).toEqual([
      { window_size: "2025-01-15T06:30:00.000Z", value: 2 },
      { window_size: "2025-02-15T06:30:00.000Z", value: 2 },
      { window_size: "2025-03-15T06:30:00.000Z", value: 2 },
    ]);
    await bulk(
      h,
      ["2025-04-15T06:29:59.999Z", "2025-04-15T06:30:00Z", "2025-01-01T00:00:00Z"].map((timestamp, i) => ({
        event_id: `edge${i}`,
        event_name: "u",
        external_customer_id: "c1",
        timestamp,
      })),
    );
    const edges = await usage(h, {
      ...range,
      aggregation_type: "COUNT",
      window_size: "MONTH",
      billing_anchor: "2023-06-15T06:30:00Z",
    });
    expect(edges.results).toEqual([
      { window_size: "2024-12-15T06:30:00.000Z", value: 1 },
      { window_size: "2025-01-15T06:30:00.000Z", value: 2 },
      { window_size: "2025-02-15T06:30:00.000Z", value: 2 },
      { window_size: "2025-03-15T06:30:00.000Z", value: 3 },
      { window_size: "2025-04-15T06:30:00.000Z", value: 1 },
    ]);
    // Other windows ignore it, as Flexprice documents.
    const days = await usage(h, {
      ...range,
      aggregation_type: "COUNT",
      window_size: "DAY",
      billing_anchor: "2025-01-15T00:00:00Z",
    });
    expect(days.results).toEqual((await usage(h, { ...range, aggregation_type: "COUNT", window_size: "DAY" })).results);
    refused(
      await h.call("POST", "/v1/events/usage", {
        body: { event_name: "u", aggregation_type: "COUNT", window_size: "MONTH", billing_anchor: "the 5th" },
      }),
      "billing_anchor",
    );
  });

  test("filters: the same rule and limits as property_filters; customer_id narrows like external_customer_id", async () => {
    const h = await createHarness();
    await send(h, [
      ["2025-03-01T10:00:00Z", { n: "1", region: "eu" }, { customer_id: "cust_a" }],
      ["2025-03-01T10:01:00Z", { n: "2", region: "us" }, { customer_id: "cust_b" }],
      ["2025-03-01T10:02:00Z", { n: "4", region: "eu", tier: "2" }, { customer_id: "cust_b" }],
    ]);
    const sum = (extra: Body) => usage(h, { aggregation_type: "SUM", property_name: "n", ...extra });
    expect((await sum({ filters: { region: ["eu"] } })).value).toBe(5);
    expect((await sum({ filters: { region: ["eu", "us"], tier: ["2"] } })).value).toBe(4);
    expect((await sum({ filters: { region: ["mars"] } })).value).toBe(0);
    expect((await sum({ customer_id: "cust_b" })).value).toBe(6);
    expect((await sum({ customer_id: "cust_b", filters: { region: ["eu"] } })).value).toBe(4);
    const tooMany = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`p${i}`, ["x"]]));
    for (const filters of [tooMany, { region: "eu" }, { "bad name": ["x"] }, { region: [] }]) {
      refused(
        await h.call("POST", "/v1/events/usage", { body: { event_name: "u", aggregation_type: "COUNT", filters } }),
        "filters",
      );
    }
  });

  test("bucket_size: MAX is the sum of each bucket's maximum, SUM the sum; other aggregations are refused", async () => {
    const h = await createHarness();
    await send(h, [
      ["2025-03-01T10:05:00Z", { n: "2" }],
      ["2025-03-01T10:40:00Z", { n: "5" }],
      ["2025-03-01T12:10:00Z", { n: "3" }],
      ["2025-03-01T12:20:00Z", { n: "x" }],
    ]);
    const max = await usage(h, { aggregation_type: "MAX", property_name: "n", bucket_size: "HOUR" });
    expect(max).toMatchObject({
      value: 8,
      results: [
        { window_size: "2025-03-01T10:00:00.000Z", value: 5 },
        { window_size: "2025-03-01T12:00:00.000Z", value: 3 },
      ],
    });
    // window_size the same as bucket_size: the same answer.
    expect(
      await usage(h, { aggregation_type: "MAX", property_name: "n", bucket_size: "HOUR", window_size: "HOUR" }),
    ).toEqual(max);
    const sum = await usage(h, { aggregation_type: "SUM", property_name: "n", bucket_size: "DAY" });
    expect(sum).toMatchObject({ value: 10, results: [{ window_size: "2025-03-01T00:00:00.000Z", value: 10 }] });
    const empty = await usage(h, {
      aggregation_type: "MAX",
      property_name: "n",
      bucket_size: "DAY",
      start_time: "2024-01-01T00:00:00Z",
      end_time: "2024-01-02T00:00:00Z",
    });
    expect(empty).toMatchObject({ value: null, results: [] });

    const base = { event_name: "u", property_name: "n", ...RANGE };
    for (const aggregation_type of ["COUNT", "AVG", "LATEST", "COUNT_UNIQUE", "SUM_WITH_MULTIPLIER", "WEIGHTED_SUM"]) {
      const error = refused(
        await h.call("POST", "/v1/events/usage", { body: { ...base, aggregation_type, bucket_size: "HOUR" } }),
        "bucket_size",
      );
      expect(error.message).toBe("bucket_size applies to MAX and SUM only (use window_size for windows)");
    }
    refused(
      await h.call("POST", "/v1/events/usage", {
        body: { ...base, aggregation_type: "MAX", bucket_size: "HOUR", window_size: "DAY" },
      }),
      "bucket_size",
    );
    refused(
      await h.call("POST", "/v1/events/usage", {
        body: { ...base, aggregation_type: "MAX", bucket_size: "FORTNIGHT" },
      }),
      "bucket_size",
    );
    // The window cap counts bucket_size's windows too.
    const tooMany = await h.call("POST", "/v1/events/usage", {
      body: { ...base, aggregation_type: "MAX", bucket_size: "MINUTE", start_time: "2025-01-01T00:00:00Z" },
    });
    expect(Object.keys(refused(tooMany, "bucket_size").details ?? {})).toEqual(["bucket_size"]);
  });

  test("group_by_property: the aggregation per value of the property, then added up", async () => {
    const h = await createHarness();
    await send(h, [
      ["2025-03-01T10:00:00Z", { n: "3", server: "s1" }],
      ["2025-03-01T10:10:00Z", { n: "5", server: "s2" }],
      ["2025-03-01T10:20:00Z", { n: "4", server: "s1" }],
      ["2025-03-01T11:00:00Z", { n: "1", server: "s1" }],
      ["2025-03-01T11:30:00Z", { n: "2" }],
    ]);
    const by = (body: Body) => usage(h, { group_by_property: "server", property_name: "n", ...body });
    // MAX: s1 4, s2 5, (no server) 2.
    expect((await by({ aggregation_type: "MAX" })).value).toBe(11);
    // LATEST: s1's latest 1, s2's 5, no server's 2.
    expect((await by({ aggregation_type: "LATEST" })).value).toBe(8);
    expect((await by({ aggregation_type: "SUM" })).value).toBe(15);
    expect((await by({ aggregation_type: "COUNT" })).value).toBe(5);
    const hourly = await by({ aggregation_type: "MAX", window_size: "HOUR" });
    expect(hourly.results).toEqual([
      { window_size: "2025-03-01T10:00:00.000Z", value: 9 },
      { window_size: "2025-03-01T11:00:00.000Z", value: 3 },
    ]);
    // With bucket_size, Flexprice's bucketed MAX per group: the sum of every (bucket, group) maximum.
    expect((await by({ aggregation_type: "MAX", bucket_size: "HOUR" })).value).toBe(12);
    expect((await by({ aggregation_type: "MAX", property_name: "server" })).value).toBe(null);
    refused(
      await h.call("POST", "/v1/events/usage", {
        body: { event_name: "u", aggregation_type: "COUNT", group_by_property: "a b" },
      }),
      "group_by_property",
    );
  });

  test("multiplier: only with SUM_WITH_MULTIPLIER, and greater than 0", async () => {
    const h = await createHarness();
    const base = { event_name: "u", property_name: "n", ...RANGE };
    const call = (body: Body) => h.call("POST", "/v1/events/usage", { body: { ...base, ...body } });
    const wrongAggregation = refused(await call({ aggregation_type: "SUM", multiplier: "2" }), "multiplier");
    expect(wrongAggregation.message).toBe("multiplier applies to SUM_WITH_MULTIPLIER only");
    for (const multiplier of ["0", "-1", 0, -2.5, "1e999"]) {
      const error = refused(await call({ aggregation_type: "SUM_WITH_MULTIPLIER", multiplier }), "multiplier");
      expect(error.message).toBe("multiplier must be a number greater than 0");
    }
    for (const multiplier of ["two", "1,5", "", true, "0x10"]) {
      refused(await call({ aggregation_type: "SUM_WITH_MULTIPLIER", multiplier }), "multiplier");
    }
  });

  test("start_time and end_time default to the 7 days before now", async () => {
    const h = await createHarness();
    const now = Date.now();
    const ago = (ms: number) => new Date(now - ms).toISOString();
    const DAY = 86_400_000;
    await bulk(
      h,
      [ago(60_000), ago(3 * DAY), ago(6.9 * DAY), ago(7.1 * DAY), ago(20 * DAY), new Date(now + DAY).toISOString()].map(
        (timestamp, i) => ({ event_id: `d${i}`, event_name: "d", external_customer_id: "c", timestamp }),
      ),
    );
    const count = async (body: Body) => {
      const res = await h.call("POST", "/v1/events/usage", {
        body: { event_name: "d", aggregation_type: "COUNT", ...body },
      });
      expect(res.status).toBe(200);
      return res.body.value;
    };
    expect(await count({})).toBe(3);
    // Only end_time: the 7 days before it.
    expect(await count({ end_time: ago(5 * DAY) })).toBe(2);
    // Only start_time: up to now.
    expect(await count({ start_time: ago(30 * DAY) })).toBe(5);
    refused(
      await h.call("POST", "/v1/events/usage", {
        body: { event_name: "d", aggregation_type: "COUNT", start_time: new Date(now + 2 * DAY).toISOString() },
      }),
      "end_time",
    );
    // The default week holds exactly the window cap in minutes when it ends on a minute; ending
    // in the middle of one, it starts at the first whole minute rather than touch one more.
    const minutes = (end_time: string) =>
      h.call("POST", "/v1/events/usage", {
        body: { event_name: "d", aggregation_type: "COUNT", window_size: "MINUTE", end_time },
      });
    expect((await minutes("2025-06-08T00:00:00Z")).status).toBe(200);
    expect((await minutes("2025-06-08T00:00:30Z")).status).toBe(200);
    // A start_time the caller chose is never moved: the same range is refused.
    refused(
      await h.call("POST", "/v1/events/usage", {
        body: {
          event_name: "d",
          aggregation_type: "COUNT",
          window_size: "MINUTE",
          start_time: "2025-06-01T00:00:30Z",
          end_time: "2025-06-08T00:00:30Z",
        },
      }),
      "window_size",
    );
    expect(MAX_USAGE_WINDOWS).toBe(7 * 24 * 60);
  });

  test("the events of another environment never count", async () => {
    const h = await createHarness();
    await send(h, [["2025-03-01T10:00:00Z", { n: "5", server: "s1" }]]);
    const production = { "x-environment-id": (await environmentOf(h, "production")).id };
    for (const body of [
      { aggregation_type: "SUM", property_name: "n", group_by_property: "server" },
      { aggregation_type: "MAX", property_name: "n", bucket_size: "DAY" },
      { aggregation_type: "WEIGHTED_SUM", property_name: "n" },
    ]) {
      const res = await h.call("POST", "/v1/events/usage", {
        headers: production,
        body: { event_name: "u", ...RANGE, ...body },
      });
      expect(res.status).toBe(200);
      expect(res.body.value === 0 || res.body.value === null).toBe(true);
      expect(res.body.results).toEqual([]);
    }
  });
});

describe("the new aggregations keep the hardening: reader threads, the read budget", () => {
  test("they run on a reader thread, and their errors come back from it", async () => {
    const { store, errors, tollgate } = await readerTollgate("flexprice-usage");
    const call = (body: unknown) => callApp(tollgate.app, "POST", "/v1/events/usage", { body });
    try {
      const events = Array.from({ length: 6 }, (_, i) => ({
        event_id: `t${i}`,
        event_name: i < 3 ? "a" : "b",
        external_customer_id: "c",
        timestamp: `2025-01-0${i + 1}T00:00:00Z`,
        properties: { n: String(i), g: i % 2 === 0 ? "x" : "y" },
      }));
      expect((await callApp(tollgate.app, "POST", "/v1/events/bulk", { body: { events } })).status).toBe(202);
      const compiledOnMain = store.cachedStatementCount;
      const usage = await call({
        event_name: "b",
        aggregation_type: "AVG",
        property_name: "n",
        group_by_property: "g",
        window_size: "MONTH",
        billing_anchor: "2025-01-05T00:00:00Z",
        start_time: "2025-01-01T00:00:00Z",
        end_time: "2025-02-01T00:00:00Z",
      });
      // b: t3 (n 3, g y) on the 4th, in the month from 2024-12-05; t4 (4, x) and t5 (5, y) from
      // 2025-01-05. Over the range, x averages 4 and y 4: 8.
      expect(usage.body).toEqual({
        event_name: "b",
        type: "AVG",
        value: 8,
        results: [
          { window_size: "2024-12-05T00:00:00.000Z", value: 3 },
          { window_size: "2025-01-05T00:00:00.000Z", value: 9 },
        ],
      });
      const refusedOnThread = await call({ event_name: "b", aggregation_type: "WEIGHTED_SUM" });
      expect(errorOf(refusedOnThread)).toEqual({
        message: "property_name is required for WEIGHTED_SUM",
        internal_error: "validation_error",
        details: { property_name: "is required" },
      });
      // The aggregate ran on a reader thread: the main connection compiled no statement for it.
      expect(store.cachedStatementCount).toBe(compiledOnMain);
      expect(errors).toEqual([]);
    } finally {
      await tollgate.close();
    }
  });

  test("each new aggregation and window stops at the read budget", async () => {
    const h = await createHarness();
    const HOUR_AGO = new Date(Date.now() - 3_600_000).toISOString();
    await bulk(
      h,
      Array.from({ length: 5000 }, (_, i) => ({
        event_id: `${i}`,
        event_name: "api",
        external_customer_id: "c",
        timestamp: HOUR_AGO,
        properties: { n: String(i % 7), g: String(i % 3) },
      })),
    );
    h.context.reads = new StoreReaders(h.context.db, h.context.logger, null, -1);
    const answers = await Promise.all(
      [
        { aggregation_type: "AVG", property_name: "n" },
        { aggregation_type: "SUM_WITH_MULTIPLIER", property_name: "n", multiplier: "2" },
        { aggregation_type: "WEIGHTED_SUM", property_name: "n" },
        { aggregation_type: "LATEST", property_name: "n", group_by_property: "g" },
        { aggregation_type: "MAX", property_name: "n", bucket_size: "HOUR" },
        { aggregation_type: "COUNT", window_size: "WEEK" },
        { aggregation_type: "COUNT", window_size: "MONTH", billing_anchor: "2025-01-31T00:00:00Z" },
      ].map((body) =>
        h.call("POST", "/v1/events/usage", { body: { event_name: "api", filters: { g: ["0", "1", "2"] }, ...body } }),
      ),
    );
    for (const res of answers) {
      expect({ status: res.status, text: res.text }).toMatchObject({ status: 400 });
      expect(errorOf(res)).toMatchObject({ internal_error: "invalid_operation", details: { budget_ms: -1 } });
    }
  });
});

describe("/swagger/json describes the usage request and response", () => {
  test("every Flexprice request field; only event_name and aggregation_type required; value a number or null", async () => {
    const h = await createHarness();
    const doc = (await h.call("GET", "/swagger/json", { key: null })).body;
    const usage = doc.paths["/v1/events/usage"].post;
    const body = usage.requestBody.content["application/json"].schema;
    expect(Object.keys(body.properties).sort()).toEqual(
      [
        "aggregation_type",
        "billing_anchor",
        "bucket_size",
        "customer_id",
        "end_time",
        "event_name",
        "external_customer_id",
        "filters",
        "group_by",
        "group_by_property",
        "multiplier",
        "property_name",
        "start_time",
        "timezone",
        "window_size",
      ].sort(),
    );
    expect(body.required.sort()).toEqual(["aggregation_type", "event_name"]);
    const response = usage.responses["200"].content["application/json"].schema;
    expect(JSON.stringify(response.properties.value)).not.toContain("string");
    expect(JSON.stringify(response.properties.results.items.properties.value)).not.toContain("string");
  });
});
