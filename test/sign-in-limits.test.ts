// SPEC.md §10's sign-in limits, in the limiter itself: what a guesser needs is limited per email
// (from anywhere) and per (address, email) pair, 5 failures in 15 minutes; an address alone has
// a much higher spraying limit, so one shared address (a reverse proxy, a NAT) cannot lock
// every account out. Its tables are bounded without ever forgetting a counter at its limit.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { createLogger } from "../src/http/logging";
import {
  SIGN_IN_LIMITS,
  type SignInAdmission,
  SignInLimiter,
  type SignInLimits,
} from "../src/modules/sessions/limiter";

const WINDOW_MS = 15 * 60 * 1000;

function limiter(limits: Partial<SignInLimits> = {}) {
  const clock = { t: 1_000_000 };
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger("debug", { sink: (line) => logs.push(JSON.parse(line)) });
  const l = new SignInLimiter(logger, () => clock.t, { ...SIGN_IN_LIMITS, ...limits });
  return { l, clock, logs };
}

/** One attempt that fails (when admitted); the wait in seconds when refused, else 0. */
function fail(admission: SignInAdmission): number {
  if ("retryAfterSeconds" in admission) return admission.retryAfterSeconds;
  admission.attempt.failed();
  return 0;
}

function admitted(admission: SignInAdmission): boolean {
  if ("retryAfterSeconds" in admission) return false;
  admission.attempt.succeeded();
  return true;
}

describe("the three limits of a sign-in", () => {
  test("SPEC's numbers by default: 5 per email and per (address, email); 100 per address alone", () => {
    expect(SIGN_IN_LIMITS).toMatchObject({
      maxFailuresPerEmail: 5,
      maxFailuresPerPair: 5,
      maxFailuresPerAddress: 100,
      windowSeconds: 900,
    });
  });

  test("per email, from anywhere: 5 failures refuse the 6th attempt from any address until the window ends", () => {
    const { l, clock } = limiter();
    for (let i = 0; i < 5; i++) expect(fail(l.begin(`203.0.113.${i}`, "alice@example.com"))).toBe(0);
    clock.t += 60_000;
    expect(fail(l.begin("198.51.100.9", "Alice@Example.com "))).toBe(14 * 60);
    expect(admitted(l.begin("198.51.100.9", "bob@example.com"))).toBe(true);
    clock.t += 14 * 60_000;
    expect(admitted(l.begin("198.51.100.9", "alice@example.com"))).toBe(true);
  });

  test("per (address, email) pair: 5 failures refuse that email from that address only", () => {
    // The email's own limit raised, to see the pair's.
    const { l } = limiter({ maxFailuresPerEmail: 50 });
    for (let i = 0; i < 5; i++) expect(fail(l.begin("192.0.2.1", "alice@example.com"))).toBe(0);
    expect(fail(l.begin("192.0.2.1", "alice@example.com"))).toBe(15 * 60);
    expect(admitted(l.begin("192.0.2.2", "alice@example.com"))).toBe(true);
    expect(admitted(l.begin("192.0.2.1", "bob@example.com"))).toBe(true);
    // IPv6 by /64, as the failed-credential limit counts.
    for (let i = 0; i < 5; i++) fail(l.begin(`2001:db8:1:2::${i + 1}`, "carol@example.com"));
    expect(admitted(l.begin("2001:db8:1:2::ffff", "carol@example.com"))).toBe(false);
    expect(admitted(l.begin("2001:db8:1:3::1", "carol@example.com"))).toBe(true);
  });

  test("per address alone, a spraying limit: failures on made-up emails refuse that address only past maxFailuresPerAddress", () => {
    const { l, clock } = limiter({ maxFailuresPerAddress: 12 });
    for (let i = 0; i < 5; i++) expect(fail(l.begin("172.17.0.1", `nobody${i}@example.com`))).toBe(0);
    // 5 is SPEC's number for one email; an address shared by everyone behind a proxy is not locked by it.
    expect(admitted(l.begin("172.17.0.1", "alice@example.com"))).toBe(true);
    for (let i = 5; i < 12; i++) expect(fail(l.begin("172.17.0.1", `nobody${i}@example.com`))).toBe(0);
    clock.t += 1000;
    expect(fail(l.begin("172.17.0.1", "alice@example.com"))).toBe(15 * 60 - 1);
    expect(admitted(l.begin("172.17.0.2", "alice@example.com"))).toBe(true);
    clock.t += WINDOW_MS;
    expect(admitted(l.begin("172.17.0.1", "alice@example.com"))).toBe(true);
  });

  test("an unknown address: only the email counts", () => {
    const { l } = limiter({ maxFailuresPerAddress: 3 });
    for (let i = 0; i < 4; i++) expect(fail(l.begin(null, `nobody${i}@example.com`))).toBe(0);
    for (let i = 0; i < 5; i++) fail(l.begin(null, "alice@example.com"));
    expect(admitted(l.begin(null, "alice@example.com"))).toBe(false);
    expect(admitted(l.begin("192.0.2.1", "alice@example.com"))).toBe(false);
  });

  test("attempts in flight count, and their refusal says 1 second: they may yet succeed", () => {
    const { l } = limiter();
    const inFlight = Array.from({ length: 5 }, (_, i) => l.begin(`192.0.2.${i}`, "alice@example.com"));
    expect(inFlight.every((a) => "attempt" in a)).toBe(true);
    expect(l.begin("192.0.2.99", "alice@example.com")).toEqual({ retryAfterSeconds: 1 });
    for (const a of inFlight) if ("attempt" in a) a.attempt.succeeded();
    expect(admitted(l.begin("192.0.2.99", "alice@example.com"))).toBe(true);
  });
});

