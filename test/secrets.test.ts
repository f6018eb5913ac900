// SPEC §3: API keys — creation, the privilege rule, listing, reading, revocation, rotation,
// expiry and last_used_at, all through the HTTP API.
import { describe, expect, setSystemTime, spyOn, test } from "bun:test";
import { sha256Hex } from "../src/modules/auth/hash";
import { LastUsedRecorder } from "../src/modules/secrets/last-used";
import * as secrets from "../src/modules/secrets/store";
import {
  type CallResult,
  createHarness,
  createTwoTenantHarness,
  DEFAULT_TENANT,
  errorOf,
  type Harness,
  OTHER_TENANT_KEY,
  OWN_EVICTIONS_ONLY,
} from "./support/harness";
import { environmentOf, issueTestKey } from "./support/keys";

const KEYS = "/v1/secrets/api/keys";
const ME = "/v1/users/me";

const SECRET_RESPONSE_FIELDS = [
  "created_at",
  "credits",
  "description",
  "display_id",
  "environment_id",
  "expires_at",
  "id",
  "last_used_at",
  "name",
  "provider",
  "ratelimits",
  "roles",
  "service_account_name",
  "status",
  "type",
  "updated_at",
  "user_id",
  "user_type",
];

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** POST /v1/users for a service account; asserts the 201. */
async function serviceAccount(h: Harness, roles: string[], name = "worker", key?: string) {
  const res = await h.call("POST", "/v1/users", { key, body: { type: "service_account", name, roles } });
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string; roles: string[] };
}

