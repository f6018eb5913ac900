// SPEC.md §10: how a person gets a password. Invited user accounts get a one-time set-password
// link (not a plain password); the first person gets a one-time setup link printed at start;
// sign-up exists and is off by default.
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../src/config";
import { ApiError } from "../src/http/errors";
import { sha256Hex } from "../src/modules/auth/hash";
import { isValidPassword } from "../src/modules/sessions/passwords";
import { SIGN_IN_RESPONSES, SignInOutcome } from "../src/modules/sign-in/model";
import { createOperatorPerson } from "../src/modules/sign-in/operator";
import { issueSetupLink } from "../src/modules/sign-in/setup";
import { DEFAULT_TENANT, DEV_KEY, errorOf } from "./support/harness";
import { login, type SignInHarness, signInHarness, tokenOf } from "./support/sign-in";
import { tempDir } from "./support/temp";

const PASSWORD = "correct horse battery";
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DAY_MS = 24 * 3600 * 1000;

async function actions(h: SignInHarness): Promise<string[]> {
  return (await h.context.db.values("SELECT action FROM audit_logs ORDER BY created_at, id")) as string[];
}

async function invite(h: SignInHarness, email: string) {
  const res = await h.call("POST", "/v1/users", { body: { type: "user", email, name: "Invited" } });
  expect(res.status).toBe(201);
  return res.body as { id: string; set_password_url: string; set_password_expires_at: string };
}

