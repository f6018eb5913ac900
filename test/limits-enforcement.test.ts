// SPEC §14: rate limits and credits held to on Tollgate's own routes, in POST /v1/keys/verify and
// in forward-auth: 429s with their messages and headers, sliding windows exact within a process
// (64 parallel clients against a limit of 100 get exactly 100), credits never overdrawn, refills
// at the boundary. A test clock drives the windows and refills: nothing here waits on real time.
import { describe, expect, setSystemTime, test } from "bun:test";
import { createTollgate } from "../src/app";
import { type Config, DEFAULT_CONFIG } from "../src/config";
import { lastRefillBoundary, nextRefillBoundary } from "../src/modules/limits/refill";
import { callApp, createHarness, errorOf, type Harness } from "./support/harness";
import { testStore } from "./support/test-store";

const KEYS = "/v1/secrets/api/keys";
const ME = "/v1/users/me";
const START = Date.parse("2026-03-10T12:00:00.000Z");

function testClock(start = START) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(at: number) {
      now = at;
    },
  };
}

async function limitedHarness(clock = testClock()) {
  return { h: await createHarness({}, { now: clock.now }), clock };
}

async function newKey(h: Harness, body: Record<string, unknown>) {
  const res = await h.call("POST", KEYS, { body: { name: "k", ...body } });
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${res.text}`);
  return { key: res.body.api_key as string, id: res.body.id as string };
}

async function accountKey(h: Harness, roles: string[], body: Record<string, unknown> = {}) {
  const account = await h.call("POST", "/v1/users", { body: { type: "service_account", name: "svc", roles } });
  expect(account.status).toBe(201);
  const key = await newKey(h, { service_account_id: account.body.id, ...body });
  return { ...key, accountId: account.body.id as string };
}

/** Runs `total` requests through `clients` parallel callers; answers the statuses. */
async function parallel(clients: number, total: number, request: () => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  let started = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (started < total) {
        started++;
        statuses.push(await request());
      }
    }),
  );
  return statuses;
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

describe("rate limits on Tollgate's own routes", () => {
  test("an auto-applied limit: headers on every answer; over it, 429 Rate limit exceeded with Retry-After; the window slides", async () => {
    const { h, clock } = await limitedHarness();
    const { key } = await newKey(h, { ratelimits: [{ name: "api", limit: 3, duration_ms: 10_000, auto_apply: true }] });
    // t: until the oldest use (at +0 s) leaves the window.
    for (const [left, reset] of [
      [2, 10],
      [1, 9],
      [0, 8],
    ]) {
      const res = await h.call("GET", ME, { key });
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-policy")).toBe('"api";q=3;w=10');
      expect(res.headers.get("ratelimit")).toBe(`"api";r=${left};t=${reset}`);
      clock.advance(1000);
    }
    const refused = await h.call("GET", ME, { key });
    expect(refused.status).toBe(429);
    expect(errorOf(refused)).toMatchObject({ message: "Rate limit exceeded", internal_error: "too_many_requests" });
    expect(refused.body.code).toBe("too_many_requests");
    // The first use (at +0 s) leaves the window at +10 s; it is now +3 s.
    expect(refused.headers.get("retry-after")).toBe("7");
    expect(refused.headers.get("ratelimit-policy")).toBe('"api";q=3;w=10');
    expect(refused.headers.get("ratelimit")).toBe('"api";r=0;t=7');

    clock.advance(7000);
    expect((await h.call("GET", ME, { key })).status).toBe(200);
    expect((await h.call("GET", ME, { key })).status).toBe(429);
  });

  test("a limit that is not auto-applied does not count a key's own requests; a key without limits gets no headers", async () => {
    const { h } = await limitedHarness();
    const { key } = await newKey(h, { ratelimits: [{ name: "orders", limit: 1, duration_ms: 10_000 }] });
    for (let i = 0; i < 3; i++) {
      const res = await h.call("GET", ME, { key });
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit")).toBeNull();
    }
  });

  test("two auto-applied limits: both in each field, in order; the one that runs out refuses and the other is not counted", async () => {
    const { h, clock } = await limitedHarness();
    const { key } = await newKey(h, {
      ratelimits: [
        { name: "burst", limit: 2, duration_ms: 1000, auto_apply: true },
        { name: "orders", limit: 1, duration_ms: 10_000 },
        { name: "hourly", limit: 5, duration_ms: 3_600_000, auto_apply: true },
      ],
    });
    for (const [burstLeft, hourlyLeft] of [
      [1, 4],
      [0, 3],
    ]) {
      const res = await h.call("GET", ME, { key });
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-policy")).toBe('"burst";q=2;w=1, "hourly";q=5;w=3600');
      expect(res.headers.get("ratelimit")).toBe(`"burst";r=${burstLeft};t=1, "hourly";r=${hourlyLeft};t=3600`);
    }
    const refused = await h.call("GET", ME, { key });
    expect(refused.status).toBe(429);
    // All or none: the burst limit refused, so the hourly one still has 3 left.
    expect(refused.headers.get("ratelimit")).toBe('"burst";r=0;t=1, "hourly";r=3;t=3600');
    clock.advance(1000);
    const later = await h.call("GET", ME, { key });
    expect(later.status).toBe(200);
    expect(later.headers.get("ratelimit")).toBe('"burst";r=1;t=1, "hourly";r=2;t=3599');
  });

  test("64 parallel clients against a limit of 100 per second: exactly 100 admitted per window", async () => {
    const { h, clock } = await limitedHarness();
    const { key } = await newKey(h, { ratelimits: [{ name: "api", limit: 100, duration_ms: 1000, auto_apply: true }] });
    const first = await parallel(64, 300, async () => (await h.call("GET", ME, { key })).status);
    expect(count(first, 200)).toBe(100);
    expect(count(first, 429)).toBe(200);
    clock.advance(1000);
    const second = await parallel(64, 300, async () => (await h.call("GET", ME, { key })).status);
    expect(count(second, 200)).toBe(100);
    expect(count(second, 429)).toBe(200);
  });

  test("changing a limit keeps the count of its window", async () => {
    const { h } = await limitedHarness();
    const { key, id } = await newKey(h, {
      ratelimits: [{ name: "api", limit: 5, duration_ms: 60_000, auto_apply: true }],
    });
    for (let i = 0; i < 5; i++) expect((await h.call("GET", ME, { key })).status).toBe(200);
    expect((await h.call("GET", ME, { key })).status).toBe(429);
    const raised = await h.call("PUT", `${KEYS}/${id}/limits`, {
      body: { ratelimits: [{ name: "api", limit: 6, duration_ms: 60_000, auto_apply: true }] },
    });
    expect(raised.status).toBe(200);
    expect((await h.call("GET", ME, { key })).status).toBe(200);
    expect((await h.call("GET", ME, { key })).status).toBe(429);
  });

  test("a service account's limit is shared by its keys; a key's own limit of the same name wins", async () => {
    const { h } = await limitedHarness();
    const account = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "s", roles: ["super_admin"] },
    });
    const accountId = account.body.id as string;
    const shared = { name: "api", limit: 2, duration_ms: 60_000, auto_apply: true };
    expect((await h.call("PUT", `/v1/users/${accountId}/limits`, { body: { ratelimits: [shared] } })).status).toBe(200);
    const a = await newKey(h, { service_account_id: accountId });
    const b = await newKey(h, { service_account_id: accountId });
    const own = await newKey(h, { service_account_id: accountId, ratelimits: [{ ...shared, limit: 4 }] });
    expect((await h.call("GET", ME, { key: a.key })).status).toBe(200);
    expect((await h.call("GET", ME, { key: b.key })).status).toBe(200);
    expect((await h.call("GET", ME, { key: a.key })).status).toBe(429);
    expect((await h.call("GET", ME, { key: b.key })).status).toBe(429);
    for (let i = 0; i < 4; i++) expect((await h.call("GET", ME, { key: own.key })).status).toBe(200);
    expect((await h.call("GET", ME, { key: own.key })).status).toBe(429);
  });
});

describe("credits on Tollgate's own routes", () => {
  test("each request spends 1; at 0, 429 Usage limit exceeded; a rate-limited request spends none", async () => {
    const { h, clock } = await limitedHarness();
    const { key, id } = await newKey(h, {
      credits: { remaining: 3 },
      ratelimits: [{ name: "api", limit: 2, duration_ms: 1000, auto_apply: true }],
    });
    expect((await h.call("GET", ME, { key })).status).toBe(200);
    expect((await h.call("GET", ME, { key })).status).toBe(200);
    expect((await h.call("GET", ME, { key })).status).toBe(429); // rate limit: no credit spent
    expect((await h.call("GET", `${KEYS}/${id}`)).body.credits.remaining).toBe(1);
    clock.advance(1000);
    expect((await h.call("GET", ME, { key })).status).toBe(200);
    const out = await h.call("GET", ME, { key });
    expect(out.status).toBe(429);
    expect(errorOf(out)).toMatchObject({ message: "Usage limit exceeded", internal_error: "too_many_requests" });
    // No refill: no retry can pass, so no Retry-After.
    expect(out.headers.get("retry-after")).toBeNull();
    expect((await h.call("GET", `${KEYS}/${id}`)).body.credits).toEqual({ remaining: 0, refill: null });
    // Setting credits again lets it through at once.
    expect((await h.call("PUT", `${KEYS}/${id}/limits`, { body: { credits: { remaining: 1 } } })).status).toBe(200);
    clock.advance(1000);
    expect((await h.call("GET", ME, { key })).status).toBe(200);
    expect((await h.call("GET", ME, { key })).status).toBe(429);
  });

  test("unlimited credits (remaining null) pass every request, and verify says so", async () => {
    const { h } = await limitedHarness();
    const verifier = (await accountKey(h, ["key_verifier"])).key;
    const { key, id } = await newKey(h, { credits: { remaining: null } });
    for (let i = 0; i < 5; i++) expect((await h.call("GET", ME, { key })).status).toBe(200);
    const verified = await h.call("POST", "/v1/keys/verify", { key: verifier, body: { key, credits: { cost: 1000 } } });
    expect(verified.body).toMatchObject({ code: "VALID", credits: { remaining: null } });
    expect((await h.call("GET", `${KEYS}/${id}`)).body.credits).toEqual({ remaining: null, refill: null });
  });

  test("credits set by another process meanwhile are not undone by a late write of spends", async () => {
    const { h } = await limitedHarness();
    const { key, id } = await newKey(h, { credits: { remaining: 100 } });
    for (let i = 0; i < 3; i++) expect((await h.call("GET", ME, { key })).status).toBe(200);
    // `tollgate` beside the server (or another instance) resets the balance: a new version.
    await h.context.db.run(
      "UPDATE limits SET credits_remaining = 50, credits_version = credits_version + 1 WHERE owner_id = ?",
      id,
    );
    // Spends held in memory (SQLite) are written now: for the old version, so dropped.
    await h.context.credits.flush();
    expect(await h.context.db.value("SELECT credits_remaining FROM limits WHERE owner_id = ?", id)).toBe(50);
    // The server heard the change (the credential counter moved): it spends from the new balance.
    expect((await h.call("GET", ME, { key })).status).toBe(200);
    expect((await h.call("GET", `${KEYS}/${id}`)).body.credits.remaining).toBe(49);
  });

  test("a daily refill sets remaining to the amount at 00:00 UTC, on first use after it; Retry-After says when", async () => {
    // The system clock, not the harness's: when credits were set is the store's time too.
    setSystemTime(new Date("2026-03-10T23:59:00.000Z"));
    try {
      const h = await createHarness();
      const { key, id } = await newKey(h, { credits: { remaining: 1, refill: { interval: "daily", amount: 5 } } });
      expect((await h.call("GET", ME, { key })).status).toBe(200);
      const out = await h.call("GET", ME, { key });
      expect(out.status).toBe(429);
      expect(out.headers.get("retry-after")).toBe("60");
      setSystemTime(new Date("2026-03-11T00:00:00.000Z"));
      expect((await h.call("GET", `${KEYS}/${id}`)).body.credits.remaining).toBe(5);
      expect((await h.call("GET", ME, { key })).status).toBe(200);
      expect((await h.call("GET", `${KEYS}/${id}`)).body.credits.remaining).toBe(4);
      setSystemTime(new Date("2026-03-12T10:00:00.000Z"));
      expect((await h.call("GET", ME, { key })).status).toBe(200);
      expect((await h.call("GET", `${KEYS}/${id}`)).body.credits.remaining).toBe(4);
    } finally {
      setSystemTime();
    }
  });

  test("an account's credits are shared by its keys that have none of their own", async () => {
    const { h } = await limitedHarness();
    const a = await accountKey(h, ["super_admin"]);
    expect(
      (await h.call("PUT", `/v1/users/${a.accountId}/limits`, { body: { credits: { remaining: 2 } } })).status,
    ).toBe(200);
    const b = await newKey(h, { service_account_id: a.accountId });
    const own = await newKey(h, { service_account_id: a.accountId, credits: { remaining: 1 } });
    expect((await h.call("GET", ME, { key: a.key })).status).toBe(200);
    expect((await h.call("GET", ME, { key: b.key })).status).toBe(200);
    expect((await h.call("GET", ME, { key: a.key })).status).toBe(429);
    expect((await h.call("GET", ME, { key: own.key })).status).toBe(200);
    expect((await h.call("GET", ME, { key: own.key })).status).toBe(429);
    expect((await h.call("GET", `/v1/users/${a.accountId}`)).body.credits.remaining).toBe(0);
  });
});

describe("refill boundaries", () => {
  test("daily at 00:00 UTC; monthly on refill_day, clamped to the month's end", () => {
    const at = (text: string) => Date.parse(text);
    expect(lastRefillBoundary({ interval: "daily", refill_day: null }, at("2026-03-10T12:00:00Z"))).toBe(
      "2026-03-10T00:00:00.000Z",
    );
    const monthly31 = { interval: "monthly" as const, refill_day: 31 };
    expect(lastRefillBoundary(monthly31, at("2026-03-10T12:00:00Z"))).toBe("2026-02-28T00:00:00.000Z");
    expect(lastRefillBoundary(monthly31, at("2026-02-28T00:00:00Z"))).toBe("2026-02-28T00:00:00.000Z");
    expect(lastRefillBoundary(monthly31, at("2026-02-27T23:59:59Z"))).toBe("2026-01-31T00:00:00.000Z");
    expect(lastRefillBoundary(monthly31, at("2028-02-29T08:00:00Z"))).toBe("2028-02-29T00:00:00.000Z");
    expect(new Date(nextRefillBoundary(monthly31, at("2026-03-10T12:00:00Z"))).toISOString()).toBe(
      "2026-03-31T00:00:00.000Z",
    );
    expect(new Date(nextRefillBoundary(monthly31, at("2026-01-31T12:00:00Z"))).toISOString()).toBe(
      "2026-02-28T00:00:00.000Z",
    );
    expect(lastRefillBoundary({ interval: "monthly", refill_day: 1 }, at("2026-01-01T00:00:00Z"))).toBe(
      "2026-01-01T00:00:00.000Z",
    );
  });
});

describe("POST /v1/keys/verify with limits and credits", () => {
  test("named limits with a cost, then credits: VALID with each limit's remaining and reset; RATE_LIMITED and USAGE_EXCEEDED", async () => {
    const { h, clock } = await limitedHarness();
    const verifier = (await accountKey(h, ["key_verifier"])).key;
    const { key } = await accountKey(h, ["event_reader"], {
      ratelimits: [
        { name: "orders", limit: 5, duration_ms: 60_000 },
        { name: "api", limit: 100, duration_ms: 1000, auto_apply: true },
      ],
      credits: { remaining: 10 },
    });
    const ask = (body: Record<string, unknown>) =>
      h.call("POST", "/v1/keys/verify", { key: verifier, body: { key, ...body } });

    const valid = await ask({ ratelimits: [{ name: "orders", cost: 2 }], credits: { cost: 3 } });
    expect(valid.status).toBe(200);
    expect(valid.body).toMatchObject({
      valid: true,
      code: "VALID",
      ratelimits: [
        { name: "orders", limit: 5, remaining: 3, reset: START + 60_000, duration_ms: 60_000 },
        { name: "api", limit: 100, remaining: 99, reset: START + 1000, duration_ms: 1000 },
      ],
      credits: { remaining: 7 },
    });

    clock.advance(1000);
    const limited = await ask({ ratelimits: [{ name: "orders", cost: 4 }], credits: { cost: 1 } });
    expect(limited.body).toMatchObject({ valid: false, code: "RATE_LIMITED", credits: null });
    expect(limited.body.ratelimits[0]).toMatchObject({ name: "orders", remaining: 3 });

    const overdrawn = await ask({ credits: { cost: 8 } });
    expect(overdrawn.body).toMatchObject({ valid: false, code: "USAGE_EXCEEDED", credits: { remaining: 7 } });

    // A permission refused spends nothing: neither the window nor the credits move.
    const denied = await ask({ permissions: ["event:write"], ratelimits: [{ name: "orders" }], credits: { cost: 7 } });
    expect(denied.body.code).toBe("INSUFFICIENT_PERMISSIONS");
    const all = await ask({
      permissions: ["event:read"],
      ratelimits: [{ name: "orders", cost: 3 }],
      credits: { cost: 7 },
    });
    expect(all.body).toMatchObject({ code: "VALID", credits: { remaining: 0 } });
    expect(all.body.ratelimits[0]).toMatchObject({ name: "orders", remaining: 0 });
  });

  test("a bad cost or limit name is a 400", async () => {
    const { h } = await limitedHarness();
    const verifier = (await accountKey(h, ["key_verifier"])).key;
    for (const body of [
      { ratelimits: [{ name: "Orders" }] },
      { ratelimits: [{ name: "orders", cost: -1 }] },
      { credits: { cost: 1.5 } },
      { credits: { amount: 1 } },
    ]) {
      const res = await h.call("POST", "/v1/keys/verify", { key: verifier, body: { key: "sk_test_x", ...body } });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  test("64 parallel spenders never overdraw: 100 credits, 300 verifications, exactly 100 VALID", async () => {
    const { h } = await limitedHarness();
    const verifier = (await accountKey(h, ["key_verifier"])).key;
    const { key, id } = await newKey(h, { credits: { remaining: 100 } });
    const codes: string[] = [];
    await parallel(64, 300, async () => {
      const res = await h.call("POST", "/v1/keys/verify", { key: verifier, body: { key } });
      codes.push(res.body.code);
      return res.status;
    });
    expect(codes.filter((code) => code === "VALID").length).toBe(100);
    expect(codes.filter((code) => code === "USAGE_EXCEEDED").length).toBe(200);
    expect((await h.call("GET", `${KEYS}/${id}`)).body.credits.remaining).toBe(0);
  });
});

describe("forward-auth with limits and cost", () => {
  const PEER = "x-test-peer";
  async function forwardHarness(clock: ReturnType<typeof testClock>) {
    const config: Config = structuredClone(DEFAULT_CONFIG);
    config.forward_auth.rules = [
      { path: "/orders", permission: "orders:read", ratelimits: [{ name: "orders", cost: 2 }], cost: 5 },
      { path: "/cheap", permission: "orders:read", cost: 0 },
    ];
    config.rbac.roles = {
      orders_reader: { name: "Orders Reader", description: "", permissions: { orders: ["read"] } },
    };
    const { store, database } = await testStore(":memory:");
    if (database !== null) {
      config.database.url = database.url;
      config.customer_portal.signing_key = "limits-enforcement-test-signing-key";
    }
    const tollgate = await createTollgate({
      config,
      store,
      logger: (await import("../src/http/logging")).createLogger("silent"),
      clientAddress: (request) => request.headers.get(PEER),
      now: clock.now,
      credentialChanges: { pollMs: Number.POSITIVE_INFINITY, listen: false },
    });
    const h = {
      ...tollgate,
      call: (method: string, path: string, options = {}) => callApp(tollgate.app, method, path, options),
    };
    const ask = (uri: string, key: string, query = "") =>
      callApp(tollgate.app, "GET", `/v1/auth/forward${query}`, {
        key,
        headers: { [PEER]: "127.0.0.1", "x-forwarded-method": "GET", "x-forwarded-uri": uri },
      });
    return { h: h as unknown as Harness, ask };
  }

  test("the rule's named limits and cost: 200 with RateLimit headers, then 429 with Retry-After; ?mode=nginx answers 403 saying 429", async () => {
    const clock = testClock();
    const { h, ask } = await forwardHarness(clock);
    const { key, id } = await accountKey(h, ["orders_reader"], {
      ratelimits: [{ name: "orders", limit: 4, duration_ms: 30_000 }],
      credits: { remaining: 100 },
    });
    for (const left of [2, 0]) {
      const res = await ask("/orders", key);
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-policy")).toBe('"orders";q=4;w=30');
      expect(res.headers.get("ratelimit")).toBe(`"orders";r=${left};t=30`);
    }
    const refused = await ask("/orders", key);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("30");
    expect(refused.headers.get("ratelimit")).toBe('"orders";r=0;t=30');
    expect(errorOf(refused).message).toBe("Rate limit exceeded");
    const nginx = await ask("/orders", key, "?mode=nginx");
    expect(nginx.status).toBe(403);
    expect(nginx.headers.get("x-tollgate-status")).toBe("429");
    expect(nginx.headers.get("retry-after")).toBe("30");
    // Two allowed at cost 5, a free rule costs nothing.
    expect((await ask("/cheap", key)).status).toBe(200);
    expect((await h.call("GET", `${KEYS}/${id}`)).body.credits.remaining).toBe(90);
  });
});
