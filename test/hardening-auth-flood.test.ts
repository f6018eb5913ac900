// Issue 9, item 15: failed authentication is limited per client address. Once an address has
// used up its budget of failed credential checks in a window, its failures are answered 429
// with Retry-After instead of 401, and are no longer logged one by one: one warning says the
// limit was reached, and a periodic summary counts what was not logged. A valid credential is
// accepted from any address, blocked or not, so one bad neighbour behind a shared address (a
// NAT, a proxy) locks nobody out, and successful requests never consult the limiter.
import { describe, expect, test } from "bun:test";
import { createTollgate, type Tollgate } from "../src/app";
import { type Config, ConfigError, DEFAULT_CONFIG, loadConfig } from "../src/config";
import { MEMORY_DATABASE, openDatabase, SqliteStore } from "../src/db";
import { createLogger } from "../src/http/logging";
import { clientKey, FailedAuthLimiter } from "../src/modules/auth/failure-limiter";
import { type CallOptions, type CallResult, callApp, DEV_KEY, errorOf } from "./support/harness";
import { issueTestKey } from "./support/keys";
import { logEntries, startServer } from "./support/process";

const afterResponses = () => new Promise((resolve) => setImmediate(resolve));
const WRONG_KEY = "sk_test_this-key-does-not-exist-and-never-will";
/** The header these tests' address resolver reads: app.handle has no socket to ask. */
const CLIENT = "x-test-client";

interface Clock {
  t: number;
}

function limiter(options: Partial<Config["auth"]["failed_attempts"]> = {}, clock: Clock = { t: 1_000_000 }) {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger("debug", { sink: (line) => logs.push(JSON.parse(line)) });
  const l = new FailedAuthLimiter({ ...DEFAULT_CONFIG.auth.failed_attempts, ...options }, logger, () => clock.t);
  return { l, logs, clock };
}

interface FloodHarness extends Tollgate {
  logs: Record<string, unknown>[];
  clock: Clock;
  call(method: string, path: string, options?: CallOptions & { from?: string }): Promise<CallResult>;
}

async function floodHarness(
  failedAttempts: Partial<Config["auth"]["failed_attempts"]> = {},
  extra: Partial<Config> = {},
): Promise<FloodHarness> {
  const config = structuredClone(DEFAULT_CONFIG);
  Object.assign(config.auth.failed_attempts, failedAttempts);
  Object.assign(config, extra);
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger("debug", { sink: (line) => logs.push(JSON.parse(line)) });
  const clock = { t: Date.parse("2026-01-01T00:00:00Z") };
  const tollgate = await createTollgate({
    config,
    store: new SqliteStore(openDatabase(MEMORY_DATABASE)),
    logger,
    clientAddress: (request) => request.headers.get(CLIENT),
    now: () => clock.t,
  });
  return {
    ...tollgate,
    logs,
    clock,
    call: (method, path, options = {}) =>
      callApp(tollgate.app, method, path, {
        ...options,
        headers: { ...options.headers, ...(options.from ? { [CLIENT]: options.from } : {}) },
      }),
  };
}

async function failTimes(h: FloodHarness, n: number, from: string, key = WRONG_KEY): Promise<CallResult[]> {
  const results: CallResult[] = [];
  for (let i = 0; i < n; i++) results.push(await h.call("GET", "/v1/users/me", { key, from }));
  return results;
}

