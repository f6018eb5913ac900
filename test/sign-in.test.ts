// SPEC.md §10: people sign in with an email and a password, get an opaque session token, and
// use it as `Authorization: Bearer <token>` on /v1 as their user account. Sessions expire and
// are revoked at once by sign-out, a password change and archiving the account. Failed
// sign-ins are limited per client address and per email.
import { changeSeen } from "./support/test-store";
import { describe, expect, test } from "bun:test";
import { sha256Hex } from "../src/modules/auth/hash";
import { createLogger } from "../src/http/logging";
import { SIGN_IN_LIMITS, SignInLimiter } from "../src/modules/sessions/limiter";
import { DEFAULT_TENANT, errorOf, errorBody } from "./support/harness";
import { environmentOf, issueTestKey } from "./support/keys";
import { addPerson, login, type SignInHarness, signInHarness } from "./support/sign-in";

const PASSWORD = "correct horse battery";
const INVALID = "Invalid email or password";
const TOO_MANY = "Too many sign-in attempts; try again later";
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const WEEK_MS = 7 * 24 * 3600 * 1000;

async function auditRows(h: SignInHarness, action: string) {
  return (
    (await h.context.db.all("SELECT * FROM audit_logs WHERE action = ? ORDER BY created_at, id", action)) as {
      tenant_id: string;
      environment_id: string | null;
      resource_id: string;
      actor_type: string;
      actor_id: string | null;
      credential_id: string | null;
      changes: string;
      ip: string | null;
    }[]
  ).map((row) => ({ ...row, changes: JSON.parse(row.changes) }));
}