describe("invites: a one-time set-password link instead of a password", () => {
  test("POST /v1/users {type: user} answers set_password_url and set_password_expires_at, once", async () => {
    const h = await signInHarness();
    const before = Date.now();
    const res = await h.call("POST", "/v1/users", {
      body: { type: "user", email: "alice@example.com", name: "Alice" },
    });
    expect(res.status).toBe(201);
    expect(res.body).not.toHaveProperty("password");
    expect(res.body.set_password_url).toMatch(
      /^http:\/\/127\.0\.0\.1:8080\/dashboard\/set-password\?token=tgp_[0-9a-f]{64}$/,
    );
    expect(res.body.set_password_expires_at).toMatch(TIMESTAMP);
    const lifetime = Date.parse(res.body.set_password_expires_at) - before;
    expect(lifetime).toBeGreaterThan(7 * DAY_MS - 5000);
    expect(lifetime).toBeLessThanOrEqual(7 * DAY_MS + 5000);
    // The account has no password until the link is used; the link is stored as its hash only.
    const row = (await h.context.db.get("SELECT password_hash FROM users WHERE id = ?", res.body.id)) as any;
    expect(row.password_hash).toBeNull();
    const token = tokenOf(res.body.set_password_url);
    const stored = JSON.stringify(await h.context.db.all("SELECT * FROM password_tokens"));
    expect(stored).toContain(sha256Hex(token));
    expect(stored).not.toContain(token);
    // Nowhere else: not in reads, the audit log or the log.
    for (const text of [
      (await h.call("GET", `/v1/users/${res.body.id}`)).text,
      (await h.call("GET", "/v1/audit-logs")).text,
      JSON.stringify(h.logs),
    ]) {
      expect(text).not.toContain(token);
    }
    // A service account gets neither.
    const service = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "W", roles: ["event_reader"] },
    });
    expect(service.body).not.toHaveProperty("set_password_url");
  });

  test("the link is on server.public_url (default: where the server listens), never on the request's Host, even one served", async () => {
    const inviteFrom = async (h: SignInHarness) => {
      // What Bun builds for a request whose Host header is evil.example.
      const res = await h.app.handle(
        new Request("http://evil.example/v1/users", {
          method: "POST",
          headers: { host: "evil.example", "x-api-key": DEV_KEY, "content-type": "application/json" },
          body: JSON.stringify({ type: "user", email: "alice@example.com" }),
        }),
      );
      expect(res.status).toBe(201);
      return ((await res.json()) as { set_password_url: string }).set_password_url;
    };
    expect(await inviteFrom(await signInHarness({ server: { allowed_hosts: ["evil.example"] } }))).toMatch(
      /^http:\/\/127\.0\.0\.1:8080\/dashboard\/set-password\?token=tgp_[0-9a-f]{64}$/,
    );
    const behindProxy = await signInHarness({
      server: { public_url: "https://tollgate.example.com", allowed_hosts: ["evil.example"] },
    });
    expect(await inviteFrom(behindProxy)).toMatch(
      /^https:\/\/tollgate\.example\.com\/dashboard\/set-password\?token=tgp_[0-9a-f]{64}$/,
    );
  });

  test("POST /v1/auth/set-password sets the password once, signs the person in, and is audited", async () => {
    const h = await signInHarness();
    const invited = await invite(h, "alice@example.com");
    const token = tokenOf(invited.set_password_url);
    const res = await h.call("POST", "/v1/auth/set-password", { key: null, body: { token, password: PASSWORD } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ user_id: invited.id, tenant_id: DEFAULT_TENANT });
    expect((await h.call("GET", "/v1/users/me", { bearer: res.body.token })).body.id).toBe(invited.id);
    expect((await login(h, "alice@example.com", PASSWORD)).status).toBe(200);
    expect(await actions(h)).toEqual(["user.created", "user.password_set", "user.signed_in", "user.signed_in"]);

    const again = await h.call("POST", "/v1/auth/set-password", {
      key: null,
      body: { token, password: "another passphrase" },
    });
    expect(again.status).toBe(401);
    expect(errorOf(again).message).toBe("Invalid or expired set-password link");
    expect((await login(h, "alice@example.com", PASSWORD)).status).toBe(200);
  });

  test("a short password is a 400 that leaves the link usable; an archived account's link is dead", async () => {
    const h = await signInHarness();
    const invited = await invite(h, "alice@example.com");
    const token = tokenOf(invited.set_password_url);
    const short = await h.call("POST", "/v1/auth/set-password", { key: null, body: { token, password: "1234567" } });
    expect(short.status).toBe(400);
    expect(errorOf(short)).toMatchObject({
      message: "password must be 8 to 256 characters",
      details: { password: "must be 8 to 256 characters" },
    });
    const long = await h.call("POST", "/v1/auth/set-password", {
      key: null,
      body: { token, password: "x".repeat(257) },
    });
    expect(long.status).toBe(400);
    const exactly8 = await h.call("POST", "/v1/auth/set-password", {
      key: null,
      body: { token, password: "12345678" },
    });
    expect(exactly8.status).toBe(200);

    const other = await invite(h, "bob@example.com");
    expect((await h.call("DELETE", `/v1/users/${other.id}`)).status).toBe(204);
    const dead = await h.call("POST", "/v1/auth/set-password", {
      key: null,
      body: { token: tokenOf(other.set_password_url), password: PASSWORD },
    });
    expect(dead.status).toBe(401);
  });

  test("an expired link is refused; a bad token counts as a failed credential check", async () => {
    const h = await signInHarness({ auth: { failed_attempts: { max_failures: 2 } } });
    const invited = await invite(h, "alice@example.com");
    const token = tokenOf(invited.set_password_url);
    await h.context.db.run(
      "UPDATE password_tokens SET expires_at = ? WHERE token_hash = ?",
      new Date(Date.now() - 1).toISOString(),
      sha256Hex(token),
    );
    const expired = await h.call("POST", "/v1/auth/set-password", {
      key: null,
      body: { token, password: PASSWORD },
      from: "192.0.2.9",
    });
    expect(expired.status).toBe(401);
    expect(errorOf(expired).message).toBe("Invalid or expired set-password link");
    const bad = await h.call("POST", "/v1/auth/set-password", {
      key: null,
      body: { token: "tgp_nope", password: PASSWORD },
      from: "192.0.2.9",
    });
    expect(bad.status).toBe(401);
    const limited = await h.call("POST", "/v1/auth/set-password", {
      key: null,
      body: { token: "tgp_nope", password: PASSWORD },
      from: "192.0.2.9",
    });
    expect(limited.status).toBe(429);
  });

  test("one email signs in to one account: a second tenant's invite of it cannot take a password", async () => {
    const h = await signInHarness({ auth: { signup: { enabled: true } } });
    const first = await invite(h, "alice@example.com");
    const set = await h.call("POST", "/v1/auth/set-password", {
      key: null,
      body: { token: tokenOf(first.set_password_url), password: PASSWORD },
    });
    expect(set.status).toBe(200);
    const signup = await h.call("POST", "/v1/auth/signup", {
      key: null,
      body: { email: "bob@example.com", password: PASSWORD, tenant_name: "Bob's company" },
    });
    expect(signup.status).toBe(200);
    const second = await h.call("POST", "/v1/users", {
      bearer: signup.body.token,
      body: { type: "user", email: "Alice@Example.com" },
    });
    expect(second.status).toBe(201);
    const taken = await h.call("POST", "/v1/auth/set-password", {
      key: null,
      body: { token: tokenOf(second.body.set_password_url), password: PASSWORD },
    });
    expect(taken.status).toBe(409);
    expect(errorOf(taken).message).toBe("This email already signs in to another account");
    const [row] = (await h.context.db.all("SELECT password_hash FROM users WHERE id = ?", second.body.id)) as any[];
    expect(row.password_hash).toBeNull();
  });
});

