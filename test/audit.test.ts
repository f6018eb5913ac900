// SPEC §8: every change writes one append-only audit row, in the same transaction as the change;
// GET /v1/audit-logs reads them back, filtered, newest first, within the caller's tenant only.
import { describe, expect, spyOn, test } from "bun:test";
import * as auditService from "../src/modules/audit/service";
import { sha256Hex } from "../src/modules/auth/hash";
import {
  type CallResult,
  createHarness,
  createTwoTenantHarness,
  DEFAULT_TENANT,
  DEV_KEY,
  errorOf,
  type Harness,
  OTHER_TENANT_KEY,
} from "./support/harness";
import { environmentOf, issueTestKey } from "./support/keys";
import { startServer } from "./support/process";

const AUDIT = "/v1/audit-logs";
const KEYS = "/v1/secrets/api/keys";

const ROW_FIELDS = [
  "action",
  "actor",
  "changes",
  "created_at",
  "credential_id",
  "environment_id",
  "id",
  "ip",
  "request_id",
  "resource_id",
  "resource_type",
  "user_agent",
];

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type Row = Record<string, any>;

async function rawRows(h: Harness): Promise<Row[]> {
  return (await h.context.db.all("SELECT * FROM audit_logs ORDER BY created_at, id")) as Row[];
}

/** Every row the caller can see, newest first. */
async function visibleRows(
  h: Harness,
  options: { key?: string; headers?: Record<string, string> } = {},
): Promise<Row[]> {
  const res = await h.call("GET", `${AUDIT}?limit=1000`, options);
  expect(res.status).toBe(200);
  return res.body.items;
}

async function rowsOfRequest(
  h: Harness,
  requestId: string,
  options: { key?: string; headers?: Record<string, string> } = {},
) {
  return (await visibleRows(h, options)).filter((row) => row.request_id === requestId);
}

/** Calls with an X-Request-ID and returns the response and the audit rows that request wrote. */
async function audited(
  h: Harness,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const requestId = `req-${crypto.randomUUID()}`;
  const res = await h.call(method, path, { ...options, headers: { ...options.headers, "X-Request-ID": requestId } });
  expect(res.headers.get("x-request-id")).toBe(requestId);
  const rows = await rowsOfRequest(h, requestId, { headers: options.headers });
  return { res, rows, requestId };
}

async function serviceAccount(h: Harness, roles: string[], name: string, key?: string) {
  const res = await h.call("POST", "/v1/users", { key, body: { type: "service_account", name, roles } });
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string };
}

async function keyFor(h: Harness, accountId: string) {
  const res = await h.call("POST", KEYS, { body: { name: "account key", service_account_id: accountId } });
  expect(res.status).toBe(201);
  return res.body as { api_key: string; id: string };
}

async function devCredentialId(h: Harness): Promise<string> {
  return (await h.call("GET", "/v1/users/me")).body.credential.id;
}

function expectError(res: CallResult, status: number, message: string, internal: string) {
  expect(res.status).toBe(status);
  expect(errorOf(res).message).toBe(message);
  expect(errorOf(res).internal_error).toBe(internal);
}