describe("POST /v1/auth/login", () => {
  test("answers {token, user_id, tenant_id, expires_at}; only the token's SHA-256 is stored", async () => {
    const h = await signInHarness();
    const alice = await addPerson(h, "alice@example.com", PASSWORD, "Alice");
    const before = Date.now();
    const res = await login(h, "Alice@Example.com", PASSWORD);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["expires_at", "tenant_id", "token", "user_id"]);
    expect(res.body).toMatchObject({ user_id: alice.id, tenant_id: DEFAULT_TENANT });
    expect(res.body.expires_at).toMatch(TIMESTAMP);
    // auth.session.ttl_seconds: 7 days by default.
    const lifetime = Date.parse(res.body.expires_at) - before;
    expect(lifetime).toBeGreaterThanOrEqual(WEEK_MS - 1000);
    expect(lifetime).toBeLessThanOrEqual(WEEK_MS + 5000);

    const { token } = res.body;
    expect(token).toMatch(/^tgs_[0-9a-f]{64}$/);
    const stored = await h.context.db.all("SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at", alice.id);
    expect(stored.length).toBe(2); // the set-password link signed Alice in too
    const dump = JSON.stringify(stored);
    expect(dump).toContain(sha256Hex(token));
    expect(dump).not.toContain(token);
    expect(JSON.stringify(h.logs)).not.toContain(token);
    expect(JSON.stringify(h.logs)).not.toContain(PASSWORD);
  });

  test("the session is a bearer credential on /v1: the user account, full access, kind session", async () => {
    const h = await signInHarness();
    const alice = await addPerson(h, "alice@example.com", PASSWORD, "Alice");
    const { token, expires_at } = (await login(h, "alice@example.com", PASSWORD)).body;
    const me = await h.call("GET", "/v1/users/me", { bearer: token });
    expect(me.status).toBe(200);
    const development = await environmentOf(h, "development");
    expect(me.body).toMatchObject({ id: alice.id, type: "user", email: "alice@example.com", name: "Alice" });
    expect(me.body.environment_id).toBe(development.id);
    expect(me.body.credential).toEqual({
      kind: "session",
      id: expect.stringMatching(/^ses_[0-9A-HJKMNP-TV-Z]{26}$/),
      type: "private_key",
      roles: ["super_admin"],
      expires_at,
    });
    // X-Environment-ID picks the environment, as for config keys.
    const production = await environmentOf(h, "production");
    const there = await h.call("GET", "/v1/users/me", {
      bearer: token,
      headers: { "X-Environment-ID": production.id },
    });
    expect(there.body.environment_id).toBe(production.id);
    const nowhere = await h.call("GET", "/v1/users/me", { bearer: token, headers: { "X-Environment-ID": "env_x" } });
    expect(nowhere.status).toBe(403);
    expect(errorOf(nowhere).message).toBe("Invalid or inaccessible environment");

    // Full access, and changes are audited as the person with the session as credential.
    const created = await h.call("POST", "/v1/users", {
      bearer: token,
      body: { type: "service_account", name: "Worker", roles: ["event_ingestor"] },
    });
    expect(created.status).toBe(201);
    const [row] = await auditRows(h, "service_account.created");
    expect(row).toMatchObject({ actor_type: "user", actor_id: alice.id, credential_id: me.body.credential.id });
  });

  test("X-API-Key comes first: with both headers, the key alone decides", async () => {
    const h = await signInHarness();
    await addPerson(h, "alice@example.com", PASSWORD);
    const { token } = (await login(h, "alice@example.com", PASSWORD)).body;
    const res = await h.call("GET", "/v1/users/me", { key: "sk_test_wrong", bearer: token });
    expect(res.status).toBe(401);
    expect(errorOf(res).message).toBe("Invalid API key");
    // An Authorization header of another scheme is no credential of ours.
    const basic = await h.call("GET", "/v1/users/me", { key: null, headers: { authorization: "Basic dXNlcjpwYXNz" } });
    expect(basic.status).toBe(401);
    expect(errorOf(basic).message).toBe("API key required");
  });

  test("a token that is malformed, unknown, expired or revoked is a 401 and counts as a failed check", async () => {
    const h = await signInHarness({ auth: { failed_attempts: { max_failures: 3 } } });
    await addPerson(h, "alice@example.com", PASSWORD);
    const { token } = (await login(h, "alice@example.com", PASSWORD)).body;
    const unknown = `tgs_${"0".repeat(64)}`;
    for (const bad of ["nonsense", unknown, `${token}x`]) {
      const res = await h.call("GET", "/v1/users/me", { bearer: bad, from: "198.51.100.7" });
      expect(res.status).toBe(401);
      expect(errorOf(res)).toEqual({ message: "Invalid session token", internal_error: "permission_denied" });
    }
    // The address's budget of failed credential checks is shared with bad keys.
    const limited = await h.call("GET", "/v1/users/me", { bearer: unknown, from: "198.51.100.7" });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).not.toBeNull();
    // A valid session is still accepted from that address.
    expect((await h.call("GET", "/v1/users/me", { bearer: token, from: "198.51.100.7" })).status).toBe(200);
  });

  test("an expired session is refused, and a change made by another process is seen on the next request", async () => {
    const h = await signInHarness({}, { changePollMs: 20 });
    const alice = await addPerson(h, "alice@example.com", PASSWORD);
    const { token } = (await login(h, "alice@example.com", PASSWORD)).body;
    expect((await h.call("GET", "/v1/users/me", { bearer: token })).status).toBe(200);
    // Another process (a script, the CLI) expires it in the store: the cached session goes.
    await h.context.db.run(
      "UPDATE sessions SET expires_at = ? WHERE token_hash = ?",
      new Date(Date.now() - 1000).toISOString(),
      sha256Hex(token),
    );
    // The store's credential generation is read at most once a millisecond (SQLite), or polled.
    await changeSeen();
    const expired = await h.call("GET", "/v1/users/me", { bearer: token });
    expect(expired.status).toBe(401);
    expect(errorOf(expired).message).toBe("Session has expired");

    const second = (await login(h, "alice@example.com", PASSWORD)).body.token;
    expect((await h.call("GET", "/v1/users/me", { bearer: second })).status).toBe(200);
    await h.context.db.run("UPDATE sessions SET revoked_at = ? WHERE user_id = ?", new Date().toISOString(), alice.id);
    await changeSeen();
    expect((await h.call("GET", "/v1/users/me", { bearer: second })).status).toBe(401);
  });
});