describe("FailedAuthLimiter (clock injected)", () => {
  test("allows max_failures failures per address in a window, then refuses until the window ends", () => {
    const { l, clock } = limiter({ max_failures: 3, window_seconds: 60 });
    for (let i = 0; i < 3; i++) expect(l.fail("203.0.113.7").retryAfterSeconds).toBe(0);
    clock.t += 10_000;
    expect(l.fail("203.0.113.7").retryAfterSeconds).toBe(50);
    clock.t += 49_500;
    expect(l.fail("203.0.113.7").retryAfterSeconds).toBe(1);
    // Another address has its own budget.
    expect(l.fail("203.0.113.8").retryAfterSeconds).toBe(0);
    // The window ends: a fresh budget.
    clock.t += 500;
    for (let i = 0; i < 3; i++) expect(l.fail("203.0.113.7").retryAfterSeconds).toBe(0);
    expect(l.fail("203.0.113.7").retryAfterSeconds).toBe(60);
  });

  test("max_failures 0 turns the limit off; an unknown address (null) is never limited", () => {
    const off = limiter({ max_failures: 0 }).l;
    for (let i = 0; i < 1000; i++) expect(off.fail("203.0.113.7").retryAfterSeconds).toBe(0);
    expect(off.size).toBe(0);
    const on = limiter({ max_failures: 1 }).l;
    for (let i = 0; i < 10; i++) expect(on.fail(null).retryAfterSeconds).toBe(0);
  });

  test("IPv6 addresses are grouped by /64; IPv4-mapped IPv6 counts as the IPv4 address", () => {
    expect(clientKey("203.0.113.7")).toBe("203.0.113.7");
    expect(clientKey("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(clientKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:DB8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");

    const { l } = limiter({ max_failures: 2 });
    l.fail("2001:db8:1:2::1");
    l.fail("2001:db8:1:2::2");
    // A third address from the same /64 shares the budget: rotating within it gains nothing.
    expect(l.fail("2001:db8:1:2:ffff::3").retryAfterSeconds).toBeGreaterThan(0);
    expect(l.fail("2001:db8:1:3::1").retryAfterSeconds).toBe(0);
  });

  test("memory is bounded: at most max_addresses addresses are tracked", () => {
    const { l } = limiter({ max_failures: 5, max_addresses: 100 });
    for (let i = 0; i < 5000; i++) l.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(l.size).toBe(100);
  });

  test("failure lines are sampled: at most log_lines_per_second; the sweep reports the rest in one line", () => {
    const { l, logs, clock } = limiter({ max_failures: 2, window_seconds: 60, log_lines_per_second: 5 });
    // 50 addresses, one failure each, in the same second: 5 may be logged.
    const verdicts = Array.from({ length: 50 }, (_, i) => l.fail(`198.51.100.${i}`));
    expect(verdicts.filter((v) => v.log)).toHaveLength(5);
    // The next second has a fresh allowance.
    clock.t += 1000;
    expect(l.fail("198.51.100.200").log).toBe(true);
    // One address over its budget: its refusals are never logged one by one.
    l.fail("192.0.2.1");
    l.fail("192.0.2.1");
    const refused = Array.from({ length: 20 }, () => l.fail("192.0.2.1"));
    expect(refused.every((v) => v.retryAfterSeconds > 0 && !v.log)).toBe(true);
    const warnings = logs.filter((e) => e.msg === "failed authentication limit reached");
    expect(warnings).toEqual([
      expect.objectContaining({ level: "warn", client: "192.0.2.1", max_failures: 2, window_seconds: 60 }),
    ]);

    l.sweep();
    const summaries = logs.filter((e) => e.msg === "failed authentication not logged one by one");
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({
      level: "warn",
      refused: 20,
      unlogged_failures: 45,
      top_clients: [{ client: "192.0.2.1", refused: 20 }],
    });
    // Nothing new: no line.
    l.sweep();
    expect(logs.filter((e) => e.msg === "failed authentication not logged one by one")).toHaveLength(1);
    // Windows that ended are forgotten.
    clock.t += 61_000;
    l.sweep();
    expect(l.size).toBe(0);
    l.close();
  });
});

describe("over HTTP (app.handle, client address injected)", () => {
  test("after max_failures bad keys, the address gets 429 with Retry-After and details; another address gets 401", async () => {
    const h = await floodHarness({ max_failures: 5, window_seconds: 60 });
    const first = await failTimes(h, 5, "203.0.113.7");
    expect(first.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    h.clock.t += 15_000;
    const limited = await h.call("GET", "/v1/users/me", { key: WRONG_KEY, from: "203.0.113.7" });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("45");
    expect(limited.headers.get("x-request-id")).toBeTruthy();
    expect(errorOf(limited)).toEqual({
      message: "Too many failed authentication attempts",
      internal_error: "too_many_requests",
      details: {
        reason:
          "More than 5 failed credential checks from this address within 60 seconds; a valid credential is still accepted",
        retry_after_seconds: 45,
        max_failures: 5,
        window_seconds: 60,
      },
    });
    // A missing key and an expired-or-unknown key count alike: every 401 is a failed check.
    expect((await h.call("GET", "/v1/users/me", { key: null, from: "203.0.113.7" })).status).toBe(429);
    const other = await h.call("GET", "/v1/users/me", { key: WRONG_KEY, from: "203.0.113.8" });
    expect(other.status).toBe(401);
    expect(errorOf(other).message).toBe("Invalid API key");
    expect(other.headers.get("retry-after")).toBeNull();
    // The window ends: the address is answered 401 again.
    h.clock.t += 45_000;
    expect((await h.call("GET", "/v1/users/me", { key: WRONG_KEY, from: "203.0.113.7" })).status).toBe(401);
  });

  test("a valid key from a blocked address is still accepted, /health answers, and 403s do not count", async () => {
    const h = await floodHarness({ max_failures: 3 });
    const readerKey = (await issueTestKey(h, { roles: ["event_reader"] })).apiKey;
    // A valid key refused by RBAC (403) is not a failed credential check: 10 of them block nothing.
    for (let i = 0; i < 10; i++) {
      expect((await h.call("GET", "/v1/customers", { key: readerKey, from: "198.51.100.1" })).status).toBe(403);
    }
    expect((await h.call("GET", "/v1/users/me", { key: WRONG_KEY, from: "198.51.100.1" })).status).toBe(401);

    await failTimes(h, 3, "198.51.100.2");
    expect((await h.call("GET", "/v1/users/me", { key: WRONG_KEY, from: "198.51.100.2" })).status).toBe(429);
    const me = await h.call("GET", "/v1/users/me", { key: DEV_KEY, from: "198.51.100.2" });
    expect(me.status).toBe(200);
    expect((await h.call("POST", "/v1/events/query", { key: readerKey, from: "198.51.100.2", body: {} })).status).toBe(
      200,
    );
    expect((await h.call("GET", "/health", { key: null, from: "198.51.100.2" })).status).toBe(200);
    // Still blocked for wrong keys.
    expect((await h.call("GET", "/v1/users/me", { key: WRONG_KEY, from: "198.51.100.2" })).status).toBe(429);
  });

  test("refused requests are not logged one by one; one warning names the address; no key is logged", async () => {
    const h = await floodHarness({ max_failures: 3, window_seconds: 60 });
    await failTimes(h, 3, "203.0.113.9");
    await failTimes(h, 200, "203.0.113.9");
    await h.call("GET", "/v1/users/me", { key: DEV_KEY, from: "203.0.113.9" });
    await afterResponses();
    const requests = h.logs.filter((e) => e.msg === "request");
    expect(requests.map((e) => e.status)).toEqual([401, 401, 401, 200]);
    const warnings = h.logs.filter((e) => e.msg === "failed authentication limit reached");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ client: "203.0.113.9", retry_after_seconds: 60 });

    h.context.authenticator.failures.sweep();
    expect(h.logs.filter((e) => e.msg === "failed authentication not logged one by one")).toEqual([
      expect.objectContaining({ refused: 200, top_clients: [{ client: "203.0.113.9", refused: 200 }] }),
    ]);
    const everything = JSON.stringify(h.logs);
    for (const secret of [DEV_KEY, WRONG_KEY]) expect(everything).not.toContain(secret);
  });

  test("a burst of 401 lines cannot crowd out the warning: each has its own allowance a second", async () => {
    const h = await floodHarness({ max_failures: 5, log_lines_per_second: 2 });
    await failTimes(h, 50, "203.0.113.11");
    await afterResponses();
    expect(h.logs.filter((e) => e.msg === "request")).toHaveLength(2);
    expect(h.logs.filter((e) => e.msg === "failed authentication limit reached")).toHaveLength(1);
    h.context.authenticator.failures.sweep();
    expect(h.logs.filter((e) => e.msg === "failed authentication not logged one by one")).toEqual([
      expect.objectContaining({ refused: 45, unlogged_failures: 3 }),
    ]);
  });

  test("metrics count the refusals as too_many_failures and the 429 responses by route", async () => {
    const h = await floodHarness({ max_failures: 2 }, { metrics: { enabled: true } });
    await failTimes(h, 5, "203.0.113.10");
    await afterResponses();
    const text = (await h.call("GET", "/metrics", { key: null })).text;
    expect(text).toContain('tollgate_auth_outcomes_total{outcome="key_invalid"} 2');
    expect(text).toContain('tollgate_auth_outcomes_total{outcome="too_many_failures"} 3');
    expect(text).toContain('tollgate_http_requests_total{method="GET",route="/v1/users/me",status="429"} 3');
  });

  test("portal session tokens count against the same budget", async () => {
    const h = await floodHarness({ max_failures: 2 });
    const portal = (token: string | null, from: string) =>
      h.call("GET", "/v1/customer/portal/info", {
        key: null,
        from,
        headers: token === null ? {} : { "X-Session-Token": token },
      });
    expect((await portal("not-a-token", "192.0.2.50")).status).toBe(401);
    expect((await portal(null, "192.0.2.50")).status).toBe(401);
    const limited = await portal("not-a-token", "192.0.2.50");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    // And an API key failure from the same address is refused too: one budget per address.
    expect((await h.call("GET", "/v1/users/me", { key: WRONG_KEY, from: "192.0.2.50" })).status).toBe(429);
    // A valid session token still works from there.
    expect((await h.call("POST", "/v1/customers", { body: { external_id: "acme" } })).status).toBe(201);
    const token = (await h.call("GET", "/v1/customers/portal/acme")).body.token as string;
    expect((await portal(token, "192.0.2.50")).status).toBe(200);
  });

  test("without an address (app.handle, no socket) nothing is limited", async () => {
    const config = structuredClone(DEFAULT_CONFIG);
    config.auth.failed_attempts.max_failures = 1;
    const t = await createTollgate({
      config,
      store: new SqliteStore(openDatabase(MEMORY_DATABASE)),
      logger: createLogger("silent"),
    });
    for (let i = 0; i < 5; i++)
      expect((await callApp(t.app, "GET", "/v1/users/me", { key: WRONG_KEY })).status).toBe(401);
  });
});