describe("a password change from a session counts against (address, session), not the email", () => {
  test("a locked email does not refuse it; its own failures refuse that session from that address only", () => {
    const { l } = limiter();
    for (let i = 0; i < 5; i++) fail(l.begin(`203.0.113.${i}`, "alice@example.com"));
    expect(admitted(l.begin("198.51.100.1", "alice@example.com"))).toBe(false);
    expect(admitted(l.beginForSession("198.51.100.1", "ses_1"))).toBe(true);
    for (let i = 0; i < 5; i++) expect(fail(l.beginForSession("198.51.100.1", "ses_1"))).toBe(0);
    expect(fail(l.beginForSession("198.51.100.1", "ses_1"))).toBe(15 * 60);
    expect(admitted(l.beginForSession("198.51.100.2", "ses_1"))).toBe(true);
    expect(admitted(l.beginForSession("198.51.100.1", "ses_2"))).toBe(true);
    // Nor do those failures count against the email or the address.
    expect(admitted(l.begin("198.51.100.1", "bob@example.com"))).toBe(true);
  });
});

describe("sign-up counts every attempt against its address", () => {
  test("each attempt, whatever its outcome, counts; past the address's limit, 429", () => {
    const { l, clock } = limiter({ maxFailuresPerAddress: 4 });
    for (let i = 0; i < 4; i++) {
      const a = l.beginSignUp("192.0.2.7");
      expect("attempt" in a).toBe(true);
      // A sign-up that succeeded counts too: it cost a hash all the same.
      if ("attempt" in a) a.attempt.succeeded();
    }
    expect(l.beginSignUp("192.0.2.7")).toEqual({ retryAfterSeconds: 15 * 60 });
    expect(admitted(l.beginSignUp("192.0.2.8"))).toBe(true);
    // The same counter as sign-in's spraying limit.
    expect(admitted(l.begin("192.0.2.7", "alice@example.com"))).toBe(false);
    clock.t += WINDOW_MS;
    expect(admitted(l.beginSignUp("192.0.2.7"))).toBe(true);
  });
});

