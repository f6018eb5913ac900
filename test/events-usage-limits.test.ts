// POST /v1/events/usage at its limits (a review of issue 10): values near the largest double
// (±1.8e308), windows at the ends of the years 0000–9999, and the cap on windows counted from
// the window that holds start_time. Whatever is asked, `value` is a finite number or null and
// every window start is an RFC 3339 timestamp: a result that cannot be represented is a 400
// saying so, never Infinity, never a 500. SPEC.md §0 (timestamps, errors), §6.
import { describe, expect, test } from "bun:test";
import { MAX_USAGE_WINDOWS, WINDOWS } from "../src/modules/events/model";
import { type CallResult, createHarness, errorOf, type Harness } from "./support/harness";

type Body = Record<string, unknown>;
type Usage = { value: number | null; results: { window_size: string; value: number | null }[] };

const DAY_MS = 86_400_000;
/** The last instant an end_time can name: nothing at it can be counted (end_time is excluded). */
const END_OF_TIME = "9999-12-31T23:59:59.999Z";
const DAY = { start_time: "2025-06-01T00:00:00Z", end_time: "2025-06-02T00:00:00Z" };

/** Stores events of "api" for customer c, one per [timestamp, properties]. */
async function send(h: Harness, rows: [string, Body?][]) {
  const events = rows.map(([timestamp, properties], i) => ({
    event_id: `e${i}`,
    event_name: "api",
    external_customer_id: "c",
    timestamp,
    properties: properties ?? {},
  }));
  for (let i = 0; i < events.length; i += 1000) {
    const res = await h.call("POST", "/v1/events/bulk", { body: { events: events.slice(i, i + 1000) } });
    expect(res.status).toBe(202);
  }
}

const call = (h: Harness, body: Body) =>
  h.call("POST", "/v1/events/usage", { body: { event_name: "api", ...DAY, ...body } });

async function usage(h: Harness, body: Body): Promise<Usage> {
  const res = await call(h, body);
  expect({ body, status: res.status, text: res.text }).toMatchObject({ status: 200 });
  return res.body as Usage;
}

/** A 400 invalid_operation saying the value is too large to represent; names `field` when one is to blame. */
function tooLarge(res: CallResult, field?: string) {
  expect({ status: res.status, text: res.text }).toMatchObject({ status: 400 });
  const error = errorOf(res);
  expect(error.internal_error).toBe("invalid_operation");
  expect(error.message).toContain("too large to represent");
  if (field === undefined) expect(error.details ?? {}).not.toHaveProperty("multiplier");
  else {
    expect(error.message.startsWith(`${field} `)).toBe(true);
    expect(Object.keys(error.details ?? {})).toEqual([field]);
  }
}

/** Close to `expected` relative to its size (toBeCloseTo counts decimal places, useless near 1e308). */
const near = (actual: number | null, expected: number) => {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual as number) / expected - 1)).toBeLessThan(1e-12);
};