describe("config: auth.failed_attempts", () => {
  test("defaults: 30 failures per 60 s per address, 10,000 addresses, 10 failure lines a second", () => {
    expect(loadConfig({ env: {}, cwd: "/nonexistent" }).auth.failed_attempts).toEqual({
      max_failures: 30,
      window_seconds: 60,
      max_addresses: 10_000,
      log_lines_per_second: 10,
    });
  });

  test("overridable from the environment, and checked", () => {
    const config = loadConfig({
      env: { TOLLGATE_AUTH_FAILED_ATTEMPTS_MAX_FAILURES: "0", TOLLGATE_AUTH_FAILED_ATTEMPTS_WINDOW_SECONDS: "300" },
      cwd: "/nonexistent",
    });
    expect(config.auth.failed_attempts).toMatchObject({ max_failures: 0, window_seconds: 300 });
    expect(() =>
      loadConfig({ env: { TOLLGATE_AUTH_FAILED_ATTEMPTS_WINDOW_SECONDS: "0" }, cwd: "/nonexistent" }),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({ env: { TOLLGATE_AUTH_FAILED_ATTEMPTS_MAX_ADDRESSES: "0" }, cwd: "/nonexistent" }),
    ).toThrow("auth.failed_attempts.max_addresses");
  });
});

