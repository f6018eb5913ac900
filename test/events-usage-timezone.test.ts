// Issue 25: usage windows in a time zone (`timezone`, IANA) and `group_by` (`source`,
// `properties.X`), as the current Flexprice API has them: a DAY window runs from local midnight
// to local midnight, and each window's start is the UTC instant of that midnight.
import { describe, expect, test } from "bun:test";
import { createHarness, errorOf, type Harness } from "./support/harness";

async function ingest(h: Harness, events: { at: string; source?: string; region?: string; tokens?: number }[]) {
  const body = {
    events: events.map((e, i) => ({
      event_name: "api_call",
      external_customer_id: "cus_1",
      event_id: `e${i}`,
      timestamp: e.at,
      ...(e.source ? { source: e.source } : {}),
      properties: { region: e.region ?? "us", tokens: e.tokens ?? 1 },
    })),
  };
  expect((await h.call("POST", "/v1/events/bulk", { body })).status).toBe(202);
}

const usage = (h: Harness, body: Record<string, unknown>) =>
  h.call("POST", "/v1/events/usage", {
    body: {
      event_name: "api_call",
      aggregation_type: "COUNT",
      start_time: "2026-03-01T00:00:00Z",
      end_time: "2026-03-20T00:00:00Z",
      ...body,
    },
  });

describe("timezone", () => {
  test("DAY windows run from local midnight: two events on one UTC day, two local days in Asia/Kolkata", async () => {
    const h = await createHarness();
    // 2026-03-10 17:00Z is 22:30 in Kolkata (the 10th); 19:00Z is 00:30 on the 11th.
    await ingest(h, [{ at: "2026-03-10T17:00:00Z" }, { at: "2026-03-10T19:00:00Z" }]);
    const utc = await usage(h, { window_size: "DAY" });
    expect(utc.body.results).toEqual([{ window_size: "2026-03-10T00:00:00.000Z", value: 2 }]);
    const kolkata = await usage(h, { window_size: "DAY", timezone: "Asia/Kolkata" });
    expect(kolkata.status).toBe(200);
    expect(kolkata.body.results).toEqual([
      { window_size: "2026-03-09T18:30:00.000Z", value: 1 },
      { window_size: "2026-03-10T18:30:00.000Z", value: 1 },
    ]);
  });

  test("across a change to summer time each day starts at its own local midnight (America/New_York, 8 March 2026)", async () => {
    const h = await createHarness();
    await ingest(h, [{ at: "2026-03-07T12:00:00Z" }, { at: "2026-03-08T12:00:00Z" }, { at: "2026-03-09T12:00:00Z" }]);
    const res = await usage(h, { window_size: "DAY", timezone: "America/New_York" });
    expect(res.body.results.map((r: { window_size: string }) => r.window_size)).toEqual([
      "2026-03-07T05:00:00.000Z",
      "2026-03-08T05:00:00.000Z",
      "2026-03-09T04:00:00.000Z",
    ]);
  });

  test("MONTH windows start on the local 1st; UTC is the same as no zone; an unknown zone is a 400, not UTC", async () => {
    const h = await createHarness();
    await ingest(h, [{ at: "2026-02-28T20:00:00Z" }, { at: "2026-03-01T03:00:00Z" }]);
    const tokyo = await usage(h, {
      window_size: "MONTH",
      timezone: "Asia/Tokyo",
      start_time: "2026-02-01T00:00:00Z",
      end_time: "2026-04-01T00:00:00Z",
    });
    // Both are in March in Tokyo (05:00 and 12:00 on the 1st).
    expect(tokyo.body.results).toEqual([{ window_size: "2026-02-28T15:00:00.000Z", value: 2 }]);
    const utc = await usage(h, {
      window_size: "MONTH",
      timezone: "UTC",
      start_time: "2026-02-01T00:00:00Z",
      end_time: "2026-04-01T00:00:00Z",
    });
    expect(utc.body.results.map((r: { value: number }) => r.value)).toEqual([1, 1]);
    const bad = await usage(h, { window_size: "DAY", timezone: "Mars/Olympus_Mons" });
    expect(bad.status).toBe(400);
    expect(errorOf(bad).details).toEqual({
      timezone: "must be an IANA time zone name, such as Europe/Paris or America/New_York",
    });
  });
  test("a billing anchor is a local day and hour too: MONTH windows from the local 15th at midnight in Kolkata", async () => {
    const h = await createHarness();
    // 18:00Z on 14 March is 23:30 on the 14th in Kolkata; 19:00Z is 00:30 on the 15th.
    await ingest(h, [{ at: "2026-03-14T18:00:00Z" }, { at: "2026-03-14T19:00:00Z" }]);
    const res = await usage(h, {
      window_size: "MONTH",
      timezone: "Asia/Kolkata",
      billing_anchor: "2026-01-15T00:00:00+05:30",
      start_time: "2026-02-20T00:00:00Z",
      end_time: "2026-04-01T00:00:00Z",
    });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { window_size: "2026-02-14T18:30:00.000Z", value: 1 },
      { window_size: "2026-03-14T18:30:00.000Z", value: 1 },
    ]);
  });
});

describe("group_by", () => {
  test("MAX by source adds up each source's maximum; properties.X likewise; both fields at once is a 400", async () => {
    const h = await createHarness();
    await ingest(h, [
      { at: "2026-03-10T01:00:00Z", source: "a", region: "us", tokens: 5 },
      { at: "2026-03-10T02:00:00Z", source: "a", region: "eu", tokens: 7 },
      { at: "2026-03-10T03:00:00Z", source: "b", region: "eu", tokens: 3 },
    ]);
    const max = (extra: Record<string, unknown>) =>
      usage(h, { aggregation_type: "MAX", property_name: "tokens", ...extra }).then((r) => r.body.value);
    expect(await max({})).toBe(7);
    expect(await max({ group_by: ["source"] })).toBe(10);
    expect(await max({ group_by: ["properties.region"] })).toBe(12);
    expect(await max({ group_by_property: "region" })).toBe(12);
    expect(await max({ group_by: ["source", "properties.region"] })).toBe(15);
    const both = await usage(h, {
      aggregation_type: "MAX",
      property_name: "tokens",
      group_by: ["source"],
      group_by_property: "region",
    });
    expect(both.status).toBe(400);
    const bad = await usage(h, { aggregation_type: "MAX", property_name: "tokens", group_by: ["customer"] });
    expect(bad.status).toBe(400);
    expect(errorOf(bad).details).toEqual({ "group_by[0]": "must be source or properties.<name>" });
  });
});