describe("the first person: a one-time setup link", () => {
  async function setupLink(h: SignInHarness) {
    const link = await issueSetupLink(h.context.db, { baseUrl: "http://127.0.0.1:8080", now: h.clock.t });
    if (!link) throw new Error("no setup link");
    return link;
  }

  test("POST /v1/auth/setup sets the email and password of the default tenant's first account", async () => {
    const h = await signInHarness();
    const link = await setupLink(h);
    expect(link.url).toMatch(/^http:\/\/127\.0\.0\.1:8080\/dashboard\/setup\?token=tgp_[0-9a-f]{64}$/);
    expect(Date.parse(link.expiresAt) - h.clock.t).toBe(3600 * 1000);
    const res = await h.call("POST", "/v1/auth/setup", {
      key: null,
      body: { token: tokenOf(link.url), email: "owner@example.com", password: PASSWORD, name: "Owner" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ user_id: DEFAULT_TENANT, tenant_id: DEFAULT_TENANT });
    const me = await h.call("GET", "/v1/users/me", { bearer: res.body.token });
    expect(me.body).toMatchObject({ id: DEFAULT_TENANT, email: "owner@example.com", name: "Owner" });
    expect((await login(h, "owner@example.com", PASSWORD)).status).toBe(200);
    expect(await actions(h)).toEqual(["user.password_set", "user.signed_in", "user.signed_in"]);
    const [row] = (await h.context.db.all(
      "SELECT changes FROM audit_logs WHERE action = 'user.password_set'",
    )) as any[];
    expect(JSON.parse(row.changes)).toMatchObject({
      before: { email: null, name: "Default User" },
      after: { email: "owner@example.com", name: "Owner" },
    });

    // One use; and once anyone has a password, no new link is made.
    const again = await h.call("POST", "/v1/auth/setup", {
      key: null,
      body: { token: tokenOf(link.url), email: "x@example.com", password: PASSWORD },
    });
    expect(again.status).toBe(401);
    expect(errorOf(again).message).toBe("Invalid or expired setup link");
    expect(await issueSetupLink(h.context.db, { baseUrl: "http://x", now: h.clock.t })).toBeNull();
  });

  test("valid for one hour; each start's link works until one is used; bad input changes nothing", async () => {
    const h = await signInHarness();
    // Two starts (two instances on one PostgreSQL database, or a restart): two live links.
    const other = await setupLink(h);
    const link = await setupLink(h);
    const setup = (token: string, body: Record<string, unknown> = {}) =>
      h.call("POST", "/v1/auth/setup", {
        key: null,
        body: { token, email: "owner@example.com", password: PASSWORD, ...body },
      });
    expect((await setup(tokenOf(link.url), { email: "not an email" })).status).toBe(400);
    expect((await setup(tokenOf(link.url), { password: "short" })).status).toBe(400);
    expect((await setup(tokenOf(other.url), { password: "short" })).status).toBe(400);
    expect(await h.context.db.value("SELECT email FROM users WHERE id = ?", DEFAULT_TENANT)).toBeNull();
    // Used, one link ends them all: someone can sign in now.
    expect((await setup(tokenOf(other.url))).status).toBe(200);
    const late = await setup(tokenOf(link.url), { email: "late@example.com" });
    expect(late.status).toBe(401);
    expect(errorOf(late).message).toBe("Invalid or expired setup link");
  });

  test("an expired setup link is refused and removed when the next is issued", async () => {
    const h = await signInHarness();
    const setup = (token: string) =>
      h.call("POST", "/v1/auth/setup", {
        key: null,
        body: { token, email: "owner@example.com", password: PASSWORD },
      });

    const expired = await setupLink(h);
    await h.context.db.run(
      "UPDATE password_tokens SET expires_at = ? WHERE token_hash = ?",
      new Date(Math.min(Date.now(), h.clock.t) - 1).toISOString(),
      sha256Hex(tokenOf(expired.url)),
    );
    expect((await setup(tokenOf(expired.url))).status).toBe(401);
    const fresh = await setupLink(h);
    expect(await h.context.db.value("SELECT count(*) FROM password_tokens WHERE purpose = 'setup'")).toBe(1);
    expect((await setup(tokenOf(fresh.url))).status).toBe(200);
  });

  test("the setup service reads the link for the page that shows it", async () => {
    const { verifySetupToken } = await import("../src/modules/sign-in/setup");
    const h = await signInHarness();
    const link = await setupLink(h);
    expect(await verifySetupToken(h.context.db, tokenOf(link.url))).toEqual({
      user_id: DEFAULT_TENANT,
      tenant_id: DEFAULT_TENANT,
      name: "Default User",
      email: null,
      expires_at: link.expiresAt,
    });
    await expect(verifySetupToken(h.context.db, "tgp_nope")).rejects.toThrow("Invalid or expired setup link");
  });
});

describe("sign-up", () => {
  test("off by default: 403 Sign-up is disabled, and nothing is created", async () => {
    const h = await signInHarness();
    const tenants = await h.context.db.value("SELECT count(*) FROM tenants");
    const res = await h.call("POST", "/v1/auth/signup", {
      key: null,
      body: { email: "new@example.com", password: PASSWORD, tenant_name: "New Co" },
    });
    expect(res.status).toBe(403);
    expect(errorOf(res)).toEqual({ message: "Sign-up is disabled", internal_error: "permission_denied" });
    expect(await h.context.db.value("SELECT count(*) FROM tenants")).toBe(tenants);
  });

  test("when on: a tenant with its two environments and a user account, answered like login", async () => {
    const h = await signInHarness({ auth: { signup: { enabled: true } } });
    const res = await h.call("POST", "/v1/auth/signup", {
      key: null,
      body: { email: "new@example.com", password: PASSWORD, tenant_name: "New Co" },
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["expires_at", "tenant_id", "token", "user_id"]);
    expect(res.body.tenant_id).toMatch(/^tenant_/);
    const me = await h.call("GET", "/v1/users/me", { bearer: res.body.token });
    expect(me.body).toMatchObject({ id: res.body.user_id, type: "user", email: "new@example.com" });
    expect(me.body.tenant).toMatchObject({ id: res.body.tenant_id, name: "New Co" });
    const environments = await h.call("GET", "/v1/environments", { bearer: res.body.token });
    expect(environments.body.items.map((e: any) => [e.name, e.type])).toEqual([
      ["Development", "development"],
      ["Production", "production"],
    ]);
    // The new tenant sees nothing of the default one.
    expect(environments.text).not.toContain(DEFAULT_TENANT);
    expect((await login(h, "new@example.com", PASSWORD)).body.tenant_id).toBe(res.body.tenant_id);

    const again = await h.call("POST", "/v1/auth/signup", {
      key: null,
      body: { email: "NEW@example.com", password: PASSWORD, tenant_name: "Again" },
    });
    expect(again.status).toBe(409);
    const short = await h.call("POST", "/v1/auth/signup", {
      key: null,
      body: { email: "other@example.com", password: "short", tenant_name: "X" },
    });
    expect(short.status).toBe(400);
  });

  test("each attempt counts against its address's sign-in limit, whatever its outcome: each costs a hash", async () => {
    const h = await signInHarness({ auth: { signup: { enabled: true }, sign_in: { max_failures_per_address: 3 } } });
    const signup = (email: string, from: string) =>
      h.call("POST", "/v1/auth/signup", { key: null, from, body: { email, password: PASSWORD } });
    expect((await signup("one@example.com", "192.0.2.20")).status).toBe(200);
    expect((await signup("ONE@example.com", "192.0.2.20")).status).toBe(409);
    expect((await signup("two@example.com", "192.0.2.20")).status).toBe(200);
    const tenants = await h.context.db.value("SELECT count(*) FROM tenants");
    const refused = await signup("three@example.com", "192.0.2.20");
    expect(refused.status).toBe(429);
    expect(errorOf(refused).message).toBe("Too many sign-in attempts; try again later");
    expect(refused.headers.get("retry-after")).toBe(String(15 * 60));
    expect(await h.context.db.value("SELECT count(*) FROM tenants")).toBe(tenants);
    // The same count as sign-in's limit for one address alone; other addresses are not touched.
    expect((await login(h, "one@example.com", PASSWORD, "192.0.2.20")).status).toBe(429);
    expect((await signup("three@example.com", "192.0.2.21")).status).toBe(200);
    expect((await login(h, "one@example.com", PASSWORD, "192.0.2.21")).status).toBe(200);
  });

  test("an email another tenant's user took first is released by archiving that account", async () => {
    const h = await signInHarness({ auth: { signup: { enabled: true } } });
    // Tenant B signs up; a user of the default tenant invites B's CEO's email and uses the link itself.
    const b = await h.call("POST", "/v1/auth/signup", {
      key: null,
      body: { email: "admin@b.example", password: PASSWORD, tenant_name: "B" },
    });
    const squat = await invite(h, "ceo@b.example");
    const squatted = await h.call("POST", "/v1/auth/set-password", {
      key: null,
      body: { token: tokenOf(squat.set_password_url), password: "the squatter's password" },
    });
    expect(squatted.status).toBe(200);
    const real = await h.call("POST", "/v1/users", {
      bearer: b.body.token,
      body: { type: "user", email: "ceo@b.example" },
    });
    const link = { token: tokenOf(real.body.set_password_url), password: "the real ceo's password" };
    const refused = await h.call("POST", "/v1/auth/set-password", { key: null, body: link });
    expect(refused.status).toBe(409);
    expect(errorOf(refused).message).toBe("This email already signs in to another account");
    // An operator of the default tenant archives the squatting account: the email is free again.
    expect((await h.call("DELETE", `/v1/users/${squat.id}`)).status).toBe(204);
    const released = await h.call("POST", "/v1/auth/set-password", { key: null, body: link });
    expect(released.status).toBe(200);
    expect(released.body.tenant_id).toBe(b.body.tenant_id);
    const signedIn = await login(h, "ceo@b.example", "the real ceo's password");
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user_id).toBe(real.body.id);
    expect((await login(h, "ceo@b.example", "the squatter's password")).status).toBe(401);
  });
});

describe("a password's length is counted in characters, not UTF-16 units", () => {
  const FOUR = "😀😀😀😀"; // 4 characters, 8 UTF-16 units
  const RULE = { password: "must be 8 to 256 characters" };

  test("the 8 to 256 rule everywhere a password is chosen: 4 emoji are too short, 256 are not too long", async () => {
    const h = await signInHarness({ auth: { signup: { enabled: true } } });
    const signup = (password: string, email = "e@example.com") =>
      h.call("POST", "/v1/auth/signup", { key: null, body: { email, password } });
    const short = await signup(FOUR);
    expect(short.status).toBe(400);
    expect(errorOf(short).details).toEqual(RULE);
    expect((await signup("😀".repeat(8))).status).toBe(200);
    expect((await signup("😀".repeat(257), "f@example.com")).status).toBe(400);

    const invited = await h.call("POST", "/v1/users", { body: { type: "user", email: "long@example.com" } });
    const link = tokenOf(invited.body.set_password_url);
    const set = (password: string) =>
      h.call("POST", "/v1/auth/set-password", { key: null, body: { token: link, password } });
    expect(errorOf(await set(FOUR)).details).toEqual(RULE);
    const longest = "😀".repeat(256);
    expect((await set(longest)).status).toBe(200);
    // And it signs in, and proves itself as the current password.
    const session = await login(h, "long@example.com", longest);
    expect(session.status).toBe(200);
    const change = (current_password: string, new_password: string) =>
      h.call("POST", "/v1/auth/password", { bearer: session.body.token, body: { current_password, new_password } });
    const tooShort = await change(longest, FOUR);
    expect(tooShort.status).toBe(400);
    expect(errorOf(tooShort).details).toEqual({ new_password: "must be 8 to 256 characters" });
    expect((await change(longest, "😀".repeat(9))).status).toBe(204);
    // 257 characters are more than any password has: a 400, not a check.
    expect((await login(h, "long@example.com", "😀".repeat(257))).status).toBe(400);
  });

  test("the first person's setup refuses 4 emoji too", async () => {
    const h = await signInHarness();
    const link = await issueSetupLink(h.context.db, { baseUrl: "http://x" });
    const res = await h.call("POST", "/v1/auth/setup", {
      key: null,
      body: { token: tokenOf(link?.url as string), email: "o@example.com", password: FOUR },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res).details).toEqual(RULE);
  });

  test("isValidPassword, as the CLI uses it", () => {
    expect(isValidPassword(FOUR)).toBe(false);
    expect(isValidPassword("😀".repeat(8))).toBe(true);
    expect(isValidPassword("😀".repeat(256))).toBe(true);
    expect(isValidPassword("😀".repeat(257))).toBe(false);
    expect(isValidPassword("a".repeat(7))).toBe(false);
  });
});

describe("tollgate users create: its refusals come from the sign-in outcome table", () => {
  async function refusal(call: () => unknown): Promise<ApiError> {
    try {
      await call();
    } catch (error) {
      if (error instanceof ApiError) return error;
      throw error;
    }
    throw new Error("not refused");
  }
  const hash = () =>
    Bun.password.hash("correct horse battery", { algorithm: "argon2id", memoryCost: 1024, timeCost: 1 });

  test("an email that already has a password, an archived account, an email signing in to another tenant", async () => {
    const h = await signInHarness();
    const db = h.context.db;
    const ops = await createOperatorPerson(db, {
      tenantId: DEFAULT_TENANT,
      email: "ops@example.com",
      passwordHash: await hash(),
    });
    const cases: [ApiError, SignInOutcome, Record<string, unknown>][] = [
      [
        await refusal(async () =>
          createOperatorPerson(db, { tenantId: DEFAULT_TENANT, email: "OPS@example.com", passwordHash: await hash() }),
        ),
        SignInOutcome.AccountHasPassword,
        { user_id: ops.account.id, email: "ops@example.com" },
      ],
      [
        await refusal(async () =>
          createOperatorPerson(db, { tenantId: "tenant-b", email: "ops@example.com", passwordHash: await hash() }),
        ),
        SignInOutcome.EmailSignsInElsewhere,
        { email: "ops@example.com" },
      ],
    ];
    const invited = await invite(h, "gone@example.com");
    expect((await h.call("DELETE", `/v1/users/${invited.id}`)).status).toBe(204);
    cases.push([
      await refusal(async () =>
        createOperatorPerson(db, { tenantId: DEFAULT_TENANT, email: "gone@example.com", passwordHash: await hash() }),
      ),
      SignInOutcome.AccountArchived,
      { user_id: invited.id, email: "gone@example.com" },
    ]);
    for (const [error, outcome, details] of cases) {
      const { status, code, message } = SIGN_IN_RESPONSES[outcome];
      expect([error.reason, error.status, error.code, error.message, error.details]).toEqual([
        outcome,
        status,
        code,
        message,
        details,
      ]);
    }
  });
});

describe("config", () => {
  test("auth.session.ttl_seconds (7 days), auth.signup.enabled (false) and auth.sign_in.max_failures_per_address (100), overridable by TOLLGATE_*", () => {
    const defaults = loadConfig({ cwd: tempDir("config-"), env: {} });
    expect(defaults.auth.session).toEqual({ ttl_seconds: 7 * 24 * 3600 });
    expect(defaults.auth.signup).toEqual({ enabled: false });
    expect(defaults.auth.sign_in).toEqual({ max_failures_per_address: 100 });
    const set = loadConfig({
      cwd: tempDir("config-"),
      env: {
        TOLLGATE_AUTH_SESSION_TTL_SECONDS: "3600",
        TOLLGATE_AUTH_SIGNUP_ENABLED: "true",
        TOLLGATE_AUTH_SIGN_IN_MAX_FAILURES_PER_ADDRESS: "1000",
      },
    });
    expect(set.auth.sign_in.max_failures_per_address).toBe(1000);
    expect(set.auth.session.ttl_seconds).toBe(3600);
    expect(set.auth.signup.enabled).toBe(true);
    expect(() => loadConfig({ cwd: tempDir("config-"), env: { TOLLGATE_AUTH_SESSION_TTL_SECONDS: "5" } })).toThrow(
      "auth.session.ttl_seconds",
    );
  });

  test("server.public_url: empty by default, TOLLGATE_SERVER_PUBLIC_URL, an absolute http(s) origin without a path", () => {
    const load = (value: string) =>
      loadConfig({ cwd: tempDir("config-"), env: { TOLLGATE_SERVER_PUBLIC_URL: value } }).server.public_url;
    expect(loadConfig({ cwd: tempDir("config-"), env: {} }).server.public_url).toBe("");
    expect(load("https://tollgate.example.com")).toBe("https://tollgate.example.com");
    expect(load("https://Tollgate.Example.com:443/")).toBe("https://tollgate.example.com");
    expect(load("http://10.0.0.5:8080")).toBe("http://10.0.0.5:8080");
    for (const bad of [
      "tollgate.example.com",
      "ftp://tollgate.example.com",
      "https://tollgate.example.com/tollgate",
      "https://tollgate.example.com/?x=1",
      "https://tollgate.example.com/#top",
      "https://user:pass@tollgate.example.com",
    ]) {
      expect(() => load(bad)).toThrow("Invalid config: server.public_url:");
    }
  });

  test("a shorter session lifetime is what login hands out", async () => {
    const h = await signInHarness({ auth: { session: { ttl_seconds: 600 }, signup: { enabled: true } } });
    const before = Date.now();
    const res = await h.call("POST", "/v1/auth/signup", {
      key: null,
      body: { email: "new@example.com", password: PASSWORD, tenant_name: "New Co" },
    });
    const lifetime = Date.parse(res.body.expires_at) - before;
    expect(lifetime).toBeGreaterThanOrEqual(599_000);
    expect(lifetime).toBeLessThanOrEqual(605_000);
  });
});