describe("values near the largest double: a finite value when the true value is finite, else a 400", () => {
  test("SUM_WITH_MULTIPLIER past the range is a 400 naming multiplier; a multiplier that brings it back is honoured", async () => {
    const h = await createHarness();
    await send(h, [
      ["2025-06-01T10:00:01Z", { n: "2" }],
      ["2025-06-01T10:00:02Z", { n: "2" }],
    ]);
    const body = { aggregation_type: "SUM_WITH_MULTIPLIER", property_name: "n", multiplier: "1e308" };
    tooLarge(await call(h, body), "multiplier");
    tooLarge(await call(h, { ...body, window_size: "HOUR" }), "multiplier");
    tooLarge(await call(h, { ...body, group_by_property: "g" }), "multiplier");
    // 4 × 4e307 is representable.
    expect((await usage(h, { ...body, multiplier: "4e307" })).value).toBe(4 * 4e307);

    const huge = await createHarness();
    await send(huge, [
      ["2025-06-01T10:00:01Z", { n: "1e308" }],
      ["2025-06-01T10:00:02Z", { n: "1e308" }],
    ]);
    // The sum alone is past the range, but half of it is not.
    const half = await usage(huge, { ...body, multiplier: "0.5", window_size: "DAY" });
    expect(half).toMatchObject({ value: 1e308, results: [{ window_size: "2025-06-01T00:00:00.000Z", value: 1e308 }] });
    // Past the range with or without the multiplier: not the multiplier's doing alone.
    tooLarge(await call(huge, { ...body, multiplier: "2" }));
  });

  test("SUM past the range is a 400; AVG of the same values is their average", async () => {
    const h = await createHarness();
    await send(h, [
      ["2025-06-01T10:00:01Z", { n: "1e308" }],
      ["2025-06-01T10:00:02Z", { n: "1e308" }],
    ]);
    for (const extra of [{}, { window_size: "HOUR" }, { group_by_property: "g" }, { bucket_size: "HOUR" }]) {
      tooLarge(await call(h, { aggregation_type: "SUM", property_name: "n", ...extra }));
    }
    for (const extra of [{}, { window_size: "HOUR" }]) {
      const avg = await usage(h, { aggregation_type: "AVG", property_name: "n", ...extra });
      expect(avg.value).toBe(1e308);
      for (const window of avg.results) expect(window.value).toBe(1e308);
    }
  });

  test("a running sum that passes the range on the way but ends inside it answers the true value", async () => {
    const h = await createHarness();
    await send(h, [
      ["2025-06-01T10:00:01Z", { n: "1e308", g: "a" }],
      ["2025-06-01T10:00:02Z", { n: "1e308", g: "a" }],
      ["2025-06-01T10:00:03Z", { n: "-1e308", g: "b" }],
      ["2025-06-01T10:00:04Z", { n: "-1e308", g: "b" }],
      ["2025-06-01T10:00:05Z", { n: "1e308", g: "c" }],
      ["2025-06-01T10:00:06Z", { n: "5", g: "d" }],
    ]);
    const sum = await usage(h, { aggregation_type: "SUM", property_name: "n", window_size: "DAY" });
    expect(sum).toMatchObject({ value: 1e308 + 5, results: [{ value: 1e308 + 5 }] });
    // Per group: a is past +1.8e308, b past -1.8e308; together with c and d, 1e308 + 5.
    const grouped = await usage(h, { aggregation_type: "SUM", property_name: "n", group_by_property: "g" });
    expect(grouped.value).toBe(1e308 + 5);
    const windowed = await usage(h, {
      aggregation_type: "SUM",
      property_name: "n",
      group_by_property: "g",
      window_size: "HOUR",
    });
    expect(windowed.results).toEqual([{ window_size: "2025-06-01T10:00:00.000Z", value: 1e308 + 5 }]);
    expect((await usage(h, { aggregation_type: "AVG", property_name: "n" })).value).toBe((1e308 + 5) / 6);
  });

  test("AVG of the largest double is that double, however many events hold it", async () => {
    const h = await createHarness();
    const largest = String(Number.MAX_VALUE);
    await send(
      h,
      Array.from({ length: 7 }, (_, i): [string, Body] => [`2025-06-01T10:00:0${i}Z`, { n: largest }]),
    );
    expect((await usage(h, { aggregation_type: "AVG", property_name: "n" })).value).toBe(Number.MAX_VALUE);
    expect((await usage(h, { aggregation_type: "MAX", property_name: "n" })).value).toBe(Number.MAX_VALUE);
    tooLarge(await call(h, { aggregation_type: "SUM", property_name: "n" }));
  });

  test("WEIGHTED_SUM weighs each value before adding it: no product of a value and a span in seconds", async () => {
    const h = await createHarness();
    const week = { start_time: "2025-06-01T00:00:00Z", end_time: "2025-06-08T00:00:00Z" };
    await send(h, [["2025-06-01T00:00:01Z", { n: "1e303" }]]);
    const weighted = await usage(h, {
      ...week,
      aggregation_type: "WEIGHTED_SUM",
      property_name: "n",
      window_size: "DAY",
    });
    const share = (7 * 86_400 - 1) / (7 * 86_400);
    near(weighted.value, 1e303 * share);
    near(weighted.results[0]!.value, 1e303 * share);

    const past = await createHarness();
    await send(past, [
      ["2025-06-01T00:00:00Z", { n: "1e308" }],
      ["2025-06-01T00:00:00Z", { n: "1e308" }],
    ]);
    tooLarge(await call(past, { ...week, aggregation_type: "WEIGHTED_SUM", property_name: "n" }));
  });

  test("MAX, LATEST and SUM added up over groups or buckets: a 400 when the total is past the range", async () => {
    const h = await createHarness();
    await send(h, [
      ["2025-06-01T10:00:00Z", { n: "1e308", server: "s1" }],
      ["2025-06-01T11:00:00Z", { n: "1e308", server: "s2" }],
    ]);
    for (const body of [
      { aggregation_type: "MAX", group_by_property: "server" },
      { aggregation_type: "MAX", group_by_property: "server", window_size: "DAY" },
      { aggregation_type: "LATEST", group_by_property: "server" },
      { aggregation_type: "MAX", bucket_size: "HOUR" },
      { aggregation_type: "SUM", bucket_size: "HOUR" },
      { aggregation_type: "SUM", group_by_property: "server" },
    ]) {
      tooLarge(await call(h, { property_name: "n", ...body }));
    }
    // Each group, each bucket is representable on its own.
    const hourly = await usage(h, { aggregation_type: "MAX", property_name: "n", window_size: "HOUR" });
    expect(hourly).toMatchObject({ value: 1e308, results: [{ value: 1e308 }, { value: 1e308 }] });
  });

  test("the ordinary path keeps its precision: the smallest values are summed exactly", async () => {
    const h = await createHarness();
    await send(h, [
      ["2025-06-01T10:00:01Z", { n: "1e-310" }],
      ["2025-06-01T10:00:02Z", { n: "2e-310" }],
    ]);
    expect((await usage(h, { aggregation_type: "SUM", property_name: "n" })).value).toBe(1e-310 + 2e-310);
    expect((await usage(h, { aggregation_type: "AVG", property_name: "n" })).value).toBe((1e-310 + 2e-310) / 2);
  });
});