describe("each change writes exactly one row", () => {
  test("key created: one secret.created row with every documented field", async () => {
    const h = await createHarness();
    const before = Date.now();
    const { res, rows, requestId } = await audited(h, "POST", KEYS, {
      body: { name: "audited key" },
      headers: { "User-Agent": "audit-test/1.0" },
    });
    expect(res.status).toBe(201);
    expect(rows).toHaveLength(1);
    const row = rows[0] as Row;
    expect(Object.keys(row).sort()).toEqual(ROW_FIELDS);
    expect(row.id).toMatch(/^aud_[0-9A-Z]{26}$/);
    expect(row).toMatchObject({
      action: "secret.created",
      resource_type: "secret",
      resource_id: res.body.id,
      credential_id: await devCredentialId(h),
      environment_id: (await environmentOf(h, "development")).id,
      request_id: requestId,
      user_agent: "audit-test/1.0",
    });
    expect(row.actor).toEqual({ type: "config_key", id: DEFAULT_TENANT, name: "Default development key" });
    expect(row.changes).toEqual({ before: null, after: res.body.secret });
    expect(row.created_at).toMatch(ISO);
    expect(Date.parse(row.created_at)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(row.created_at)).toBeLessThanOrEqual(Date.now());
    expect(await rawRows(h)).toHaveLength(1);
  });

  test("without X-Request-ID the row carries the generated id the response sent back", async () => {
    const h = await createHarness();
    const res = await h.call("POST", KEYS, { body: { name: "k" } });
    expect(res.status).toBe(201);
    const generated = res.headers.get("x-request-id");
    expect(generated).toBeTruthy();
    expect((await rowsOfRequest(h, generated as string)).map((r) => r.action)).toEqual(["secret.created"]);
  });

  test("key revoked: one secret.revoked row, before published and after deleted", async () => {
    const h = await createHarness();
    const created = await h.call("POST", KEYS, { body: { name: "to delete" } });
    const { res, rows } = await audited(h, "DELETE", `${KEYS}/${created.body.id}`);
    expect(res.status).toBe(204);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: "secret.revoked", resource_type: "secret", resource_id: created.body.id });
    expect(rows[0]?.changes.before).toEqual(created.body.secret);
    expect(rows[0]?.changes.after).toMatchObject({ id: created.body.id, status: "deleted" });
  });

  test("key rotated: one secret.rotated row for the old key, one secret.created row for its replacement", async () => {
    const h = await createHarness();
    const old = await h.call("POST", KEYS, { body: { name: "to rotate" } });
    const { res, rows } = await audited(h, "POST", `${KEYS}/${old.body.id}/rotate`, {
      body: { grace_period_seconds: 60 },
    });
    expect(res.status).toBe(201);
    expect(rows.map((r) => [r.action, r.resource_id]).sort()).toEqual(
      [
        ["secret.created", res.body.id],
        ["secret.rotated", old.body.id],
      ].sort(),
    );
    const rotated = rows.find((r) => r.action === "secret.rotated") as Row;
    expect(rotated.resource_type).toBe("secret");
    expect(rotated.changes.before).toEqual(old.body.secret);
    expect(rotated.changes.after).toMatchObject({ id: old.body.id, status: "published" });
    expect(Date.parse(rotated.changes.after.expires_at)).toBeGreaterThan(Date.now() + 50_000);
    const created = rows.find((r) => r.action === "secret.created") as Row;
    expect(created.changes.after).toMatchObject({ id: res.body.id, name: "to rotate" });
  });

  test("service account created, updated, archived: one row each", async () => {
    const h = await createHarness();
    const create = await audited(h, "POST", "/v1/users", {
      body: { type: "service_account", name: "Worker", roles: ["event_reader"] },
    });
    expect(create.res.status).toBe(201);
    const id = create.res.body.id;
    expect(create.rows).toHaveLength(1);
    expect(create.rows[0]).toMatchObject({
      action: "service_account.created",
      resource_type: "service_account",
      resource_id: id,
    });
    expect(create.rows[0]?.changes).toEqual({ before: null, after: create.res.body });

    const update = await audited(h, "PUT", `/v1/users/${id}`, { body: { name: "Renamed Worker" } });
    expect(update.res.status).toBe(200);
    expect(update.rows).toHaveLength(1);
    expect(update.rows[0]).toMatchObject({
      action: "service_account.updated",
      resource_type: "service_account",
      resource_id: id,
    });
    expect(update.rows[0]?.changes.before).toMatchObject({ name: "Worker" });
    // The response adds the account's limits (SPEC §14), which a rename does not change: they are audited by their own action.
    const { ratelimits: _ratelimits, credits: _credits, ...renamed } = update.res.body;
    expect(update.rows[0]?.changes.after).toEqual(renamed);

    const archive = await audited(h, "DELETE", `/v1/users/${id}`);
    expect(archive.res.status).toBe(204);
    expect(archive.rows).toHaveLength(1);
    expect(archive.rows[0]).toMatchObject({
      action: "service_account.archived",
      resource_type: "service_account",
      resource_id: id,
    });
    expect(archive.rows[0]?.changes.before).toMatchObject({ status: "published" });
    expect(archive.rows[0]?.changes.after).toMatchObject({ status: "archived", name: "Renamed Worker" });
    expect(await rawRows(h)).toHaveLength(3);
  });

  test("user account archived: one user.archived row, before and after", async () => {
    const h = await createHarness();
    const invited = await h.call("POST", "/v1/users", {
      body: { type: "user", email: "leaving@example.com", name: "Leaving" },
    });
    expect(invited.status).toBe(201);
    const archive = await audited(h, "DELETE", `/v1/users/${invited.body.id}`);
    expect(archive.res.status).toBe(204);
    expect(archive.rows).toHaveLength(1);
    expect(archive.rows[0]).toMatchObject({
      action: "user.archived",
      resource_type: "user",
      resource_id: invited.body.id,
    });
    expect(archive.rows[0]?.changes.before).toMatchObject({ status: "published", email: "leaving@example.com" });
    expect(archive.rows[0]?.changes.after).toMatchObject({ status: "archived" });
  });

  test("user invited: one user.created row, without the one-time set-password link or its hash", async () => {
    const h = await createHarness();
    const { res, rows } = await audited(h, "POST", "/v1/users", {
      body: { type: "user", email: "new.person@example.com", name: "New Person" },
    });
    expect(res.status).toBe(201);
    const token = new URL(res.body.set_password_url).searchParams.get("token") as string;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: "user.created", resource_type: "user", resource_id: res.body.id });
    expect(rows[0]?.changes.after).toMatchObject({ id: res.body.id, email: "new.person@example.com" });
    for (const text of [JSON.stringify(rows), JSON.stringify(await rawRows(h))]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(sha256Hex(token));
      expect(text).not.toContain("password");
    }
  });

  test("environment created and updated: one row each", async () => {
    const h = await createHarness();
    const create = await audited(h, "POST", "/v1/environments", { body: { name: "Staging", type: "development" } });
    expect(create.res.status).toBe(201);
    expect(create.rows).toHaveLength(1);
    expect(create.rows[0]).toMatchObject({
      action: "environment.created",
      resource_type: "environment",
      resource_id: create.res.body.id,
    });
    expect(create.rows[0]?.changes).toEqual({ before: null, after: create.res.body });

    const update = await audited(h, "PUT", `/v1/environments/${create.res.body.id}`, { body: { name: "QA" } });
    expect(update.res.status).toBe(200);
    expect(update.rows).toHaveLength(1);
    expect(update.rows[0]).toMatchObject({
      action: "environment.updated",
      resource_type: "environment",
      resource_id: create.res.body.id,
    });
    expect(update.rows[0]?.changes).toEqual({ before: create.res.body, after: update.res.body });
  });

  test("a service account key is recorded as actor type service_account, with its key as credential_id", async () => {
    const h = await createHarness();
    const admin = await serviceAccount(h, ["super_admin"], "Automation Bot");
    const key = await keyFor(h, admin.id);
    const { res, rows } = await audited(h, "POST", "/v1/users", {
      key: key.api_key,
      body: { type: "service_account", name: "Child", roles: ["event_ingestor"] },
    });
    expect(res.status).toBe(201);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.actor).toEqual({ type: "service_account", id: admin.id, name: "Automation Bot" });
    expect(rows[0]).toMatchObject({
      action: "service_account.created",
      credential_id: key.id,
      environment_id: (await environmentOf(h, "development")).id,
    });
  });

  test("a stored key of a user account is recorded as actor type user", async () => {
    const h = await createHarness();
    const { apiKey, secret } = await issueTestKey(h);
    const { res, rows } = await audited(h, "POST", "/v1/environments", {
      key: apiKey,
      body: { name: "By key", type: "production" },
    });
    expect(res.status).toBe(201);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.actor).toEqual({ type: "user", id: DEFAULT_TENANT, name: "Default User" });
    expect(rows[0]?.credential_id).toBe(secret.id);
  });
});