/** POST /v1/secrets/api/keys; asserts the 201. */
async function newKey(
  h: Harness,
  body: Record<string, unknown> = { name: "k" },
  options: { key?: string; headers?: Record<string, string> } = {},
) {
  const res = await h.call("POST", KEYS, { ...options, body });
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${res.text}`);
  return res.body as {
    api_key: string;
    secret: Record<string, any>;
    id: string;
    name: string;
    roles: string[];
    created_at: string;
  };
}

/** A service account with these roles and a key of its own, both made with the dev key. */
async function accountWithKey(h: Harness, roles: string[], name = "worker") {
  const account = await serviceAccount(h, roles, name);
  const created = await newKey(h, { name: `${name} key`, service_account_id: account.id });
  return { account, apiKey: created.api_key, secretId: created.id };
}

async function secretRow(h: Harness, id: string) {
  return (await h.context.db.get("SELECT * FROM secrets WHERE id = ?", id)) as Record<string, any>;
}

async function secretsSnapshot(h: Harness) {
  return await h.context.db.all("SELECT id, status, expires_at, roles, updated_at FROM secrets ORDER BY id");
}

function expectError(res: CallResult, status: number, message: string, internal: string) {
  expect(res.status).toBe(status);
  const error = errorOf(res);
  expect(error.message).toBe(message);
  expect(error.internal_error).toBe(internal);
  return error;
}

describe("POST /v1/secrets/api/keys", () => {
  test("201 with both documented shapes; the key is well formed and works", async () => {
    const h = await createHarness();
    const before = Date.now();
    const created = await newKey(h, { name: "Event Service Key", description: "for the event service" });
    const dev = await environmentOf(h, "development");

    expect(Object.keys(created).sort()).toEqual(["api_key", "created_at", "id", "name", "roles", "secret"]);
    expect(created.api_key).toMatch(/^sk_test_[0-9a-f]{64}$/);
    const { secret } = created;
    expect(Object.keys(secret).sort()).toEqual(SECRET_RESPONSE_FIELDS);
    expect(secret).toMatchObject({
      name: "Event Service Key",
      description: "for the event service",
      type: "private_key",
      provider: "flexprice",
      roles: ["super_admin"],
      user_type: "user",
      user_id: DEFAULT_TENANT,
      service_account_name: null,
      environment_id: dev.id,
      expires_at: null,
      last_used_at: null,
      status: "published",
    });
    expect(secret.id).toMatch(/^sec_[0-9A-Z]{26}$/);
    expect(secret.display_id).toBe(`${created.api_key.slice(0, 12)}***${created.api_key.slice(-4)}`);
    expect(secret.created_at).toMatch(ISO);
    expect(Date.parse(secret.created_at)).toBeGreaterThanOrEqual(before - 1);
    expect(secret.updated_at).toBe(secret.created_at);
    expect({ id: created.id, name: created.name, roles: created.roles, created_at: created.created_at }).toEqual({
      id: secret.id,
      name: secret.name,
      roles: secret.roles,
      created_at: secret.created_at,
    });

    const me = await h.call("GET", ME, { key: created.api_key });
    expect(me.status).toBe(200);
    expect(me.body.credential).toMatchObject({ kind: "api_key", id: secret.id, roles: ["super_admin"] });
  });

  test("a key made in a production environment is a live key pinned there", async () => {
    const h = await createHarness();
    const prod = await environmentOf(h, "production");
    const created = await newKey(h, { name: "prod" }, { headers: { "X-Environment-ID": prod.id } });
    expect(created.api_key).toMatch(/^sk_live_[0-9a-f]{64}$/);
    expect(created.secret.environment_id).toBe(prod.id);
    expect((await h.call("GET", ME, { key: created.api_key })).body.environment_id).toBe(prod.id);
  });

  test("the key and its SHA-256 never appear again: not in GET, list or the audit log", async () => {
    const h = await createHarness();
    const created = await newKey(h, { name: "hidden" });
    const hash = sha256Hex(created.api_key);
    expect(JSON.stringify(created.secret)).not.toContain(created.api_key);
    expect(JSON.stringify(created)).not.toContain(hash);

    const texts = [
      (await h.call("GET", `${KEYS}/${created.id}`)).text,
      (await h.call("GET", KEYS)).text,
      (await h.call("GET", `${KEYS}?status=published&type=private_key`)).text,
      (await h.call("GET", "/v1/audit-logs")).text,
      JSON.stringify(await h.context.db.all("SELECT * FROM audit_logs")),
    ];
    // Delete it too, so the deleted shapes are scanned as well.
    expect((await h.call("DELETE", `${KEYS}/${created.id}`)).status).toBe(204);
    texts.push(
      (await h.call("GET", `${KEYS}/${created.id}`)).text,
      (await h.call("GET", `${KEYS}?status=deleted`)).text,
      (await h.call("GET", "/v1/audit-logs")).text,
      JSON.stringify(await h.context.db.all("SELECT * FROM audit_logs")),
    );
    for (const text of texts) {
      expect(text).toContain(created.id);
      expect(text).not.toContain(created.api_key);
      expect(text).not.toContain(created.api_key.slice(12, -4));
      expect(text).not.toContain(hash);
      expect(text).not.toContain("key_hash");
    }
  });

  test("name: required, 1–255 characters after trimming", async () => {
    const h = await createHarness();
    const before = await secretsSnapshot(h);
    for (const body of [
      {},
      { name: "" },
      { name: "   " },
      { name: "\t\n" },
      { name: "a".repeat(256) },
      { name: 42 },
      { name: null },
    ]) {
      const res = await h.call("POST", KEYS, { body });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(errorOf(res).internal_error).toBe("validation_error");
      expect(Object.keys(errorOf(res).details ?? {})).toContain("name");
    }
    expect(await secretsSnapshot(h)).toEqual(before);

    expect((await newKey(h, { name: "a".repeat(255) })).secret.name).toBe("a".repeat(255));
    expect((await newKey(h, { name: "  padded  " })).secret.name).toBe("padded");
  });

  test("name: 255 characters plus surrounding spaces is accepted and trimmed", async () => {
    const h = await createHarness();
    const res = await h.call("POST", KEYS, { body: { name: `  ${"b".repeat(255)}  ` } });
    expect(res.status).toBe(201);
    expect(res.body.secret.name).toBe("b".repeat(255));
  });

  test("type: private_key by default, publishable_key allowed, integration and others refused", async () => {
    const h = await createHarness();
    expect((await newKey(h, { name: "default" })).secret.type).toBe("private_key");
    expect((await newKey(h, { name: "private", type: "private_key" })).api_key).toMatch(/^sk_test_/);

    const publishable = await newKey(h, { name: "browser", type: "publishable_key" });
    expect(publishable.api_key).toMatch(/^pk_test_[0-9a-f]{64}$/);
    expect(publishable.secret.type).toBe("publishable_key");
    expect(publishable.secret.display_id).toBe(
      `${publishable.api_key.slice(0, 12)}***${publishable.api_key.slice(-4)}`,
    );
    // It works, narrowly.
    expect((await h.call("GET", ME, { key: publishable.api_key })).status).toBe(200);
    expectError(
      await h.call("GET", KEYS, { key: publishable.api_key }),
      403,
      "Publishable keys cannot access this resource",
      "permission_denied",
    );

    const before = await secretsSnapshot(h);
    for (const type of ["integration", "secret_key", "", null, 1]) {
      const res = await h.call("POST", KEYS, { body: { name: "x", type } });
      expect({ type, status: res.status }).toEqual({ type, status: 400 });
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
    expect(await secretsSnapshot(h)).toEqual(before);
  });

  test("expires_at: absent means never; past or invalid is 400; any RFC 3339 offset is stored in UTC", async () => {
    const h = await createHarness();
    expect((await newKey(h, { name: "forever" })).secret.expires_at).toBeNull();
    expect((await newKey(h, { name: "forever too", expires_at: null })).secret.expires_at).toBeNull();

    const before = await secretsSnapshot(h);
    const past = new Date(Date.now() - 60_000).toISOString();
    for (const expires_at of [past, "2001-01-01T00:00:00Z", "not-a-date", "2030-13-01T00:00:00Z", 1893456000, ""]) {
      const res = await h.call("POST", KEYS, { body: { name: "x", expires_at } });
      expect({ expires_at, status: res.status }).toEqual({ expires_at, status: 400 });
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
    expect(await secretsSnapshot(h)).toEqual(before);

    const offset = await newKey(h, { name: "offset", expires_at: "2099-06-01T12:00:00+02:00" });
    expect(offset.secret.expires_at).toBe("2099-06-01T10:00:00.000Z");
    expect((await h.call("GET", ME, { key: offset.api_key })).body.credential.expires_at).toBe(
      "2099-06-01T10:00:00.000Z",
    );
  });

  test("expires_at: an impossible calendar date is 400, not silently moved to another day", async () => {
    const h = await createHarness();
    const before = await secretsSnapshot(h);
    for (const expires_at of ["2030-02-30T00:00:00Z", "2030-04-31T12:00:00Z", "2031-02-29T00:00:00Z"]) {
      const res = await h.call("POST", KEYS, { body: { name: "x", expires_at } });
      expect({ expires_at, status: res.status, stored: res.body?.secret?.expires_at }).toEqual({
        expires_at,
        status: 400,
        stored: undefined,
      });
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
    expect(await secretsSnapshot(h)).toEqual(before);
  });

  test("expires_at: dates without a time or an offset are not RFC 3339 timestamps: 400", async () => {
    const h = await createHarness();
    const before = await secretsSnapshot(h);
    for (const expires_at of ["2030-01-01", "2030/01/01", "01-02-2030", "2030-01-01 10:00 PM"]) {
      const res = await h.call("POST", KEYS, { body: { name: "x", expires_at } });
      expect({ expires_at, status: res.status }).toEqual({ expires_at, status: 400 });
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
    expect(await secretsSnapshot(h)).toEqual(before);
  });

  test("unknown fields: 400, and nothing is created", async () => {
    const h = await createHarness();
    const before = await secretsSnapshot(h);
    for (const body of [
      { name: "x", roles: ["super_admin"] },
      { name: "x", permissions: ["*"] },
      { name: "x", user_id: DEFAULT_TENANT },
    ]) {
      const res = await h.call("POST", KEYS, { body });
      expect(res.status).toBe(400);
      const error = errorOf(res);
      expect(error.internal_error).toBe("validation_error");
      const field = Object.keys(body).find((k) => k !== "name") as string;
      expect(error.details?.[field]).toBe("is not an accepted field");
    }
    expect(await secretsSnapshot(h)).toEqual(before);
  });

  test("without service_account_id a user account's key has full access: roles super_admin, user_type user", async () => {
    const h = await createHarness();
    const { api_key, secret } = await newKey(h, { name: "mine" });
    expect(secret.roles).toEqual(["super_admin"]);
    expect(secret.user_type).toBe("user");
    expect(secret.user_id).toBe(DEFAULT_TENANT);
    // It really holds full access: it can mint keys and create accounts.
    expect((await h.call("POST", KEYS, { key: api_key, body: { name: "child" } })).status).toBe(201);
    expect(
      (await h.call("POST", "/v1/users", { key: api_key, body: { type: "service_account", roles: ["super_admin"] } }))
        .status,
    ).toBe(201);
  });

  test("with service_account_id the key copies the account's roles and is owned by it", async () => {
    const h = await createHarness();
    const account = await serviceAccount(h, ["event_ingestor", "event_reader"], "Event Worker");
    const created = await newKey(h, { name: "worker key", service_account_id: account.id });
    expect(created.roles).toEqual(["event_ingestor", "event_reader"]);
    expect(created.secret).toMatchObject({
      roles: ["event_ingestor", "event_reader"],
      user_type: "service_account",
      user_id: account.id,
      service_account_name: "Event Worker",
    });
    const me = await h.call("GET", ME, { key: created.api_key });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(account.id);
    expect(me.body.type).toBe("service_account");
    expect(me.body.credential).toMatchObject({
      kind: "api_key",
      id: created.id,
      roles: ["event_ingestor", "event_reader"],
    });
  });

  test("service_account_id that is unknown, archived, another tenant's, or a user account: 404 Service account not found", async () => {
    const otherKey = OTHER_TENANT_KEY;
    const h = await createTwoTenantHarness();
    const archived = await serviceAccount(h, ["event_reader"], "gone");
    expect((await h.call("DELETE", `/v1/users/${archived.id}`)).status).toBe(204);
    const foreign = await serviceAccount(h, ["event_reader"], "theirs", otherKey);
    const invitee = await h.call("POST", "/v1/users", { body: { type: "user", email: "someone@example.com" } });
    expect(invitee.status).toBe(201);

    const before = await secretsSnapshot(h);
    for (const id of ["usr_01J00000000000000000000000", archived.id, foreign.id, DEFAULT_TENANT, invitee.body.id]) {
      const res = await h.call("POST", KEYS, { body: { name: "x", service_account_id: id } });
      expect({ id, status: res.status }).toEqual({ id, status: 404 });
      expect(errorOf(res)).toEqual({ message: "Service account not found", internal_error: "not_found" });
    }
    expect(await secretsSnapshot(h)).toEqual(before);
  });

  test("a service account without super_admin cannot create keys at all: 403 Insufficient permissions", async () => {
    const h = await createHarness();
    const ingestor = await accountWithKey(h, ["event_ingestor"], "ingestor");
    const reader = await accountWithKey(h, ["event_reader", "event_ingestor"], "reader");
    const before = await secretsSnapshot(h);
    for (const { account, apiKey } of [ingestor, reader]) {
      for (const body of [
        { name: "self" },
        { name: "other", service_account_id: account.id },
        { name: "pk", type: "publishable_key" },
      ]) {
        const res = await h.call("POST", KEYS, { key: apiKey, body });
        const error = expectError(res, 403, "Insufficient permissions", "permission_denied");
        expect(error.details).toEqual({ required: "secret:write", roles: account.roles });
      }
    }
    expect(await secretsSnapshot(h)).toEqual(before);
  });

  test("a super_admin service account can create keys for itself and for other service accounts", async () => {
    const h = await createHarness();
    const admin = await accountWithKey(h, ["super_admin"], "Automation");
    const worker = await serviceAccount(h, ["event_reader"], "Reader");

    const own = await newKey(h, { name: "own" }, { key: admin.apiKey });
    expect(own.secret).toMatchObject({
      roles: ["super_admin"],
      user_type: "service_account",
      user_id: admin.account.id,
      service_account_name: "Automation",
    });
    const forWorker = await newKey(h, { name: "for reader", service_account_id: worker.id }, { key: admin.apiKey });
    expect(forWorker.secret).toMatchObject({
      roles: ["event_reader"],
      user_type: "service_account",
      user_id: worker.id,
      service_account_name: "Reader",
    });
    expect((await h.call("GET", ME, { key: forWorker.api_key })).body.credential.roles).toEqual(["event_reader"]);
  });
});

describe("the privilege rule: no key holds more than its minter", () => {
  test("a narrow service account's key can do nothing beyond its roles, and changes nothing trying", async () => {
    const h = await createHarness();
    const { account, apiKey, secretId } = await accountWithKey(h, ["event_ingestor"], "ingestor");
    const secretsBefore = await secretsSnapshot(h);
    const users = async () => await h.context.db.all("SELECT id, roles, status FROM users ORDER BY id");
    const usersBefore = await users();
    const attempts: [string, string, unknown?][] = [
      ["POST", KEYS, { name: "escalate" }],
      ["POST", KEYS, { name: "escalate", service_account_id: account.id }],
      ["GET", KEYS],
      ["GET", `${KEYS}/${secretId}`],
      ["DELETE", `${KEYS}/${secretId}`],
      ["POST", `${KEYS}/${secretId}/rotate`, { grace_period_seconds: 0 }],
      ["POST", "/v1/users", { type: "service_account", name: "root", roles: ["super_admin"] }],
      ["PUT", `/v1/users/${account.id}`, { name: "renamed" }],
      ["GET", "/v1/audit-logs"],
      ["POST", "/v1/environments", { name: "Mine", type: "production" }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await h.call(method, path, { key: apiKey, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
      expect(errorOf(res).message).toBe("Insufficient permissions");
      expect(errorOf(res).details?.roles).toEqual(["event_ingestor"]);
    }
    expect(await secretsSnapshot(h)).toEqual(secretsBefore);
    expect(await users()).toEqual(usersBefore);
    // What it does hold, it holds.
    expect((await h.call("GET", ME, { key: apiKey })).body.credential.roles).toEqual(["event_ingestor"]);
  });

  test("each service account's key can do exactly what its roles grant", async () => {
    const h = await createHarness();
    const cases: [string[], { ingest: number; read: number; keys: number }][] = [
      [["event_ingestor"], { ingest: 202, read: 403, keys: 403 }],
      [["event_reader"], { ingest: 403, read: 200, keys: 403 }],
      [["event_ingestor", "event_reader"], { ingest: 202, read: 200, keys: 403 }],
      [["super_admin"], { ingest: 202, read: 200, keys: 200 }],
    ];
    for (const [roles, expected] of cases) {
      const { apiKey } = await accountWithKey(h, roles, roles.join("+"));
      const ingest = await h.call("POST", "/v1/events", {
        key: apiKey,
        body: { event_name: "api_call", external_customer_id: "c1" },
      });
      const read = await h.call("GET", "/v1/events", { key: apiKey });
      const keys = await h.call("GET", KEYS, { key: apiKey });
      expect({ roles, ingest: ingest.status, read: read.status, keys: keys.status }).toEqual({ roles, ...expected });
      for (const res of [ingest, read, keys].filter((r) => r.status === 403)) {
        expect(errorOf(res).message).toBe("Insufficient permissions");
        expect(errorOf(res).details?.roles).toEqual(roles);
      }
    }
  });

  test("a user account's key that was issued with narrow roles cannot mint a full-access key", async () => {
    const h = await createHarness();
    const narrow = await issueTestKey(h, { roles: ["event_reader"] });
    const account = await serviceAccount(h, ["event_reader"], "reader");
    const before = await secretsSnapshot(h);
    for (const body of [{ name: "full" }, { name: "for sa", service_account_id: account.id }]) {
      const res = await h.call("POST", KEYS, { key: narrow.apiKey, body });
      expectError(res, 403, "Insufficient permissions", "permission_denied");
      expect(errorOf(res).details?.required).toBe("secret:write");
    }
    expect(await secretsSnapshot(h)).toEqual(before);
  });

  test("keys minted by a super_admin service account hold exactly the target's roles, never the minter's", async () => {
    const h = await createHarness();
    const admin = await accountWithKey(h, ["super_admin"], "admin");
    const ingestor = await serviceAccount(h, ["event_ingestor"], "ingestor", admin.apiKey);
    const minted = await newKey(h, { name: "ingest", service_account_id: ingestor.id }, { key: admin.apiKey });
    expect(minted.roles).toEqual(["event_ingestor"]);
    for (const [method, path] of [
      ["GET", KEYS],
      ["GET", "/v1/audit-logs"],
      ["GET", "/v1/environments"],
    ] as const) {
      const res = await h.call(method, path, { key: minted.api_key });
      expect(res.status).toBe(403);
      expect(errorOf(res).details).toEqual({ required: expect.any(String), roles: ["event_ingestor"] });
    }
  });

  test("roles copied at creation never change afterwards", async () => {
    const h = await createHarness();
    const { account, apiKey, secretId } = await accountWithKey(h, ["event_reader"], "reader");

    // The API refuses to change an account's roles...
    const put = await h.call("PUT", `/v1/users/${account.id}`, { body: { roles: ["super_admin"] } });
    expectError(put, 400, "Roles and type are immutable; create a new service account instead", "validation_error");

    // ...and even if the account's row changed underneath, the key keeps the roles it was minted with.
    await h.context.db.run("UPDATE users SET roles = '[\"super_admin\"]' WHERE id = ?", account.id);
    h.context.keyCache.invalidate([sha256Hex(apiKey)]);
    expect((await h.call("GET", `${KEYS}/${secretId}`)).body.roles).toEqual(["event_reader"]);
    expect((await h.call("GET", ME, { key: apiKey })).body.credential.roles).toEqual(["event_reader"]);
    const list = await h.call("GET", KEYS, { key: apiKey });
    expectError(list, 403, "Insufficient permissions", "permission_denied");
    expect(errorOf(list).details).toEqual({ required: "secret:read", roles: ["event_reader"] });
  });
});

describe("GET /v1/secrets/api/keys", () => {
  test("default status published; filters type and status", async () => {
    const h = await createHarness();
    const a = await newKey(h, { name: "a" });
    const b = await newKey(h, { name: "b" });
    const pk = await newKey(h, { name: "pk", type: "publishable_key" });
    expect((await h.call("DELETE", `${KEYS}/${b.id}`)).status).toBe(204);

    const ids = async (query: string) => {
      const res = await h.call("GET", `${KEYS}${query}`);
      expect(res.status).toBe(200);
      for (const item of res.body.items) expect(Object.keys(item).sort()).toEqual(SECRET_RESPONSE_FIELDS);
      expect(res.body.pagination.total).toBe(res.body.items.length);
      return (res.body.items as { id: string }[]).map((i) => i.id).sort();
    };
    expect(await ids("")).toEqual([a.id, pk.id].sort());
    expect(await ids("?status=published")).toEqual([a.id, pk.id].sort());
    expect(await ids("?type=private_key")).toEqual([a.id]);
    expect(await ids("?type=publishable_key")).toEqual([pk.id]);
    expect(await ids("?status=deleted")).toEqual([b.id]);
    expect(await ids("?status=deleted&type=publishable_key")).toEqual([]);
    expect(await ids("?status=archived")).toEqual([]);
  });

  test("pagination: limit and offset, 50 by default, bad values are 400", async () => {
    const h = await createHarness();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await newKey(h, { name: `k${i}` })).id);

    const all = await h.call("GET", KEYS);
    expect(all.body.pagination).toEqual({ total: 5, limit: 50, offset: 0 });
    const page1 = await h.call("GET", `${KEYS}?limit=2`);
    const page2 = await h.call("GET", `${KEYS}?limit=2&offset=2`);
    const page3 = await h.call("GET", `${KEYS}?limit=2&offset=4`);
    expect(page1.body.pagination).toEqual({ total: 5, limit: 2, offset: 0 });
    expect(page3.body.pagination).toEqual({ total: 5, limit: 2, offset: 4 });
    expect([page1, page2, page3].map((p) => p.body.items.length)).toEqual([2, 2, 1]);
    const paged = [page1, page2, page3].flatMap((p) => p.body.items.map((i: { id: string }) => i.id));
    expect(paged.sort()).toEqual(made.sort());
    expect((await h.call("GET", `${KEYS}?offset=10`)).body.items).toEqual([]);

    for (const query of [
      "limit=0",
      "limit=1001",
      "limit=abc",
      "limit=-1",
      "limit=2.5",
      "offset=-1",
      "offset=x",
      "type=integration",
      "status=live",
      "bogus=1",
    ]) {
      const res = await h.call("GET", `${KEYS}?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
    expect((await h.call("GET", `${KEYS}?limit=1000`)).status).toBe(200);
  });

  test("a service account sees only its own keys", async () => {
    const h = await createHarness();
    const admin = await accountWithKey(h, ["super_admin"], "admin");
    const other = await accountWithKey(h, ["event_reader"], "reader");
    const mine = await newKey(h, { name: "user key" });
    const adminSecond = await newKey(h, { name: "admin second" }, { key: admin.apiKey });

    const res = await h.call("GET", KEYS, { key: admin.apiKey });
    expect(res.status).toBe(200);
    expect(res.body.items.map((i: { id: string }) => i.id).sort()).toEqual([admin.secretId, adminSecond.id].sort());
    expect(res.body.pagination.total).toBe(2);
    for (const id of [other.secretId, mine.id]) {
      expectError(await h.call("GET", `${KEYS}/${id}`, { key: admin.apiKey }), 404, "API key not found", "not_found");
    }
    // The dev user sees all four.
    expect((await h.call("GET", KEYS)).body.pagination.total).toBe(4);
  });

  test("keys of another environment are neither listed nor readable nor deletable", async () => {
    const h = await createHarness();
    const prod = await environmentOf(h, "production");
    const inProd = await newKey(h, { name: "prod key" }, { headers: { "X-Environment-ID": prod.id } });
    const inDev = await newKey(h, { name: "dev key" });

    const devList = await h.call("GET", KEYS);
    expect(devList.body.items.map((i: { id: string }) => i.id)).toEqual([inDev.id]);
    const prodList = await h.call("GET", KEYS, { headers: { "X-Environment-ID": prod.id } });
    expect(prodList.body.items.map((i: { id: string }) => i.id)).toEqual([inProd.id]);

    expectError(await h.call("GET", `${KEYS}/${inProd.id}`), 404, "API key not found", "not_found");
    expectError(await h.call("DELETE", `${KEYS}/${inProd.id}`), 404, "API key not found", "not_found");
    expectError(
      await h.call("POST", `${KEYS}/${inProd.id}/rotate`, { body: {} }),
      404,
      "API key not found",
      "not_found",
    );
    // Nothing happened to it.
    expect((await secretRow(h, inProd.id)).status).toBe("published");
    expect((await h.call("GET", ME, { key: inProd.api_key })).status).toBe(200);
    const read = await h.call("GET", `${KEYS}/${inProd.id}`, { headers: { "X-Environment-ID": prod.id } });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(inProd.secret);
  });
});