describe("window starts at the ends of the years 0000–9999", () => {
  /** An RFC 3339 UTC timestamp within 0000–9999 that names a real instant (no day 00, no -0001). */
  const expectValidStart = (start: string) => {
    expect({ start, valid: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(start) }).toEqual({ start, valid: true });
    expect({ start, parsed: new Date(start).toISOString() }).toEqual({ start, parsed: start });
  };

  test("the first window of year 0000 starts at 0000-01-01T00:00:00Z (the reviewer's cases)", async () => {
    const h = await createHarness();
    await send(h, [
      ["0000-01-01T00:00:00Z"],
      ["0000-01-02T12:00:00Z"],
      ["0000-01-03T00:00:00Z"], // the first Monday
      ["0000-01-20T00:00:00Z"],
    ]);
    const count = (body: Body) => usage(h, { aggregation_type: "COUNT", start_time: "0000-01-01T00:00:00Z", ...body });
    // Without start_time the range starts 7 days before end_time, in year -1.
    const week = await usage(h, {
      aggregation_type: "COUNT",
      start_time: undefined,
      end_time: "0000-01-03T00:00:00Z",
      window_size: "WEEK",
    });
    expect(week.results).toEqual([{ window_size: "0000-01-01T00:00:00.000Z", value: 2 }]);
    expect((await count({ end_time: "0000-01-10T00:00:00Z", window_size: "WEEK" })).results).toEqual([
      { window_size: "0000-01-01T00:00:00.000Z", value: 2 },
      { window_size: "0000-01-03T00:00:00.000Z", value: 1 },
    ]);
    const month = { end_time: "0000-02-01T00:00:00Z", window_size: "MONTH" };
    expect((await count({ ...month, billing_anchor: "2025-01-10T08:00:00Z" })).results).toEqual([
      { window_size: "0000-01-01T00:00:00.000Z", value: 3 },
      { window_size: "0000-01-10T08:00:00.000Z", value: 1 },
    ]);
    expect((await count({ ...month, billing_anchor: "2025-01-31T00:00:00Z" })).results).toEqual([
      { window_size: "0000-01-01T00:00:00.000Z", value: 4 },
    ]);
  });

  test("an anchor on the 29th to 31st falls on the last day of December 9999, not day 00", async () => {
    const h = await createHarness();
    await send(h, [["9999-11-30T12:00:00Z"], ["9999-12-15T00:00:00Z"], ["9999-12-31T06:00:00Z"]]);
    const range = { start_time: "9999-11-01T00:00:00Z", end_time: "9999-12-31T23:59:59.999Z", window_size: "MONTH" };
    const month = (billing_anchor: string) => usage(h, { aggregation_type: "COUNT", ...range, billing_anchor });
    expect((await month("2025-01-31T00:00:00Z")).results).toEqual([
      { window_size: "9999-11-30T00:00:00.000Z", value: 2 },
      { window_size: "9999-12-31T00:00:00.000Z", value: 1 },
    ]);
    expect((await month("2024-03-30T12:00:00Z")).results).toEqual([
      { window_size: "9999-11-30T12:00:00.000Z", value: 2 },
      { window_size: "9999-12-30T12:00:00.000Z", value: 1 },
    ]);
    expect((await month("2024-03-15T00:00:00Z")).results).toEqual([
      { window_size: "9999-11-15T00:00:00.000Z", value: 1 },
      { window_size: "9999-12-15T00:00:00.000Z", value: 2 },
    ]);
  });

  test("every window, with every kind of anchor: each start is valid, within the years, and holds its events", async () => {
    const h = await createHarness();
    const first = [
      "0000-01-01T00:00:00.000Z",
      "0000-01-01T23:59:59.999Z",
      "0000-01-02T00:00:00.000Z",
      "0000-02-29T12:00:00.000Z",
    ];
    const last = [
      "9999-11-30T23:59:59.999Z",
      "9999-12-01T00:00:00.000Z",
      "9999-12-30T00:00:00.000Z",
      "9999-12-31T23:59:59.998Z",
    ];
    await send(
      h,
      [...first, ...last].map((timestamp) => [timestamp]),
    );
    // The first and last 60 days of the years (6 for minutes, to stay within the window cap).
    const rangesOf = (days: number) => [
      {
        start_time: "0000-01-01T00:00:00.000Z",
        end_time: new Date(Date.parse("0000-01-01T00:00:00Z") + days * DAY_MS).toISOString(),
      },
      { start_time: new Date(Date.parse(END_OF_TIME) - days * DAY_MS).toISOString(), end_time: END_OF_TIME },
    ];
    const anchors = [
      undefined,
      ...[1, 10, 28, 29, 30, 31].map((day) => `2024-01-${String(day).padStart(2, "0")}T12:00:00Z`),
    ];
    for (const window_size of WINDOWS) {
      for (const range of rangesOf(window_size === "MINUTE" ? 6 : 60)) {
        const events = [...first, ...last].filter((t) => t >= range.start_time && t < range.end_time);
        for (const billing_anchor of window_size === "MONTH" ? anchors : [undefined]) {
          const res = await usage(h, { aggregation_type: "COUNT", ...range, window_size, billing_anchor });
          for (const { window_size: start } of res.results) expectValidStart(start);
          // In order, the first at or before the first event, and together they hold every event once.
          const starts = res.results.map((r) => r.window_size);
          expect(starts).toEqual([...starts].sort());
          expect(starts[0]! <= events[0]!).toBe(true);
          expect(res.results.reduce((n, r) => n + (r.value ?? 0), 0)).toBe(events.length);
        }
      }
    }
  });
});

