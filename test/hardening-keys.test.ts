// Issue 9, item 7: rotation rules. A key is replaced once (its replacement keeps the original
// expiry, never the grace deadline); concurrent rotations of one key make one replacement; keys
// of archived accounts cannot be rotated and say, in their status, that they do not work.
import { describe, expect, test } from "bun:test";
import { createTollgate } from "../src/app";
import { DEFAULT_CONFIG } from "../src/config";
import { MEMORY_DATABASE, openDatabase, SqliteStore } from "../src/db";
import { migrate } from "../src/db/sqlite/open";
import { MIGRATIONS } from "../src/db/sqlite/migrations";
import { createLogger } from "../src/http/logging";
import { AUDIT } from "../src/modules/audit/actions";
import { recordAudit } from "../src/modules/audit/service";
import { ensureConfigKeyPrincipals } from "../src/modules/users/bootstrap";
import { issueKey } from "../src/modules/secrets/store";
import { callApp, type CallResult, createHarness, DEFAULT_TENANT, errorOf, type Harness } from "./support/harness";

const KEYS = "/v1/secrets/api/keys";
const ALREADY_ROTATED = "API key has already been rotated; rotate its replacement instead";
const ARCHIVED_OWNER = "Keys of an archived account cannot be rotated";

async function newKey(h: Harness, body: Record<string, unknown> = { name: "k" }) {
  const res = await h.call("POST", KEYS, { body });
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${res.text}`);
  return res.body as { api_key: string; id: string; secret: Record<string, any> };
}

const rotate = (h: Harness, id: string, grace: number) =>
  h.call("POST", `${KEYS}/${id}/rotate`, { body: { grace_period_seconds: grace } });

function expectError(res: CallResult, status: number, message: string, internal: string) {
  expect(res.status).toBe(status);
  expect(errorOf(res)).toMatchObject({ message, internal_error: internal });
}

const countKeys = async (h: Harness) => (await h.context.db.get("SELECT count(*) AS n FROM secrets")) as { n: number };

async function serviceAccountWithKey(h: Harness, roles = ["event_ingestor"]) {
  const account = await h.call("POST", "/v1/users", { body: { type: "service_account", name: "worker", roles } });
  expect(account.status).toBe(201);
  const key = await newKey(h, { name: "worker key", service_account_id: account.body.id });
  return { accountId: account.body.id as string, key };
}

describe("re-rotation", () => {
  test("re-rotating a key in its grace period: 409 version_conflict, no second replacement, nothing changes", async () => {
    const h = await createHarness();
    const expiry = new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString();
    const old = await newKey(h, { name: "payments", expires_at: expiry });
    const first = await rotate(h, old.id, 3600);
    expect(first.status).toBe(201);
    expect(first.body.secret.expires_at).toBe(expiry);
    const oldAfterFirst = (await h.call("GET", `${KEYS}/${old.id}`)).body;
    const keysBefore = (await countKeys(h)).n;

    const again = await rotate(h, old.id, 60);
    expectError(again, 409, ALREADY_ROTATED, "version_conflict");
    expect(errorOf(again).details).toEqual({ replaced_by: first.body.id });
    expect((await countKeys(h)).n).toBe(keysBefore);
    // The old key keeps its grace deadline, and both keys still work.
    expect((await h.call("GET", `${KEYS}/${old.id}`)).body).toEqual(oldAfterFirst);
    expect((await h.call("GET", "/v1/users/me", { key: old.api_key })).status).toBe(200);
    expect((await h.call("GET", "/v1/users/me", { key: first.body.api_key })).status).toBe(200);
  });

  test("a key rotated with grace 0 is refused as already rotated, not as deleted", async () => {
    const h = await createHarness();
    const old = await newKey(h);
    expect((await rotate(h, old.id, 0)).status).toBe(201);
    expectError(await rotate(h, old.id, 0), 409, ALREADY_ROTATED, "version_conflict");
  });

  test("rotating the replacement, again and again, keeps the original expiry, never a grace deadline", async () => {
    const h = await createHarness();
    const expiry = new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString();
    const a = await newKey(h, { name: "chain", expires_at: expiry });
    const b = await rotate(h, a.id, 600);
    expect(b.status).toBe(201);
    const c = await rotate(h, b.body.id, 600);
    expect(c.status).toBe(201);
    expect(c.body.secret.expires_at).toBe(expiry);
    const d = await rotate(h, c.body.id, 0);
    expect(d.body.secret.expires_at).toBe(expiry);
    // Each replaced key got its own grace deadline; the live end of the chain keeps the original.
    const grace = Date.parse((await h.call("GET", `${KEYS}/${a.id}`)).body.expires_at);
    expect(grace).toBeLessThan(Date.now() + 601_000);
    expect((await h.call("GET", `${KEYS}/${d.body.id}`)).body.expires_at).toBe(expiry);
  });

  test("two concurrent rotations of one key: one 201, the other 409; one replacement exists", async () => {
    for (const grace of [0, 300]) {
      const h = await createHarness();
      const old = await newKey(h, { name: `race ${grace}` });
      const keysBefore = (await countKeys(h)).n;
      const results = await Promise.all([rotate(h, old.id, grace), rotate(h, old.id, grace)]);
      expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
      const loser = results.find((r) => r.status === 409) as CallResult;
      const winner = results.find((r) => r.status === 201) as CallResult;
      expect(errorOf(loser)).toMatchObject({ message: ALREADY_ROTATED, internal_error: "version_conflict" });
      expect(errorOf(loser).details).toEqual({ replaced_by: winner.body.id });
      expect((await countKeys(h)).n).toBe(keysBefore + 1);
      const audited = (await h.context.db.get(
        "SELECT count(*) AS n FROM audit_logs WHERE action = 'secret.rotated' AND resource_id = ?",
        old.id,
      )) as { n: number };
      expect(audited.n).toBe(1);
    }
  });

  test("the secret.rotated audit row names the replacement", async () => {
    const h = await createHarness();
    const old = await newKey(h);
    const res = await rotate(h, old.id, 60);
    const row = (await h.context.db.get("SELECT changes FROM audit_logs WHERE action = 'secret.rotated'")) as {
      changes: string;
    };
    expect(JSON.parse(row.changes).after.replaced_by).toBe(res.body.id);
  });
});

describe("keys of archived accounts", () => {
  test("rotating a key of an archived service account: 400 invalid_operation, nothing changes", async () => {
    const h = await createHarness();
    const { accountId, key } = await serviceAccountWithKey(h);
    expect((await h.call("DELETE", `/v1/users/${accountId}`)).status).toBe(204);
    const keysBefore = (await countKeys(h)).n;
    const row = await h.context.db.get("SELECT * FROM secrets WHERE id = ?", key.id);
    expectError(await rotate(h, key.id, 0), 400, ARCHIVED_OWNER, "invalid_operation");
    expectError(await rotate(h, key.id, 3600), 400, ARCHIVED_OWNER, "invalid_operation");
    expect((await countKeys(h)).n).toBe(keysBefore);
    expect(await h.context.db.get("SELECT * FROM secrets WHERE id = ?", key.id)).toEqual(row);
  });

  test("GET and list show a key of an archived account as archived, never published", async () => {
    const h = await createHarness();
    const { accountId, key } = await serviceAccountWithKey(h);
    const own = await newKey(h, { name: "mine" });
    expect((await h.call("GET", `${KEYS}/${key.id}`)).body.status).toBe("published");
    expect((await h.call("DELETE", `/v1/users/${accountId}`)).status).toBe(204);

    const one = await h.call("GET", `${KEYS}/${key.id}`);
    expect(one.status).toBe(200);
    expect(one.body.status).toBe("archived");
    const ids = async (query: string) =>
      ((await h.call("GET", `${KEYS}${query}`)).body.items as { id: string; status: string }[]).map(
        (i) => `${i.id}:${i.status}`,
      );
    expect(await ids("")).toEqual([`${own.id}:published`]);
    expect(await ids("?status=published")).toEqual([`${own.id}:published`]);
    expect(await ids("?status=archived")).toEqual([`${key.id}:archived`]);
    // The key itself fails as SPEC §1 says for a key of an archived account.
    const me = await h.call("GET", "/v1/users/me", { key: key.api_key });
    expect(me.status).toBe(401);
    expect(errorOf(me).message).toBe("Invalid API key");
  });

  test("a key of an archived account that was revoked first still shows deleted", async () => {
    const h = await createHarness();
    const { accountId, key } = await serviceAccountWithKey(h);
    expect((await h.call("DELETE", `${KEYS}/${key.id}`)).status).toBe(204);
    expect((await h.call("DELETE", `/v1/users/${accountId}`)).status).toBe(204);
    expect((await h.call("GET", `${KEYS}/${key.id}`)).body.status).toBe("deleted");
    const deleted = await h.call("GET", `${KEYS}?status=deleted`);
    expect(deleted.body.items.map((i: { id: string }) => i.id)).toEqual([key.id]);
  });
});

describe("a store made before rotations were recorded", () => {
  test("a key replaced before the upgrade is known as rotated: 409", async () => {
    const config = structuredClone(DEFAULT_CONFIG);
    const db = openDatabase(MEMORY_DATABASE);
    // The schema as it was before migration 006, with one rotation made then.
    migrate(
      db,
      MIGRATIONS.filter((m) => m.version < 6),
    );
    const store = new SqliteStore(db);
    await ensureConfigKeyPrincipals(store, config);
    const env = (await store.get(
      "SELECT id, type FROM environments WHERE tenant_id = ? AND is_default = 1",
      DEFAULT_TENANT,
    )) as { id: string; type: "development" };
    const issue = (name: string) =>
      issueKey(store, {
        tenantId: DEFAULT_TENANT,
        environmentId: env.id,
        environmentType: env.type,
        userId: DEFAULT_TENANT,
        createdBy: DEFAULT_TENANT,
        name,
        type: "private_key",
        roles: ["super_admin"],
      });
    const old = await issue("old");
    const replacement = await issue("old");
    const untouched = await issue("other");
    await recordAudit(
      store,
      {
        tenantId: DEFAULT_TENANT,
        environmentId: env.id,
        actor: { type: "system", id: null, name: "test" },
        credentialId: null,
        requestId: null,
        ip: null,
        userAgent: null,
      },
      {
        action: AUDIT.secret.created,
        resourceId: replacement.secret.id,
        after: { id: replacement.secret.id, rotated_from: old.secret.id },
      },
    );

    const tollgate = await createTollgate({ config, store, logger: createLogger("silent") });
    try {
      const call = (path: string) => callApp(tollgate.app, "POST", path, { body: { grace_period_seconds: 0 } });
      const again = await call(`${KEYS}/${old.secret.id}/rotate`);
      expect(again.status).toBe(409);
      expect(errorOf(again).details).toEqual({ replaced_by: replacement.secret.id });
      expect((await call(`${KEYS}/${replacement.secret.id}/rotate`)).status).toBe(201);
      expect((await call(`${KEYS}/${untouched.secret.id}/rotate`)).status).toBe(201);
    } finally {
      await tollgate.close();
    }
  });
});