describe("one answer for every failed sign-in, and the same work", () => {
  test("wrong password, unknown email, archived account, account without a password: the same 401", async () => {
    const h = await signInHarness();
    await addPerson(h, "alice@example.com", PASSWORD);
    const bob = await addPerson(h, "bob@example.com", PASSWORD);
    expect((await h.call("DELETE", `/v1/users/${bob.id}`)).status).toBe(204);
    const invited = await h.call("POST", "/v1/users", { body: { type: "user", email: "carol@example.com" } });
    expect(invited.status).toBe(201);
    const service = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "Worker", roles: ["super_admin"] },
    });

    const attempts: [string, string][] = [
      ["alice@example.com", "wrong password!"],
      ["nobody@example.com", PASSWORD],
      ["bob@example.com", PASSWORD],
      ["carol@example.com", PASSWORD],
      // A service account has no email and no password: nothing it holds signs in.
      [service.body.id, PASSWORD],
      ["Worker", PASSWORD],
    ];
    for (const [email, password] of attempts) {
      const res = await login(h, email, password);
      expect({ email, status: res.status }).toEqual({ email, status: 401 });
      expect(res.body).toEqual(errorBody(401, "permission_denied", INVALID));
    }
  });

  test("each attempt verifies exactly one argon2id hash: the account's, or a dummy of the same cost", async () => {
    const h = await signInHarness();
    await addPerson(h, "alice@example.com", PASSWORD);
    const alice = await h.context.db.value("SELECT password_hash FROM users WHERE email = ?", "alice@example.com");
    const invited = await h.call("POST", "/v1/users", { body: { type: "user", email: "carol@example.com" } });
    expect(invited.status).toBe(201);

    const checked = async (email: string, password: string) => {
      const from = h.verifications.length;
      await login(h, email, password);
      return h.verifications.slice(from);
    };
    const right = await checked("alice@example.com", PASSWORD);
    const wrong = await checked("alice@example.com", "wrong password!");
    const unknown = await checked("nobody@example.com", "wrong password!");
    const noPassword = await checked("carol@example.com", "wrong password!");
    expect(right).toEqual([{ password: PASSWORD, hash: alice as string }]);
    expect(wrong).toEqual([{ password: "wrong password!", hash: alice as string }]);
    expect(unknown).toHaveLength(1);
    expect(noPassword).toHaveLength(1);
    const dummy = unknown[0]?.hash as string;
    expect(noPassword[0]?.hash).toBe(dummy);
    expect(dummy).not.toBe(alice);
    // The dummy is a hash the same hasher made, so it costs what a real one costs.
    expect(h.hashes).toContain(dummy);
    const params = (hash: string) => hash.split("$").slice(1, 4).join("$");
    expect(params(dummy)).toBe(params(alice as string));
  });

  test("the default hasher is argon2id at Bun's default cost", async () => {
    const { defaultHasher } = await import("../src/modules/sessions/passwords");
    const hash = await defaultHasher.hash(PASSWORD);
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=65536,t=2,p=1\$/);
    expect(await defaultHasher.verify(PASSWORD, hash)).toBe(true);
    expect(await defaultHasher.verify(`${PASSWORD}!`, hash)).toBe(false);
  });

  test("a failed sign-in of an existing account is audited with the email, never the password", async () => {
    const h = await signInHarness();
    const alice = await addPerson(h, "alice@example.com", PASSWORD);
    await login(h, "ALICE@example.com", "hunter2-wrong", "192.0.2.10");
    await login(h, "nobody@example.com", "hunter2-wrong", "192.0.2.10");
    const rows = await auditRows(h, "user.sign_in_failed");
    // An unknown email belongs to no tenant: no tenant's audit log receives it.
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      tenant_id: DEFAULT_TENANT,
      environment_id: (await environmentOf(h, "development")).id,
      resource_id: alice.id,
      actor_type: "user",
      actor_id: null,
      ip: "192.0.2.10",
    });
    expect(rows[0]?.changes.after).toEqual({ email: "ALICE@example.com", reason: "wrong_password" });
    const everything = JSON.stringify(await h.context.db.all("SELECT * FROM audit_logs"));
    expect(everything).not.toContain("hunter2-wrong");
    expect(everything).not.toContain("$argon2");

    const ok = await login(h, "alice@example.com", PASSWORD, "192.0.2.10");
    const last = (await auditRows(h, "user.signed_in")).at(-1);
    expect(last).toMatchObject({ resource_id: alice.id, actor_type: "user", actor_id: alice.id, ip: "192.0.2.10" });
    expect(last?.credential_id).toMatch(/^ses_/);
    expect(last?.changes.after).toEqual({ session_id: last?.credential_id, expires_at: ok.body.expires_at });
    expect(JSON.stringify(last)).not.toContain(ok.body.token);
  });
});