describe("secrets never reach the log", () => {
  test("no key, key hash or password appears in any row, stored or served", async () => {
    const h = await createHarness();
    const account = await serviceAccount(h, ["event_reader"], "sa");
    const keys = [
      (await h.call("POST", KEYS, { body: { name: "a" } })).body,
      (await h.call("POST", KEYS, { body: { name: "b", type: "publishable_key" } })).body,
      (await h.call("POST", KEYS, { body: { name: "c", service_account_id: account.id } })).body,
    ];
    const rotated = (await h.call("POST", `${KEYS}/${keys[0].id}/rotate`, { body: { grace_period_seconds: 30 } })).body;
    expect((await h.call("DELETE", `${KEYS}/${keys[1].id}`)).status).toBe(204);
    const invite = (await h.call("POST", "/v1/users", { body: { type: "user", email: "x@example.com" } })).body;
    expect((await h.call("DELETE", `/v1/users/${account.id}`)).status).toBe(204);

    const secretsToHide = [...keys, rotated].flatMap((k) => [k.api_key, sha256Hex(k.api_key), k.api_key.slice(12, -4)]);
    const inviteToken = new URL(invite.set_password_url).searchParams.get("token") as string;
    secretsToHide.push(inviteToken, sha256Hex(inviteToken));
    const served = (await h.call("GET", `${AUDIT}?limit=1000`)).text;
    const stored = JSON.stringify(await rawRows(h));
    // service account, 3 keys, rotation (2), deletion, invite, archive
    expect(await rawRows(h)).toHaveLength(9);
    for (const text of [served, stored]) {
      for (const secret of secretsToHide) expect(text).not.toContain(secret);
      expect(text).not.toContain("key_hash");
      expect(text).not.toContain("password");
    }
  });
});