describe("bounded tables that never forget a counter at its limit", () => {
  test("refused attempts create no counters: a blocked address's flood of new emails leaves the tables as they were", () => {
    const { l } = limiter({ maxFailuresPerAddress: 5 });
    for (let i = 0; i < 5; i++) fail(l.begin("10.9.9.9", `guess${i}@example.com`));
    const before = l.tracked();
    expect(before).toEqual({ addresses: 1, emails: 5, pairs: 5 });
    for (let i = 0; i < 10_000; i++) expect(admitted(l.begin("10.9.9.9", `flood${i}@example.com`))).toBe(false);
    expect(l.tracked()).toEqual(before);
  });

  test("a flood of new emails cannot evict a locked one; a table full of locked counters refuses new keys", () => {
    const { l, clock, logs } = limiter({ maxTracked: 8 });
    for (let i = 0; i < 5; i++) fail(l.begin(`10.0.0.${i}`, "victim@example.com"));
    expect(admitted(l.begin("10.0.0.99", "victim@example.com"))).toBe(false);
    // Fresh addresses, one failure on a fresh email each: every table churns past its size.
    for (let i = 0; i < 500; i++) expect(fail(l.begin(`10.1.${i >> 8}.${i & 255}`, `flood${i}@example.com`))).toBe(0);
    expect(l.tracked().emails).toBeLessThanOrEqual(8);
    expect(admitted(l.begin("10.2.0.1", "victim@example.com"))).toBe(false);

    // Seven more emails locked: the email table now holds 8 counters at their limit.
    for (let e = 0; e < 7; e++) for (let i = 0; i < 5; i++) fail(l.begin(`10.3.${e}.${i}`, `locked${e}@example.com`));
    expect(l.tracked().emails).toBe(8);
    // No room for a new email without forgetting a locked one: refused (fail closed), counted nowhere.
    const refused = l.begin("10.4.0.1", "newcomer@example.com");
    expect(refused).toEqual({ retryAfterSeconds: expect.any(Number) });
    expect((refused as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(1);
    expect(logs.filter((line) => line.msg === "sign-in limit table full")).toHaveLength(1);
    expect(admitted(l.begin("10.2.0.1", "victim@example.com"))).toBe(false);
    for (let e = 0; e < 7; e++) expect(admitted(l.begin("10.2.0.1", `locked${e}@example.com`))).toBe(false);
    // Once their windows end, they make room again.
    clock.t += WINDOW_MS;
    expect(admitted(l.begin("10.4.0.1", "newcomer@example.com"))).toBe(true);
    expect(admitted(l.begin("10.4.0.1", "victim@example.com"))).toBe(true);
  });

  test("a counter with attempts in flight is not forgotten either", () => {
    const { l } = limiter({ maxTracked: 4 });
    const inFlight = Array.from({ length: 4 }, (_, i) => l.begin(`10.0.0.${i}`, `busy${i}@example.com`));
    expect(inFlight.every((a) => "attempt" in a)).toBe(true);
    // Every email counter has an attempt in flight: a fifth email has no room, for now.
    expect(l.begin("10.0.0.9", "other@example.com")).toEqual({ retryAfterSeconds: 1 });
    for (const a of inFlight) if ("attempt" in a) a.attempt.failed();
    expect(l.tracked().emails).toBe(4);
    expect(admitted(l.begin("10.0.0.9", "other@example.com"))).toBe(true);
  });
});

describe("what the limiter logs", () => {
  test("an email by the first 12 hex digits of the SHA-256 of its normalised form, never as typed", () => {
    const { l, logs } = limiter();
    const typed = "  Correct Horse Battery Staple ";
    for (let i = 0; i < 6; i++) fail(l.begin(`192.0.2.${i}`, typed));
    const warnings = logs.filter((line) => line.msg === "sign-in limit reached");
    expect(warnings.length).toBeGreaterThan(0);
    const digest = createHash("sha256").update("correct horse battery staple").digest("hex").slice(0, 12);
    expect(warnings[0]).toMatchObject({ email_sha256: digest, max_failures: 5, window_seconds: 900 });
    expect(JSON.stringify(logs).toLowerCase()).not.toContain("horse");
  });
});