describe("failed sign-ins are limited per address and per email", () => {
  test("5 failures for one email, from any addresses: the 6th attempt is 429, even with the right password", async () => {
    const h = await signInHarness();
    await addPerson(h, "alice@example.com", PASSWORD);
    for (let i = 0; i < 5; i++) {
      expect((await login(h, "alice@example.com", "wrong password!", `203.0.113.${i}`)).status).toBe(401);
    }
    const verified = h.verifications.length;
    h.clock.t += 60_000;
    const refused = await login(h, "alice@example.com", PASSWORD, "203.0.113.99");
    expect(refused.status).toBe(429);
    expect(errorOf(refused).message).toBe(TOO_MANY);
    // Until the window (15 minutes from the first failure) passes.
    expect(refused.headers.get("retry-after")).toBe(String(14 * 60));
    // Refused before any password is checked.
    expect(h.verifications.length).toBe(verified);
    h.clock.t += 14 * 60_000 - 1000;
    expect((await login(h, "alice@example.com", PASSWORD, "203.0.113.99")).status).toBe(429);
    h.clock.t += 1000;
    expect((await login(h, "alice@example.com", PASSWORD, "203.0.113.99")).status).toBe(200);
  });

  test("5 failures for made-up emails from one shared address (a proxy, a NAT) do not lock alice out from it", async () => {
    const h = await signInHarness();
    await addPerson(h, "alice@example.com", PASSWORD);
    await addPerson(h, "bob@example.com", PASSWORD);
    const PROXY = "172.17.0.1";
    for (let i = 0; i < 5; i++) {
      expect((await login(h, `nobody${i}@example.com`, "wrong password!", PROXY)).status).toBe(401);
    }
    expect((await login(h, "alice@example.com", PASSWORD, PROXY)).status).toBe(200);
    // 5 failures on alice's email do lock her (SPEC's accepted lockout), from everywhere.
    for (let i = 0; i < 5; i++) {
      expect((await login(h, "alice@example.com", "wrong password!", `203.0.113.${i}`)).status).toBe(401);
    }
    expect((await login(h, "alice@example.com", PASSWORD, PROXY)).status).toBe(429);
    expect((await login(h, "alice@example.com", PASSWORD, "198.51.100.7")).status).toBe(429);
    expect((await login(h, "bob@example.com", PASSWORD, PROXY)).status).toBe(200);
  });

  test("one address alone is limited against spraying: 100 failures on any emails, then that address is refused; others are not", async () => {
    const h = await signInHarness();
    await addPerson(h, "alice@example.com", PASSWORD);
    await addPerson(h, "bob@example.com", PASSWORD);
    for (let i = 0; i < 100; i++) {
      expect((await login(h, `guess${i}@example.com`, "wrong password!", "198.51.100.1")).status).toBe(401);
    }
    const blocked = await login(h, "alice@example.com", PASSWORD, "198.51.100.1");
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBe(15 * 60);
    // Another address signs in; its success does not reset the first address's count.
    expect((await login(h, "alice@example.com", PASSWORD, "198.51.100.2")).status).toBe(200);
    expect((await login(h, "bob@example.com", PASSWORD, "198.51.100.1")).status).toBe(429);
  });

  test("the spraying limit is auth.sign_in.max_failures_per_address; IPv6 counts by /64", async () => {
    const h = await signInHarness({ auth: { sign_in: { max_failures_per_address: 8 } } });
    await addPerson(h, "bob@example.com", PASSWORD);
    for (let i = 0; i < 8; i++) await login(h, `v6-${i}@example.com`, "wrong password!", `2001:db8:1:2::${i + 1}`);
    expect((await login(h, "bob@example.com", PASSWORD, "2001:db8:1:2::ffff")).status).toBe(429);
    expect((await login(h, "bob@example.com", PASSWORD, "2001:db8:1:3::1")).status).toBe(200);
  });

  test("a flood of new emails from a blocked address cannot make the limiter forget a locked email", async () => {
    const h = await signInHarness();
    // A small table, so the flood that once took 100,005 requests takes a few hundred.
    h.context.signInLimiter = new SignInLimiter(createLogger("silent"), () => h.clock.t, {
      ...SIGN_IN_LIMITS,
      maxTracked: 50,
    });
    await addPerson(h, "victim@example.com", PASSWORD);
    for (let i = 1; i <= 5; i++) {
      expect((await login(h, "victim@example.com", `guess ${i} at it`, `10.0.0.${i}`)).status).toBe(401);
    }
    expect((await login(h, "victim@example.com", PASSWORD, "10.0.0.6")).status).toBe(429);
    // One address floods: its failures until its spraying limit, then cheap 429s.
    for (let i = 0; i < 300; i++) await login(h, `flood${i}@flood.example`, "whatever1", "10.9.9.9");
    const verified = h.verifications.length;
    const again = await login(h, "victim@example.com", "guess 7 at it", "10.0.0.7");
    expect(again.status).toBe(429);
    expect(h.verifications.length).toBe(verified);
    expect((await login(h, "victim@example.com", PASSWORD, "10.0.0.8")).status).toBe(429);
  });

  test("a success clears nothing: signing into one's own account buys no more guesses", async () => {
    const h = await signInHarness();
    await addPerson(h, "mallory@example.com", PASSWORD);
    for (let i = 0; i < 4; i++) await login(h, "victim@example.com", `guess ${i}`, "192.0.2.66");
    expect((await login(h, "mallory@example.com", PASSWORD, "192.0.2.66")).status).toBe(200);
    expect((await login(h, "victim@example.com", "guess 4", "192.0.2.66")).status).toBe(401);
    expect((await login(h, "victim@example.com", "guess 5", "192.0.2.66")).status).toBe(429);
  });

  test("attempts in flight count: a burst of concurrent guesses gets no more than 5 checked", async () => {
    const h = await signInHarness();
    await addPerson(h, "alice@example.com", PASSWORD);
    const verified = h.verifications.length;
    const burst = await Promise.all(
      Array.from({ length: 12 }, (_, i) => login(h, "alice@example.com", `guess number ${i}`, `192.0.2.${i}`)),
    );
    expect(burst.filter((r) => r.status === 401)).toHaveLength(5);
    expect(burst.filter((r) => r.status === 429)).toHaveLength(7);
    expect(h.verifications.length - verified).toBe(5);
  });

  test("refused attempts write no audit row and no log line of their own", async () => {
    const h = await signInHarness();
    await addPerson(h, "alice@example.com", PASSWORD);
    for (let i = 0; i < 5; i++) await login(h, "alice@example.com", "wrong password!", "192.0.2.1");
    // Request lines are written just after each response.
    await new Promise((resolve) => setImmediate(resolve));
    const lines = h.logs.length;
    for (let i = 0; i < 50; i++) {
      expect((await login(h, "alice@example.com", "wrong password!", "192.0.2.1")).status).toBe(429);
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(await auditRows(h, "user.sign_in_failed")).toHaveLength(5);
    const newLines = h.logs.slice(lines);
    expect(newLines.filter((line) => line.msg === "request")).toHaveLength(0);
    // One warning says the limit was reached, once per address and per email for the window.
    expect(newLines.filter((line) => line.msg === "sign-in limit reached").length).toBeLessThanOrEqual(2);
  });

  test("bad input is a 400 that counts nothing and checks nothing", async () => {
    const h = await signInHarness();
    const cases = [
      {},
      { email: "a@example.com" },
      { email: "a@example.com", password: "" },
      { email: "a@example.com", password: "x".repeat(257) },
      { email: 7, password: PASSWORD },
      { email: "a@example.com", password: PASSWORD, extra: true },
    ];
    for (const body of cases) {
      for (let i = 0; i < 2; i++) {
        const res = await h.call("POST", "/v1/auth/login", { key: null, body, from: "192.0.2.5" });
        expect(res.status).toBe(400);
        expect(errorOf(res).internal_error).toBe("validation_error");
        expect(res.text).not.toContain("x".repeat(257));
      }
    }
    expect(h.verifications).toHaveLength(0);
    // Flexprice's LoginRequest also has `token` (for its hosted sign-in): accepted and ignored.
    expect((await login(h, "a@example.com", PASSWORD, "192.0.2.5")).status).toBe(401);
    const withToken = await h.call("POST", "/v1/auth/login", {
      key: null,
      body: { email: "a@example.com", password: PASSWORD, token: "t" },
      from: "192.0.2.5",
    });
    expect(withToken.status).toBe(401);
  });
});

describe("what revokes sessions", () => {
  test("POST /v1/auth/logout revokes the presented session only; the next request with it is 401", async () => {
    const h = await signInHarness();
    const alice = await addPerson(h, "alice@example.com", PASSWORD);
    const first = (await login(h, "alice@example.com", PASSWORD)).body.token;
    const second = (await login(h, "alice@example.com", PASSWORD)).body.token;
    expect((await h.call("GET", "/v1/users/me", { bearer: first })).status).toBe(200);
    const out = await h.call("POST", "/v1/auth/logout", { bearer: first });
    expect(out.status).toBe(204);
    const after = await h.call("GET", "/v1/users/me", { bearer: first });
    expect(after.status).toBe(401);
    expect(errorOf(after).message).toBe("Invalid session token");
    expect((await h.call("POST", "/v1/auth/logout", { bearer: first })).status).toBe(401);
    expect((await h.call("GET", "/v1/users/me", { bearer: second })).status).toBe(200);
    const [row] = await auditRows(h, "user.signed_out");
    expect(row).toMatchObject({ resource_id: alice.id, actor_id: alice.id, actor_type: "user" });
    expect(row?.credential_id).toMatch(/^ses_/);
  });

  test("logout with an API key: 400, there is no session to end", async () => {
    const h = await signInHarness();
    const res = await h.call("POST", "/v1/auth/logout");
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({
      message: "Sign-out ends a session; this request did not use one",
      internal_error: "invalid_operation",
    });
    expect((await h.call("POST", "/v1/auth/logout", { key: null })).status).toBe(401);
  });

  test("POST /v1/auth/password: every session of the account is revoked; the old password stops working", async () => {
    const h = await signInHarness();
    const alice = await addPerson(h, "alice@example.com", PASSWORD);
    const bob = await addPerson(h, "bob@example.com", PASSWORD);
    const one = (await login(h, "alice@example.com", PASSWORD)).body.token;
    const two = (await login(h, "alice@example.com", PASSWORD)).body.token;
    const bobs = (await login(h, "bob@example.com", PASSWORD)).body.token;
    for (const token of [one, two, bobs])
      expect((await h.call("GET", "/v1/users/me", { bearer: token })).status).toBe(200);

    const changed = await h.call("POST", "/v1/auth/password", {
      bearer: one,
      body: { current_password: PASSWORD, new_password: "a new passphrase" },
    });
    expect(changed.status).toBe(204);
    for (const token of [one, two, alice.token]) {
      expect((await h.call("GET", "/v1/users/me", { bearer: token })).status).toBe(401);
    }
    expect((await h.call("GET", "/v1/users/me", { bearer: bobs })).status).toBe(200);
    expect((await login(h, "alice@example.com", PASSWORD)).status).toBe(401);
    expect((await login(h, "alice@example.com", "a new passphrase")).status).toBe(200);
    const [row] = await auditRows(h, "user.password_changed");
    expect(row).toMatchObject({ resource_id: alice.id, actor_id: alice.id });
    expect(JSON.stringify(row)).not.toContain("a new passphrase");
    expect(bob.id).not.toBe(alice.id);
  });

  test("password change: wrong current password 403, a short new one 400, a service account 403; nothing changes", async () => {
    const h = await signInHarness();
    await addPerson(h, "alice@example.com", PASSWORD);
    const token = (await login(h, "alice@example.com", PASSWORD)).body.token;
    const change = (body: unknown, options = {}) =>
      h.call("POST", "/v1/auth/password", { bearer: token, body, ...options });

    const wrong = await change({ current_password: "not it at all", new_password: "a new passphrase" });
    expect(wrong.status).toBe(403);
    expect(errorOf(wrong)).toMatchObject({
      message: "Current password is incorrect",
      internal_error: "permission_denied",
    });
    const short = await change({ current_password: PASSWORD, new_password: "short" });
    expect(short.status).toBe(400);
    expect(errorOf(short).details).toEqual({ new_password: "must be 8 to 256 characters" });
    expect(short.text).not.toContain('short"');

    const service = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "Root bot", roles: ["super_admin"] },
    });
    const key = await h.call("POST", "/v1/secrets/api/keys", {
      body: { name: "k", service_account_id: service.body.id },
    });
    const bot = await h.call("POST", "/v1/auth/password", {
      key: key.body.api_key,
      body: { current_password: PASSWORD, new_password: "a new passphrase" },
    });
    expect(bot.status).toBe(403);
    expect(errorOf(bot).message).toBe("Service accounts have no password: only user accounts sign in");

    expect((await h.call("GET", "/v1/users/me", { bearer: token })).status).toBe(200);
    expect((await login(h, "alice@example.com", PASSWORD)).status).toBe(200);
    expect(await auditRows(h, "user.password_changed")).toHaveLength(0);
  });

  test("POST /v1/auth/password takes any credential of a user account; every service account's is refused alike", async () => {
    const h = await signInHarness();
    const alice = await addPerson(h, "alice@example.com", PASSWORD);
    const body = { current_password: "not the password", new_password: "a new passphrase" };
    for (const roles of [["event_ingestor"], ["event_reader"], ["super_admin"]]) {
      const account = await h.call("POST", "/v1/users", { body: { type: "service_account", name: "Bot", roles } });
      const key = await h.call("POST", "/v1/secrets/api/keys", {
        body: { name: "k", service_account_id: account.body.id },
      });
      const res = await h.call("POST", "/v1/auth/password", { key: key.body.api_key, body });
      expect([roles[0], res.status, errorOf(res).message]).toEqual([
        roles[0],
        403,
        "Service accounts have no password: only user accounts sign in",
      ]);
    }
    // A publishable key changes nothing, as everywhere (SPEC §2), even with the right password.
    const publishable = await h.call("POST", "/v1/secrets/api/keys", {
      bearer: alice.token,
      body: { name: "pk", type: "publishable_key" },
    });
    expect(publishable.status).toBe(201);
    const pk = await h.call("POST", "/v1/auth/password", {
      key: publishable.body.api_key,
      body: { current_password: PASSWORD, new_password: "a new passphrase" },
    });
    expect(pk.status).toBe(403);
    expect(errorOf(pk).message).toBe("Publishable keys cannot access this resource");
    // A config key acts as its user account: the default one, which has no password yet.
    const configKey = await h.call("POST", "/v1/auth/password", { body });
    expect(configKey.status).toBe(400);
    expect(errorOf(configKey).message).toBe("This account has no password yet: set one with its set-password link");
    // A session, and a private key of the account: a wrong current password is theirs to get wrong.
    expect((await h.call("POST", "/v1/auth/password", { bearer: alice.token, body })).status).toBe(403);
    const own = await h.call("POST", "/v1/secrets/api/keys", { bearer: alice.token, body: { name: "sk" } });
    const withKey = await h.call("POST", "/v1/auth/password", {
      key: own.body.api_key,
      body: { current_password: PASSWORD, new_password: "a new passphrase" },
    });
    expect(withKey.status).toBe(204);
    expect((await login(h, "alice@example.com", "a new passphrase")).status).toBe(200);
  });

  test("a locked email does not keep its owner from changing the password from a live session", async () => {
    const h = await signInHarness();
    const alice = await addPerson(h, "alice@example.com", PASSWORD);
    for (let i = 0; i < 5; i++) await login(h, "alice@example.com", `wrong guess ${i}`, `192.0.2.${i}`);
    expect((await login(h, "alice@example.com", PASSWORD, "198.51.100.7")).status).toBe(429);
    const changed = await h.call("POST", "/v1/auth/password", {
      bearer: alice.token,
      from: "198.51.100.7",
      body: { current_password: PASSWORD, new_password: "a brand new passphrase" },
    });
    expect(changed.status).toBe(204);
  });

  test("wrong current passwords from a session count against (address, session), not the email", async () => {
    const h = await signInHarness();
    await addPerson(h, "alice@example.com", PASSWORD);
    const token = (await login(h, "alice@example.com", PASSWORD)).body.token;
    const change = (current: string, from: string) =>
      h.call("POST", "/v1/auth/password", {
        bearer: token,
        from,
        body: { current_password: current, new_password: "a new passphrase" },
      });
    for (let i = 0; i < 5; i++) expect((await change(`guess ${i} at it`, "203.0.113.5")).status).toBe(403);
    const limited = await change(PASSWORD, "203.0.113.5");
    expect(limited.status).toBe(429);
    expect(errorOf(limited).message).toBe(TOO_MANY);
    // Alice still signs in (her email counted nothing), and the session changes it from elsewhere.
    expect((await login(h, "alice@example.com", PASSWORD, "198.51.100.9")).status).toBe(200);
    expect((await change(PASSWORD, "198.51.100.9")).status).toBe(204);
  });

  test("wrong current passwords with a key acting as the account count as failed sign-ins of its email", async () => {
    const h = await signInHarness();
    const alice = await addPerson(h, "alice@example.com", PASSWORD);
    const key = await h.call("POST", "/v1/secrets/api/keys", { bearer: alice.token, body: { name: "alice's key" } });
    expect(key.status).toBe(201);
    for (let i = 0; i < 5; i++) {
      const res = await h.call("POST", "/v1/auth/password", {
        key: key.body.api_key,
        from: "203.0.113.6",
        body: { current_password: `guess ${i} at it`, new_password: "a new passphrase" },
      });
      expect(res.status).toBe(403);
    }
    expect((await login(h, "alice@example.com", PASSWORD, "198.51.100.9")).status).toBe(429);
  });

  test("archiving a user account revokes its sessions at once", async () => {
    const h = await signInHarness();
    const alice = await addPerson(h, "alice@example.com", PASSWORD);
    const token = (await login(h, "alice@example.com", PASSWORD)).body.token;
    expect((await h.call("GET", "/v1/users/me", { bearer: token })).status).toBe(200);
    expect((await h.call("DELETE", `/v1/users/${alice.id}`)).status).toBe(204);
    expect((await h.call("GET", "/v1/users/me", { bearer: token })).status).toBe(401);
    expect(
      await h.context.db.value("SELECT count(*) FROM sessions WHERE user_id = ? AND revoked_at IS NULL", alice.id),
    ).toBe(0);
    expect((await login(h, "alice@example.com", PASSWORD)).status).toBe(401);
  });
});

describe("a session change leaves the API-key cache alone", () => {
  test("a sign-out evicts the session, and every cached API key stays cached", async () => {
    const h = await signInHarness();
    const alice = await addPerson(h, "alice@example.com", "correct horse battery", "Alice");
    const key = (await issueTestKey(h, {})).apiKey;
    // The change watch reads the store at most once a millisecond: let each step be seen.
    const tick = () => Bun.sleep(3);
    expect((await h.call("GET", "/v1/users/me", { key })).status).toBe(200);
    await tick();
    const before = h.context.keyCache.stats;
    expect((await h.call("POST", "/v1/auth/logout", { bearer: alice.token })).status).toBe(204);
    await tick();
    expect((await h.call("GET", "/v1/users/me", { key })).status).toBe(200);
    const after = h.context.keyCache.stats;
    expect(after.misses).toBe(before.misses);
    expect(after.hits).toBe(before.hits + 1);
    // The session itself is gone at once.
    expect((await h.call("GET", "/v1/users/me", { key: null, bearer: alice.token })).status).toBe(401);
  });
});