const requestLines = (lines: string[]) => logEntries(lines).filter((e) => e.msg === "request");

describe("the real server process over loopback", () => {
  test("429 with Retry-After once over the budget; /health and the valid key still answer; refusals not logged", async () => {
    const server = await startServer({ env: { TOLLGATE_AUTH_FAILED_ATTEMPTS_MAX_FAILURES: "5" } });
    const statuses: number[] = [];
    let limited: Response | undefined;
    try {
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "X-API-Key": WRONG_KEY } });
        statuses.push(res.status);
        if (res.status === 429) limited ??= res;
        else await res.arrayBuffer();
      }
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
      const retryAfter = Number(limited?.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const body = (await limited?.json()) as any;
      expect(body.error.message).toBe("Too many failed authentication attempts");
      expect(body.error.details.retry_after_seconds).toBe(retryAfter);

      expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
      const me = await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "X-API-Key": DEV_KEY } });
      expect(me.status).toBe(200);
    } finally {
      expect(await server.stop("SIGTERM")).toBe(0);
    }
    const logs = logEntries(server.lines);
    const requests = requestLines(server.lines);
    // 5 failures, /health and the valid key: the 95 refusals left no line each.
    expect(requests.map((e) => e.status)).toEqual([401, 401, 401, 401, 401, 200, 200]);
    expect(logs.filter((e) => e.msg === "failed authentication limit reached")).toEqual([
      expect.objectContaining({ client: "127.0.0.1", max_failures: 5 }),
    ]);
    // Shutting down reports what was not logged.
    expect(logs.filter((e) => e.msg === "failed authentication not logged one by one")).toEqual([
      expect.objectContaining({ refused: 95 }),
    ]);
    expect(JSON.stringify(logs)).not.toContain(WRONG_KEY);
  });
});

