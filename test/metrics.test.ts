import { describe, expect, test } from "bun:test";
import { createHarness, DEV_KEY } from "./support/harness";

/** The value of one sample line, e.g. `tollgate_events_ingested_total 3`. */
function sample(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe("GET /metrics", () => {
  test("is off by default: 404", async () => {
    const h = await createHarness();
    expect((await h.call("GET", "/metrics", { key: null })).status).toBe(404);
  });

  test("when enabled: Prometheus text with requests, durations, auth outcomes, key cache and events", async () => {
    const h = await createHarness({ metrics: { enabled: true } });
    const key = (await h.call("POST", "/v1/secrets/api/keys", { body: { name: "m" } })).body.api_key as string;
    await h.call("GET", "/v1/users/me", { key });
    await h.call("GET", "/v1/users/me", { key });
    await h.call("GET", "/v1/users/me", { key: null });
    await h.call("GET", "/v1/users/me", { key: "sk_test_nope" });
    await h.call("POST", "/v1/events", { body: { event_name: "x", external_customer_id: "c" } });
    await h.call("POST", "/v1/events/bulk", {
      body: { events: [1, 2].map(() => ({ event_name: "x", external_customer_id: "c" })) },
    });
    await h.call("GET", "/no/such/route/abc123");
    await new Promise((resolve) => setImmediate(resolve));

    const res = await h.call("GET", "/metrics", { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = res.text;
    expect(sample(text, 'tollgate_http_requests_total{method="GET",route="/v1/users/me",status="200"}')).toBe(2);
    expect(sample(text, 'tollgate_http_requests_total{method="GET",route="/v1/users/me",status="401"}')).toBe(2);
    expect(sample(text, 'tollgate_http_requests_total{method="GET",route="(unmatched)",status="404"}')).toBe(1);
    expect(sample(text, 'tollgate_http_request_duration_seconds_count{method="GET",route="/v1/users/me"}')).toBe(4);
    expect(sample(text, 'tollgate_auth_outcomes_total{outcome="api_key"}')).toBe(2);
    expect(sample(text, 'tollgate_auth_outcomes_total{outcome="key_missing"}')).toBe(1);
    expect(sample(text, 'tollgate_auth_outcomes_total{outcome="key_invalid"}')).toBe(1);
    expect(sample(text, 'tollgate_key_cache_lookups_total{result="hit"}')).toBe(1);
    expect(sample(text, 'tollgate_key_cache_lookups_total{result="miss"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, "tollgate_events_ingested_total")).toBe(3);
    for (const secret of [key, DEV_KEY, "abc123"]) expect(text).not.toContain(secret);
  });
});