describe("GET /v1/audit-logs", () => {
  test("filters action, resource_type, resource_id, actor_id; limit and offset; newest first", async () => {
    const h = await createHarness();
    const k1 = (await h.call("POST", KEYS, { body: { name: "k1" } })).body;
    const admin = await serviceAccount(h, ["super_admin"], "admin");
    const adminKey = await keyFor(h, admin.id);
    const env = (await h.call("POST", "/v1/environments", { body: { name: "Staging", type: "development" } })).body;
    expect((await h.call("DELETE", `${KEYS}/${k1.id}`)).status).toBe(204);
    const byAdmin = (await h.call("POST", KEYS, { key: adminKey.api_key, body: { name: "by admin" } })).body;

    const list = async (query: string) => {
      const res = await h.call("GET", `${AUDIT}${query}`);
      expect(res.status).toBe(200);
      expect(res.body.pagination.total).toBeGreaterThanOrEqual(res.body.items.length);
      return res.body as { items: Row[]; pagination: { total: number; limit: number; offset: number } };
    };
    const summary = (items: Row[]) => items.map((r) => `${r.action} ${r.resource_id}`);

    const all = await list("");
    expect(all.pagination).toEqual({ total: 6, limit: 50, offset: 0 });
    expect(summary(all.items)).toEqual([
      `secret.created ${byAdmin.id}`,
      `secret.revoked ${k1.id}`,
      `environment.created ${env.id}`,
      `secret.created ${adminKey.id}`,
      `service_account.created ${admin.id}`,
      `secret.created ${k1.id}`,
    ]);
    const times = all.items.map((r) => r.created_at);
    expect([...times].sort().reverse()).toEqual(times);

    expect(summary((await list("?action=secret.created")).items)).toEqual([
      `secret.created ${byAdmin.id}`,
      `secret.created ${adminKey.id}`,
      `secret.created ${k1.id}`,
    ]);
    expect((await list("?resource_type=secret")).pagination.total).toBe(4);
    expect(summary((await list("?resource_type=environment")).items)).toEqual([`environment.created ${env.id}`]);
    expect(summary((await list(`?resource_id=${k1.id}`)).items)).toEqual([
      `secret.revoked ${k1.id}`,
      `secret.created ${k1.id}`,
    ]);
    expect(summary((await list(`?actor_id=${admin.id}`)).items)).toEqual([`secret.created ${byAdmin.id}`]);
    expect((await list(`?actor_id=${DEFAULT_TENANT}`)).pagination.total).toBe(5);
    expect(summary((await list(`?action=secret.revoked&resource_id=${k1.id}`)).items)).toEqual([
      `secret.revoked ${k1.id}`,
    ]);
    expect(await list("?action=secret.exploded")).toEqual({
      items: [],
      pagination: { total: 0, limit: 50, offset: 0 },
    });

    const page = await list("?limit=2&offset=1");
    expect(page.pagination).toEqual({ total: 6, limit: 2, offset: 1 });
    expect(page.items.map((r) => r.id)).toEqual(all.items.slice(1, 3).map((r) => r.id));
    expect((await list("?offset=6")).items).toEqual([]);
  });

  test("action: secret.revoked also finds rows older versions wrote as secret.deleted; secret.* and secret find every key action", async () => {
    const h = await createHarness();
    const old = (await h.call("POST", KEYS, { body: { name: "revoked long ago" } })).body;
    const revokedNow = (await h.call("POST", KEYS, { body: { name: "revoked now" } })).body;
    expect((await h.call("DELETE", `${KEYS}/${revokedNow.id}`)).status).toBe(204);
    await h.call("POST", "/v1/environments", { body: { name: "Staging", type: "development" } });
    await serviceAccount(h, ["event_ingestor"], "sorts after secret");
    // A revocation as an older Tollgate recorded it: the table is append-only, so the row keeps that name.
    const template = (await rawRows(h)).find(
      (r) => r.resource_id === revokedNow.id && r.action === "secret.revoked",
    ) as Row;
    await h.context.db.run(
      `INSERT INTO audit_logs (id, tenant_id, environment_id, action, resource_type, resource_id, actor_type, actor_id,
         actor_name, credential_id, changes, request_id, ip, user_agent, created_at)
       SELECT 'aud_old', tenant_id, environment_id, 'secret.deleted', resource_type, ?, actor_type, actor_id,
         actor_name, credential_id, changes, request_id, ip, user_agent, '2020-01-01T00:00:00.000Z'
       FROM audit_logs WHERE id = ?`,
      old.id,
      template.id,
    );

    const actions = async (filter: string) =>
      ((await h.call("GET", `${AUDIT}?action=${encodeURIComponent(filter)}`)).body.items as Row[]).map(
        (r) => `${r.action} ${r.resource_id}`,
      );
    expect(await actions("secret.revoked")).toEqual([`secret.revoked ${revokedNow.id}`, `secret.deleted ${old.id}`]);
    expect(await actions("secret.deleted")).toEqual([`secret.revoked ${revokedNow.id}`, `secret.deleted ${old.id}`]);
    const everyKeyAction = [
      `secret.revoked ${revokedNow.id}`,
      `secret.created ${revokedNow.id}`,
      `secret.created ${old.id}`,
      `secret.deleted ${old.id}`,
    ];
    expect(await actions("secret.*")).toEqual(everyKeyAction);
    expect(await actions("secret")).toEqual(everyKeyAction);
    // A prefix is a whole resource type: `secre` finds nothing, `secret` neither environment.* nor service_account.*.
    expect(await actions("secre")).toEqual([]);
    expect(await actions("environment")).toHaveLength(1);
    expect(await actions("service_account")).toHaveLength(1);
  });

  test("start_time (inclusive) and end_time (exclusive) in any RFC 3339 offset", async () => {
    const h = await createHarness();
    const make = async (name: string) =>
      (await h.call("POST", "/v1/environments", { body: { name, type: "development" } })).body.id;
    const a = await make("A");
    await Bun.sleep(15);
    const t1 = new Date();
    await Bun.sleep(15);
    const b = await make("B");
    await Bun.sleep(15);
    const t2 = new Date();
    await Bun.sleep(15);
    const c = await make("C");

    const ids = async (query: string) => {
      const res = await h.call("GET", `${AUDIT}?${query}`);
      expect(res.status).toBe(200);
      return res.body.items.map((r: Row) => r.resource_id);
    };
    const plusTwo = (d: Date) => `${new Date(d.getTime() + 2 * 3600_000).toISOString().slice(0, -1)}%2B02:00`;
    expect(await ids(`start_time=${t1.toISOString()}`)).toEqual([c, b]);
    expect(await ids(`end_time=${t2.toISOString()}`)).toEqual([b, a]);
    expect(await ids(`start_time=${t1.toISOString()}&end_time=${t2.toISOString()}`)).toEqual([b]);
    expect(await ids(`start_time=${plusTwo(t1)}&end_time=${plusTwo(t2)}`)).toEqual([b]);
  });

  test("bad query parameters: 400 validation_error", async () => {
    const h = await createHarness();
    await h.call("POST", KEYS, { body: { name: "k" } });
    for (const query of [
      "start_time=yesterday",
      "start_time=2030-13-01T00:00:00Z",
      "start_time=",
      "end_time=not-a-time",
      "limit=0",
      "limit=1001",
      "limit=x",
      "offset=-1",
      "request_id=abc",
    ]) {
      const res = await h.call("GET", `${AUDIT}?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
  });

  test("start_time/end_time that are not valid RFC 3339 timestamps (impossible day, date only): 400", async () => {
    const h = await createHarness();
    for (const query of ["start_time=2030-02-30T00:00:00Z", "end_time=2031-02-29T00:00:00Z", "start_time=2030-01-01"]) {
      const res = await h.call("GET", `${AUDIT}?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
  });

  test("a key without audit_log:read (event_reader): 403 Insufficient permissions", async () => {
    const h = await createHarness();
    const reader = await serviceAccount(h, ["event_reader"], "reader");
    const key = await keyFor(h, reader.id);
    const res = await h.call("GET", AUDIT, { key: key.api_key });
    expectError(res, 403, "Insufficient permissions", "permission_denied");
    expect(errorOf(res).details).toEqual({ required: "audit_log:read", roles: ["event_reader"] });
    const publishable = (await h.call("POST", KEYS, { body: { name: "pk", type: "publishable_key" } })).body.api_key;
    expectError(
      await h.call("GET", AUDIT, { key: publishable }),
      403,
      "Publishable keys cannot access this resource",
      "permission_denied",
    );
    expectError(await h.call("GET", AUDIT, { key: null }), 401, "API key required", "permission_denied");
  });

  test("rows of another environment are listed only in that environment", async () => {
    const h = await createHarness();
    const prod = await environmentOf(h, "production");
    const inProd = (await h.call("POST", KEYS, { body: { name: "prod" }, headers: { "X-Environment-ID": prod.id } }))
      .body;
    expect((await visibleRows(h)).map((r) => r.resource_id)).not.toContain(inProd.id);
    const prodRows = await visibleRows(h, { headers: { "X-Environment-ID": prod.id } });
    expect(prodRows.map((r) => [r.action, r.resource_id, r.environment_id])).toEqual([
      ["secret.created", inProd.id, prod.id],
    ]);
  });

  test("rows of another tenant are never visible, whatever the filter", async () => {
    const otherKey = OTHER_TENANT_KEY;
    const h = await createTwoTenantHarness();
    const mine = (await h.call("POST", KEYS, { body: { name: "mine" } })).body;
    const theirAccount = await serviceAccount(h, ["event_reader"], "theirs", otherKey);
    const theirKey = (await h.call("POST", KEYS, { key: otherKey, body: { name: "theirs" } })).body;
    expect((await h.call("DELETE", `${KEYS}/${theirKey.id}`, { key: otherKey })).status).toBe(204);
    const theirEnv = (
      await h.call("POST", "/v1/environments", { key: otherKey, body: { name: "Theirs", type: "production" } })
    ).body;
    const theirIds = [theirAccount.id, theirKey.id, theirEnv.id];

    // They exist in the store...
    expect(await h.context.db.value("SELECT count(*) FROM audit_logs WHERE tenant_id = 'tenant-two'")).toBe(4);
    // ...and the first tenant sees none of them.
    const seen = await visibleRows(h);
    expect(seen.map((r) => r.resource_id)).toEqual([mine.id]);
    for (const query of [
      ...theirIds.map((id) => `resource_id=${id}`),
      "actor_id=user-two",
      "action=environment.created",
      "resource_type=service_account",
    ]) {
      const res = await h.call("GET", `${AUDIT}?${query}`);
      expect({ query, total: res.body.pagination.total }).toEqual({ query, total: 0 });
    }
    // Nor can it reach their environment.
    const theirDefault = await environmentOf(h, "development", "tenant-two");
    expectError(
      await h.call("GET", AUDIT, { headers: { "X-Environment-ID": theirDefault.id } }),
      403,
      "Invalid or inaccessible environment",
      "permission_denied",
    );
    // And the other way round.
    const theirView = await visibleRows(h, { key: otherKey });
    expect(theirView).toHaveLength(4);
    expect(theirView.map((r) => r.resource_id)).not.toContain(mine.id);
    expect(new Set(theirView.map((r) => r.actor.id))).toEqual(new Set(["user-two"]));
  });
});

describe("refused and failed changes leave no row", () => {
  test("a refused request (400, 401, 403, 404, 409) writes no row", async () => {
    const h = await createHarness();
    const ingestor = await serviceAccount(h, ["event_ingestor"], "ingestor");
    const ingestorKey = await keyFor(h, ingestor.id);
    const deleted = (await h.call("POST", KEYS, { body: { name: "deleted" } })).body;
    expect((await h.call("DELETE", `${KEYS}/${deleted.id}`)).status).toBe(204);
    const env = (await h.call("POST", "/v1/environments", { body: { name: "Staging", type: "development" } })).body;
    const before = await rawRows(h);
    expect(before).toHaveLength(5);

    const refusals: [number, string, string, { key?: string | null; body?: unknown }][] = [
      [400, "POST", KEYS, { body: { name: "   " } }],
      [400, "POST", KEYS, { body: { name: "x", type: "integration" } }],
      [400, "POST", KEYS, { body: { name: "x", expires_at: "2001-01-01T00:00:00Z" } }],
      [400, "POST", `${KEYS}/${deleted.id}/rotate`, { body: { grace_period_seconds: 0 } }],
      [400, "POST", `${KEYS}/${ingestorKey.id}/rotate`, { body: { grace_period_seconds: 604801 } }],
      [400, "POST", "/v1/users", { body: { type: "service_account", name: "x", roles: ["custom_role"] } }],
      [400, "PUT", `/v1/users/${ingestor.id}`, { body: { roles: ["super_admin"] } }],
      [400, "DELETE", `/v1/users/${DEFAULT_TENANT}`, {}],
      [401, "POST", KEYS, { key: null, body: { name: "x" } }],
      [403, "POST", KEYS, { key: ingestorKey.api_key, body: { name: "x" } }],
      [
        403,
        "POST",
        "/v1/users",
        { key: ingestorKey.api_key, body: { type: "service_account", name: "x", roles: ["super_admin"] } },
      ],
      [403, "PUT", `/v1/environments/${env.id}`, { key: ingestorKey.api_key, body: { name: "Taken" } }],
      [404, "DELETE", `${KEYS}/${deleted.id}`, {}],
      [404, "POST", KEYS, { body: { name: "x", service_account_id: "usr_01J00000000000000000000000" } }],
      [404, "PUT", "/v1/environments/env_01J00000000000000000000000", { body: { name: "Nope" } }],
      [404, "DELETE", "/v1/users/usr_01J00000000000000000000000", {}],
      [409, "POST", "/v1/environments", { body: { name: "Staging", type: "production" } }],
      [409, "PUT", `/v1/environments/${env.id}`, { body: { name: "Production" } }],
    ];
    for (const [status, method, path, options] of refusals) {
      const res = await h.call(method, path, options);
      expect({ method, path, status: res.status }).toEqual({ method, path, status });
      errorOf(res);
    }
    expect(await rawRows(h)).toEqual(before);
  });

  test("a duplicate environment name: 409, and no new row", async () => {
    const h = await createHarness();
    const before = await rawRows(h);
    const res = await h.call("POST", "/v1/environments", { body: { name: "Development", type: "development" } });
    expectError(res, 409, "An environment with this name already exists", "already_exists");
    expect(await rawRows(h)).toEqual(before);
    expect(await h.context.db.value("SELECT count(*) FROM environments")).toBe(2);
  });

  test("a change that fails after its audit row was written rolls back both", async () => {
    const h = await createHarness();
    const env = (await h.call("POST", "/v1/environments", { body: { name: "Staging", type: "development" } })).body;
    const key = (await h.call("POST", KEYS, { body: { name: "survivor" } })).body;
    const before = await rawRows(h);

    const original = auditService.recordAudit;
    const spy = spyOn(auditService, "recordAudit").mockImplementation((...args) => {
      original(...args);
      throw new Error("the store failed after the audit insert");
    });
    try {
      const rename = await h.call("PUT", `/v1/environments/${env.id}`, { body: { name: "Renamed" } });
      expectError(rename, 500, "Internal server error", "internal_error");
      const revoke = await h.call("DELETE", `${KEYS}/${key.id}`);
      expectError(revoke, 500, "Internal server error", "internal_error");
      const mint = await h.call("POST", KEYS, { body: { name: "never" } });
      expectError(mint, 500, "Internal server error", "internal_error");
      expect(spy).toHaveBeenCalledTimes(3);
    } finally {
      spy.mockRestore();
    }

    expect(await rawRows(h)).toEqual(before);
    expect((await h.call("GET", `/v1/environments/${env.id}`)).body.name).toBe("Staging");
    expect((await h.call("GET", `${KEYS}/${key.id}`)).body.status).toBe("published");
    expect((await h.call("GET", "/v1/users/me", { key: key.api_key })).status).toBe(200);
    expect(await h.context.db.value("SELECT count(*) FROM secrets WHERE name = 'never'")).toBe(0);
  });
});

describe("append-only", () => {
  async function withRows(h: Harness) {
    await h.call("POST", KEYS, { body: { name: "a" } });
    await h.call("POST", "/v1/environments", { body: { name: "Staging", type: "development" } });
    const rows = await rawRows(h);
    expect(rows).toHaveLength(2);
    return rows;
  }

  test("the store refuses UPDATE and DELETE on audit_logs, and the rows stay as they were", async () => {
    const h = await createHarness();
    const before = await withRows(h);
    const { db } = h.context;
    const id = before[0]?.id as string;
    for (const statement of [
      "UPDATE audit_logs SET action = 'secret.forged'",
      `UPDATE audit_logs SET changes = '{}' WHERE id = '${id}'`,
      "DELETE FROM audit_logs",
      `DELETE FROM audit_logs WHERE id = '${id}'`,
    ]) {
      await expect(db.run(statement)).rejects.toThrow("audit_logs is append-only");
    }
    expect(await rawRows(h)).toEqual(before);
  });

  test("INSERT OR REPLACE cannot rewrite an existing row either", async () => {
    const h = await createHarness();
    const before = await withRows(h);
    const victim = before[0] as Row;
    const replace = () =>
      h.context.db.run(
        `INSERT OR REPLACE INTO audit_logs (id, tenant_id, environment_id, action, resource_type, resource_id, actor_type,
             actor_id, actor_name, credential_id, changes, request_id, ip, user_agent, created_at)
           VALUES (@id, @tenant_id, @environment_id, 'secret.forged', @resource_type, @resource_id, @actor_type,
             @actor_id, @actor_name, @credential_id, '{}', @request_id, @ip, @user_agent, @created_at)`,
        victim,
      );
    try {
      await replace();
    } catch {
      // Refusing is the right outcome; the rows are checked below either way.
    }
    expect(await rawRows(h)).toEqual(before);
  });

  test("no route updates or deletes audit rows", async () => {
    const h = await createHarness();
    const before = await withRows(h);
    const id = before[0]?.id as string;
    for (const [method, path] of [
      ["DELETE", AUDIT],
      ["DELETE", `${AUDIT}/${id}`],
      ["PUT", `${AUDIT}/${id}`],
      ["PATCH", `${AUDIT}/${id}`],
      ["POST", AUDIT],
    ] as const) {
      const res = await h.call(method, path, { body: method === "DELETE" ? undefined : { action: "x" } });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      expect(errorOf(res).internal_error).toBe("not_found");
    }
    expect(await rawRows(h)).toEqual(before);
  });
});

describe("over a real server", () => {
  test("an audit row carries the client's address and user agent", async () => {
    const server = await startServer();
    try {
      const created = await fetch(`${server.baseUrl}/v1/users`, {
        method: "POST",
        headers: { "x-api-key": DEV_KEY, "content-type": "application/json", "user-agent": "audit-test/1.0" },
        body: JSON.stringify({ type: "service_account", name: "Worker", roles: ["event_reader"] }),
      });
      expect(created.status).toBe(201);
      const logs = await fetch(`${server.baseUrl}/v1/audit-logs?action=service_account.created`, {
        headers: { "x-api-key": DEV_KEY },
      });
      expect(logs.status).toBe(200);
      const { items } = (await logs.json()) as { items: { ip: string | null; user_agent: string | null }[] };
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({ ip: "127.0.0.1", user_agent: "audit-test/1.0" });
    } finally {
      await server.stop();
    }
  });
});