describe("the limits count the peer's address, never what a client writes in a header", () => {
  /**
   * Each request claims another client in every header a proxy would write. On a server that
   * believed one of them, an attacker rotating it would never be limited.
   */
  const claimingClient = (i: number) => ({
    "x-forwarded-for": `198.51.100.${i}`,
    "x-real-ip": `198.51.100.${i}`,
    forwarded: `for=198.51.100.${i}`,
  });

  test("bad keys, and bad sign-ins, each with another X-Forwarded-For: 429 once the loopback address used its budget", async () => {
    // One server for both: the two limits are separate (sign-in failures are not failed key checks).
    const server = await startServer({
      env: {
        TOLLGATE_AUTH_FAILED_ATTEMPTS_MAX_FAILURES: "3",
        TOLLGATE_AUTH_SIGN_IN_MAX_FAILURES_PER_ADDRESS: "3",
      },
    });
    const keys: number[] = [];
    const signIns: number[] = [];
    try {
      for (let i = 1; i <= 5; i++) {
        const res = await fetch(`${server.baseUrl}/v1/users/me`, {
          headers: { "x-api-key": WRONG_KEY, ...claimingClient(i) },
        });
        await res.arrayBuffer();
        keys.push(res.status);
      }
      for (let i = 1; i <= 5; i++) {
        // Another email each time: the per-email and per-pair limits (5) never come into it.
        const res = await fetch(`${server.baseUrl}/v1/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json", ...claimingClient(i) },
          body: JSON.stringify({ email: `nobody${i}@example.com`, password: "not the password" }),
        });
        await res.arrayBuffer();
        signIns.push(res.status);
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect({ keys, signIns }).toEqual({ keys: [401, 401, 401, 429, 429], signIns: [401, 401, 401, 429, 429] });
    const warnings = logEntries(server.lines).filter((e) => String(e.msg).endsWith("limit reached"));
    expect(warnings.map((e) => e.msg)).toEqual(["failed authentication limit reached", "sign-in limit reached"]);
    expect(warnings[0]).toMatchObject({ client: "127.0.0.1" });
    expect(warnings[1]).toMatchObject({ limit: "address", address: "127.0.0.1" });
  });
});