describe(`the window cap: at most ${MAX_USAGE_WINDOWS} windows, counted from the window holding start_time`, () => {
  test("a week of minutes from the middle of a minute touches 10,081 minutes: refused (the reviewer's case)", async () => {
    const h = await createHarness();
    const from = Date.parse("2025-06-01T00:00:30Z");
    const minutes = Array.from({ length: MAX_USAGE_WINDOWS }, (_, i): [string] => [
      new Date(from + i * 60_000).toISOString(),
    ]);
    await send(h, [...minutes, ["2025-06-08T00:00:10Z"]]);
    const body = { aggregation_type: "COUNT", window_size: "MINUTE" };
    const res = await call(h, { ...body, start_time: "2025-06-01T00:00:30Z", end_time: "2025-06-08T00:00:30Z" });
    expect({ status: res.status }).toEqual({ status: 400 });
    expect(errorOf(res)).toMatchObject({ internal_error: "validation_error" });
    expect(Object.keys(errorOf(res).details)).toEqual(["window_size"]);
    // The same week from a minute boundary: exactly the cap.
    const week = await usage(h, { ...body, start_time: "2025-06-01T00:00:00Z", end_time: "2025-06-08T00:00:00Z" });
    expect(week.results.length).toBe(MAX_USAGE_WINDOWS);
    // Without start_time, the 7 days before end_time: the SDK's default must always answer. On
    // a boundary it is the cap; off one, the default starts at the first whole minute instead
    // of touching a 10,081st.
    const onBoundary = await usage(h, { ...body, start_time: undefined, end_time: "2025-06-08T00:00:00Z" });
    expect(onBoundary.results.length).toBe(MAX_USAGE_WINDOWS);
    const offBoundary = await usage(h, { ...body, start_time: undefined, end_time: "2025-06-08T00:00:30Z" });
    expect(offBoundary.results.length).toBe(MAX_USAGE_WINDOWS);
    expect(offBoundary.results[0]?.window_size).toBe("2025-06-01T00:01:00.000Z");
    expect(offBoundary.value).toBe(MAX_USAGE_WINDOWS); // the event at 00:00:30 is before the default start
    // Without start_time or end_time (now, almost never on a minute): answered.
    expect((await call(h, { ...body, start_time: undefined, end_time: undefined })).status).toBe(200);
  });

  const at = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
  const cases: [string, string, string, string?][] = [
    // window, an aligned start, the end exactly MAX_USAGE_WINDOWS windows later, billing_anchor
    ["MINUTE", "2025-06-01T00:00:00.000Z", "2025-06-08T00:00:00.000Z"],
    ["15MIN", "2025-06-01T00:00:00.000Z", at("2025-06-01T00:00:00Z", MAX_USAGE_WINDOWS * 900_000)],
    ["3HOUR", "2025-06-01T03:00:00.000Z", at("2025-06-01T03:00:00Z", MAX_USAGE_WINDOWS * 10_800_000)],
    ["12HOUR", "2025-06-01T12:00:00.000Z", at("2025-06-01T12:00:00Z", MAX_USAGE_WINDOWS * 43_200_000)],
    ["DAY", "2000-01-01T00:00:00.000Z", at("2000-01-01T00:00:00Z", MAX_USAGE_WINDOWS * 86_400_000)],
    ["WEEK", "1900-01-01T00:00:00.000Z", at("1900-01-01T00:00:00Z", MAX_USAGE_WINDOWS * 7 * 86_400_000)], // a Monday
    ["MONTH", "1000-01-01T00:00:00.000Z", "1840-01-01T00:00:00.000Z"],
    ["MONTH", "1000-01-15T06:00:00.000Z", "1840-01-15T06:00:00.000Z", "2025-03-15T06:00:00Z"],
    ["MONTH", "1000-01-31T00:00:00.000Z", "1840-01-31T00:00:00.000Z", "2025-03-31T00:00:00Z"],
    // An anchor on the 31st starts April's billing month on the 30th.
    ["MONTH", "1000-04-30T00:00:00.000Z", "1840-04-30T00:00:00.000Z", "2025-03-31T00:00:00Z"],
  ];
  for (const [window_size, start, end, billing_anchor] of cases) {
    test(`${window_size}${billing_anchor ? ` anchored on ${billing_anchor.slice(8, 10)}` : ""} from ${start}: ${MAX_USAGE_WINDOWS} windows answer, one more is refused`, async () => {
      const h = await createHarness();
      await send(h, [[start]]);
      const status = async (start_time: string, end_time: string) =>
        (await call(h, { aggregation_type: "COUNT", window_size, billing_anchor, start_time, end_time })).status;
      expect(await status(start, end)).toBe(200);
      // Starting later in the first window, or ending before the end of the last: the same windows.
      expect(await status(at(start, 1), end)).toBe(200);
      expect(await status(start, at(end, -1))).toBe(200);
      // Reaching one millisecond into the window before, or the window after: one too many.
      expect(await status(at(start, -1), end)).toBe(400);
      expect(await status(start, at(end, 1))).toBe(400);
      expect(await status(at(start, 1), at(end, 1))).toBe(400);
    });
  }
});