describe("GET /v1/secrets/api/keys/{id}", () => {
  test("returns the SecretResponse; an unknown id is 404", async () => {
    const h = await createHarness();
    const created = await newKey(h, { name: "read me", expires_at: "2099-01-01T00:00:00Z" });
    const res = await h.call("GET", `${KEYS}/${created.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created.secret);
    expect(res.body.expires_at).toBe("2099-01-01T00:00:00.000Z");
    expectError(await h.call("GET", `${KEYS}/sec_01J00000000000000000000000`), 404, "API key not found", "not_found");
  });
});

describe("DELETE /v1/secrets/api/keys/{id}", () => {
  test("204; status deleted; the key fails on the next request; deleting again is 404", async () => {
    // Only the revocation's own eviction can drop the cached key (see OWN_EVICTIONS_ONLY).
    const h = await createHarness({}, OWN_EVICTIONS_ONLY);
    const created = await newKey(h, { name: "doomed" });
    expect((await h.call("GET", ME, { key: created.api_key })).status).toBe(200); // now cached

    const del = await h.call("DELETE", `${KEYS}/${created.id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe("");

    const next = await h.call("GET", ME, { key: created.api_key });
    expectError(next, 401, "Invalid API key", "permission_denied");
    const read = await h.call("GET", `${KEYS}/${created.id}`);
    expect(read.body.status).toBe("deleted");
    expect(Date.parse(read.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.secret.updated_at));

    const again = await h.call("DELETE", `${KEYS}/${created.id}`);
    expectError(again, 404, "API key not found", "not_found");
    expect((await secretRow(h, created.id)).updated_at).toBe(read.body.updated_at);
    expectError(
      await h.call("DELETE", `${KEYS}/sec_01J00000000000000000000000`),
      404,
      "API key not found",
      "not_found",
    );
  });
});

describe("POST /v1/secrets/api/keys/{id}/rotate", () => {
  test("grace 0: a new key with the same name, type, owner and roles; the old key fails at once", async () => {
    // Only the rotation's own eviction can drop the cached old key (see OWN_EVICTIONS_ONLY).
    const h = await createHarness({}, OWN_EVICTIONS_ONLY);
    const account = await serviceAccount(h, ["event_reader"], "Reader");
    const old = await newKey(h, { name: "rotating", description: "d", service_account_id: account.id });
    expect((await h.call("GET", ME, { key: old.api_key })).status).toBe(200); // cached

    const res = await h.call("POST", `${KEYS}/${old.id}/rotate`, { body: { grace_period_seconds: 0 } });
    expect(res.status).toBe(201);
    const rotated = res.body;
    expect(Object.keys(rotated).sort()).toEqual(["api_key", "created_at", "id", "name", "roles", "secret"]);
    expect(rotated.id).not.toBe(old.id);
    expect(rotated.api_key).toMatch(/^sk_test_[0-9a-f]{64}$/);
    expect(rotated.api_key).not.toBe(old.api_key);
    expect(rotated.secret).toMatchObject({
      name: "rotating",
      description: "d",
      type: "private_key",
      user_id: account.id,
      user_type: "service_account",
      service_account_name: "Reader",
      roles: ["event_reader"],
      environment_id: old.secret.environment_id,
      status: "published",
      expires_at: null,
    });

    expectError(await h.call("GET", ME, { key: old.api_key }), 401, "Invalid API key", "permission_denied");
    expect((await h.call("GET", `${KEYS}/${old.id}`)).body.status).toBe("deleted");
    const me = await h.call("GET", ME, { key: rotated.api_key });
    expect(me.status).toBe(200);
    expect(me.body.credential).toMatchObject({ id: rotated.id, roles: ["event_reader"] });
  });

  test("no body means grace 0", async () => {
    const h = await createHarness();
    const old = await newKey(h, { name: "no body" });
    const res = await h.call("POST", `${KEYS}/${old.id}/rotate`, { body: {} });
    expect(res.status).toBe(201);
    expectError(await h.call("GET", ME, { key: old.api_key }), 401, "Invalid API key", "permission_denied");
  });

  test("grace 60: the old key keeps working and expires about now + 60 s", async () => {
    const h = await createHarness();
    const old = await newKey(h, { name: "graceful", type: "publishable_key" });
    expect((await h.call("GET", ME, { key: old.api_key })).status).toBe(200);

    const before = Date.now();
    const res = await h.call("POST", `${KEYS}/${old.id}/rotate`, { body: { grace_period_seconds: 60 } });
    const after = Date.now();
    expect(res.status).toBe(201);
    expect(res.body.api_key).toMatch(/^pk_test_/);
    expect(res.body.secret.type).toBe("publishable_key");
    expect(res.body.secret.expires_at).toBeNull();

    const oldNow = (await h.call("GET", `${KEYS}/${old.id}`)).body;
    expect(oldNow.status).toBe("published");
    const expiry = Date.parse(oldNow.expires_at);
    expect(expiry).toBeGreaterThanOrEqual(before + 60_000 - 1);
    expect(expiry).toBeLessThanOrEqual(after + 60_000 + 1);
    const meOld = await h.call("GET", ME, { key: old.api_key });
    expect(meOld.status).toBe(200);
    expect(meOld.body.credential.expires_at).toBe(oldNow.expires_at);
    expect((await h.call("GET", ME, { key: res.body.api_key })).status).toBe(200);
  });

  test("the old key expires at min(its own expiry, now + grace)", async () => {
    const h = await createHarness();
    const soon = new Date(Date.now() + 30_000).toISOString();
    const old = await newKey(h, { name: "expiring", expires_at: soon });
    const res = await h.call("POST", `${KEYS}/${old.id}/rotate`, { body: { grace_period_seconds: 3600 } });
    expect(res.status).toBe(201);
    expect((await h.call("GET", `${KEYS}/${old.id}`)).body.expires_at).toBe(soon);
  });

  test("grace outside 0..604800 or not an integer: 400, and nothing changes", async () => {
    const h = await createHarness();
    const old = await newKey(h, { name: "stay" });
    const before = await secretsSnapshot(h);
    for (const body of [
      { grace_period_seconds: 604801 },
      { grace_period_seconds: -1 },
      { grace_period_seconds: 1.5 },
      { grace_period_seconds: true },
      { grace: 60 },
    ]) {
      const res = await h.call("POST", `${KEYS}/${old.id}/rotate`, { body });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
    expect(await secretsSnapshot(h)).toEqual(before);
    expect((await h.call("GET", ME, { key: old.api_key })).status).toBe(200);
    expect((await h.call("POST", `${KEYS}/${old.id}/rotate`, { body: { grace_period_seconds: 604800 } })).status).toBe(
      201,
    );
  });

  test("grace given as a JSON string is a wrong type: 400, and nothing changes", async () => {
    const h = await createHarness();
    const old = await newKey(h, { name: "typed" });
    const before = await secretsSnapshot(h);
    for (const body of [{ grace_period_seconds: "60" }, { grace_period_seconds: "0" }]) {
      const res = await h.call("POST", `${KEYS}/${old.id}/rotate`, { body });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
    expect(await secretsSnapshot(h)).toEqual(before);
  });

  test("a deleted key cannot be rotated: 400", async () => {
    const h = await createHarness();
    const old = await newKey(h, { name: "deleted" });
    expect((await h.call("DELETE", `${KEYS}/${old.id}`)).status).toBe(204);
    const before = await secretsSnapshot(h);
    const res = await h.call("POST", `${KEYS}/${old.id}/rotate`, { body: { grace_period_seconds: 0 } });
    expectError(res, 400, "Expired or deleted keys cannot be rotated", "invalid_operation");
    expect(await secretsSnapshot(h)).toEqual(before);
  });

  test("an expired key cannot be rotated: 400", async () => {
    const h = await createHarness();
    const { secret } = await issueTestKey(h, { expiresAt: new Date(Date.now() - 1000).toISOString() });
    const before = await secretsSnapshot(h);
    const res = await h.call("POST", `${KEYS}/${secret.id}/rotate`, { body: { grace_period_seconds: 60 } });
    expectError(res, 400, "Expired or deleted keys cannot be rotated", "invalid_operation");
    expect(await secretsSnapshot(h)).toEqual(before);
  });

  test("an unknown key: 404", async () => {
    const h = await createHarness();
    const res = await h.call("POST", `${KEYS}/sec_01J00000000000000000000000/rotate`, { body: {} });
    expectError(res, 404, "API key not found", "not_found");
  });
});

describe("expiry and last_used_at", () => {
  test("a key past expires_at: 401 API key has expired", async () => {
    const h = await createHarness();
    const stale = await issueTestKey(h, { expiresAt: new Date(Date.now() - 1000).toISOString() });
    expectError(await h.call("GET", ME, { key: stale.apiKey }), 401, "API key has expired", "permission_denied");

    const expiresAt = Date.now() + 60_000;
    const created = await newKey(h, { name: "short", expires_at: new Date(expiresAt).toISOString() });
    expect((await h.call("GET", ME, { key: created.api_key })).status).toBe(200);
    try {
      setSystemTime(new Date(expiresAt + 1));
      expectError(await h.call("GET", ME, { key: created.api_key }), 401, "API key has expired", "permission_denied");
    } finally {
      setSystemTime();
    }
  });

  test("last_used_at shows in GET once the key is used and usage is flushed", async () => {
    const h = await createHarness();
    const created = await newKey(h, { name: "used" });
    expect((await h.call("GET", `${KEYS}/${created.id}`)).body.last_used_at).toBeNull();
    const before = Date.now();
    expect((await h.call("GET", ME, { key: created.api_key })).status).toBe(200);
    const after = Date.now();
    await h.context.lastUsed.flush();
    const lastUsed = (await h.call("GET", `${KEYS}/${created.id}`)).body.last_used_at;
    expect(lastUsed).toMatch(ISO);
    expect(Date.parse(lastUsed)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(lastUsed)).toBeLessThanOrEqual(after);
  });
});

describe("the periodic last_used_at flush", () => {
  test("usage noted is written on the recorder's own schedule, without a flush() call", async () => {
    const h = await createHarness();
    const created = await newKey(h, { name: "scheduled" });
    // An injected 20 ms interval: the server's is a few seconds.
    const recorder = new LastUsedRecorder(h.context.db, h.context.logger, 20);
    try {
      const at = Date.now();
      recorder.note(created.id, at);
      const read = async () => await h.context.db.value("SELECT last_used_at FROM secrets WHERE id = ?", created.id);
      const deadline = Date.now() + 2000;
      while ((await read()) === null && Date.now() < deadline) await Bun.sleep(10);
      expect(await read()).toBe(new Date(at).toISOString());
    } finally {
      await recorder.close();
    }
  });
});

describe("the revocation race", () => {
  test("after DELETE returns 204, zero requests with that key succeed", async () => {
    const h = await createHarness();
    const { api_key, id } = await newKey(h, { name: "raced" });
    expect((await h.call("GET", ME, { key: api_key })).status).toBe(200);

    let deleted = false;
    const outcomes: { startedAfterDelete: boolean; status: number; message?: string }[] = [];
    const one = async () => {
      const startedAfterDelete = deleted;
      const res = await h.call("GET", ME, { key: api_key });
      outcomes.push({ startedAfterDelete, status: res.status, message: res.body?.error?.message });
    };

    let deletion: Promise<void> | undefined;
    // Waves of 20 requests: three before the DELETE, then on while it is in flight (those may go
    // either way), until it has returned and five more waves have started after it, however long
    // the store takes to commit it.
    let wavesAfter = 0;
    let waves = 0;
    while (wavesAfter < 5) {
      if (waves === 3) {
        deletion = h.call("DELETE", `${KEYS}/${id}`).then((res) => {
          expect(res.status).toBe(204);
          deleted = true;
        });
      }
      if (deleted) wavesAfter++;
      await Promise.all(Array.from({ length: 20 }, one));
      waves++;
      // Let the DELETE's store calls run between waves on an engine that answers over the network.
      if (waves > 3 && !deleted) await Bun.sleep(1);
    }
    await deletion;

    expect(outcomes).toHaveLength(waves * 20);
    const after = outcomes.filter((o) => o.startedAfterDelete);
    const before = outcomes.filter((o) => !o.startedAfterDelete);
    expect(after.length).toBeGreaterThan(0);
    expect(before.some((o) => o.status === 200)).toBe(true);
    expect(after.filter((o) => o.status !== 401)).toEqual([]);
    expect(new Set(after.map((o) => o.message))).toEqual(new Set(["Invalid API key"]));
    for (const o of before) expect([200, 401]).toContain(o.status);
  });

  test("a lookup that read the key before its revocation cannot put it back in the cache", async () => {
    const h = await createHarness();
    const { api_key, id } = await newKey(h, { name: "fenced" });
    const original = secrets.findVerifiableKey;
    const lookup = spyOn(secrets, "findVerifiableKey").mockImplementationOnce(async (db, hash) => {
      const row = await original(db, hash); // the lookup reads the key while it is live...
      // ...and the revocation commits and evicts before that lookup fills the cache.
      await db.run("UPDATE secrets SET status = 'deleted' WHERE id = ?", id);
      h.context.keyCache.invalidate([sha256Hex(api_key)]);
      return row;
    });
    try {
      expect((await h.call("GET", ME, { key: api_key })).status).toBe(200);
      expect(lookup).toHaveBeenCalledTimes(1);
      expectError(await h.call("GET", ME, { key: api_key }), 401, "Invalid API key", "permission_denied");
    } finally {
      lookup.mockRestore();
    }
  });
});

describe("publishable keys carry no roles (a second witness)", () => {
  test("minted for a super_admin service account: roles [] in the answer and the store, refused on every permission route", async () => {
    const h = await createHarness();
    const admin = await serviceAccount(h, ["super_admin"], "browser app");
    const pk = await newKey(h, { name: "browser", type: "publishable_key", service_account_id: admin.id });
    expect(pk.roles).toEqual([]);
    expect(JSON.parse((await secretRow(h, pk.id)).roles)).toEqual([]);
    expect((await h.call("GET", `${KEYS}/${pk.id}`)).body.roles).toEqual([]);
    for (const [method, path] of [
      ["GET", KEYS],
      ["GET", "/v1/events"],
      ["GET", "/v1/customers"],
    ] as const) {
      const res = await h.call(method, path, { key: pk.api_key });
      expectError(res, 403, "Publishable keys cannot access this resource", "permission_denied");
    }
  });
});
