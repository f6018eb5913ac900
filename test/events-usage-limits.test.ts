// POST /v1/events/usage at its limits (a review of issue 10): values near the largest double
// (±1.8e308). Whatever is asked, `value` is a finite number or null: a result that cannot be
// represented is a 400 saying so, never Infinity, never a 500. SPEC.md §0 (errors), §6.
import { describe, expect, test } from "bun:test";
import { type CallResult, createHarness, errorOf, type Harness } from "./support/harness";

type Body = Record<string, unknown>;
type Usage = { value: number | null; results: { window_size: string; value: number | null }[] };

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
    const h = createHarness();
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

    const huge = createHarness();
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
    const h = createHarness();
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
    const h = createHarness();
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
    const h = createHarness();
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
    const h = createHarness();
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

    const past = createHarness();
    await send(past, [
      ["2025-06-01T00:00:00Z", { n: "1e308" }],
      ["2025-06-01T00:00:00Z", { n: "1e308" }],
    ]);
    tooLarge(await call(past, { ...week, aggregation_type: "WEIGHTED_SUM", property_name: "n" }));
  });

  test("MAX, LATEST and SUM added up over groups or buckets: a 400 when the total is past the range", async () => {
    const h = createHarness();
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
    const h = createHarness();
    await send(h, [
      ["2025-06-01T10:00:01Z", { n: "1e-310" }],
      ["2025-06-01T10:00:02Z", { n: "2e-310" }],
    ]);
    expect((await usage(h, { aggregation_type: "SUM", property_name: "n" })).value).toBe(1e-310 + 2e-310);
    expect((await usage(h, { aggregation_type: "AVG", property_name: "n" })).value).toBe((1e-310 + 2e-310) / 2);
  });
});
