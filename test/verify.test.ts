// SPEC §13: POST /v1/keys/verify. A service holding a key_verifier key asks whether a key its
// own caller presented is good, and gets Unkey's codes; a key of another tenant or environment
// is NOT_FOUND, and a key revoked a moment ago is never VALID.
import { describe, expect, test } from "bun:test";
import { createTwoTenantHarness, errorOf, type Harness, OTHER_TENANT_KEY } from "./support/harness";
import { environmentOf, issueTestKey } from "./support/keys";

const ROLES = {
  orders_reader: { name: "Orders Reader", description: "Reads orders", permissions: { orders: ["read"] } },
  orders_admin: { name: "Orders Admin", permissions: { orders: ["*"], refunds: ["write"] } },
};

async function harness(): Promise<Harness> {
  return await createTwoTenantHarness({ rbac: { roles: ROLES } } as never);
}

/** A service account with `roles` and a key for it, made through the API with `by` (the development key by default). */
async function accountKey(h: Harness, roles: string[], options: { by?: string; environment?: string } = {}) {
  const headers = options.environment ? { "x-environment-id": options.environment } : undefined;
  const account = await h.call("POST", "/v1/users", {
    key: options.by,
    headers,
    body: { type: "service_account", name: `holds ${roles.join("+")}`, roles },
  });
  expect(account.status).toBe(201);
  const key = await h.call("POST", "/v1/secrets/api/keys", {
    key: options.by,
    headers,
    body: { name: "k", service_account_id: account.body.id },
  });
  expect(key.status).toBe(201);
  return { accountId: account.body.id as string, keyId: key.body.id as string, key: key.body.api_key as string };
}

function verify(h: Harness, verifier: string, body: unknown) {
  return h.call("POST", "/v1/keys/verify", { key: verifier, body });
}

describe("POST /v1/keys/verify: the answers", () => {
  test("a valid key: VALID with who it is, its roles and permissions; asking for permissions it holds is still VALID", async () => {
    const h = await harness();
    const verifier = (await accountKey(h, ["key_verifier"])).key;
    const caller = await accountKey(h, ["orders_reader"]);
    const res = await verify(h, verifier, { key: caller.key });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      valid: true,
      code: "VALID",
      key_id: caller.keyId,
      account: { id: caller.accountId, type: "service_account", name: "holds orders_reader" },
      tenant_id: "00000000-0000-0000-0000-000000000000",
      environment_id: (await environmentOf(h, "development")).id,
      roles: ["orders_reader"],
      permissions: ["orders:read"],
      expires_at: null,
      ratelimits: [],
      credits: null,
    });
    const asked = await verify(h, verifier, { key: caller.key, permissions: ["orders:read"] });
    expect(asked.body).toMatchObject({ valid: true, code: "VALID" });
  });

  test("a permission the key lacks: INSUFFICIENT_PERMISSIONS, with the key described; wildcards of a role count", async () => {
    const h = await harness();
    const verifier = (await accountKey(h, ["key_verifier"])).key;
    const reader = (await accountKey(h, ["orders_reader"])).key;
    const refused = await verify(h, verifier, { key: reader, permissions: ["orders:read", "orders:write"] });
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ valid: false, code: "INSUFFICIENT_PERMISSIONS", roles: ["orders_reader"] });
    const admin = (await accountKey(h, ["orders_admin"])).key;
    const wild = await verify(h, verifier, { key: admin, permissions: ["orders:delete", "refunds:write"] });
    expect(wild.body).toMatchObject({ valid: true, permissions: ["orders:*", "refunds:write"] });
    const other = await verify(h, verifier, { key: admin, permissions: ["refunds:read"] });
    expect(other.body.code).toBe("INSUFFICIENT_PERMISSIONS");
    // A super_admin key holds every permission, the operator's too.
    const root = (await accountKey(h, ["super_admin"])).key;
    expect((await verify(h, verifier, { key: root, permissions: ["anything:at-all"] })).body.code).toBe("VALID");
  });

  test("expired: EXPIRED; an archived key: DISABLED; both describe the key", async () => {
    const h = await harness();
    const verifier = (await accountKey(h, ["key_verifier"])).key;
    const expired = await issueTestKey(h, { roles: ["orders_reader"], expiresAt: "2020-01-01T00:00:00.000Z" });
    expect((await verify(h, verifier, { key: expired.apiKey })).body).toMatchObject({
      valid: false,
      code: "EXPIRED",
      key_id: expired.secret.id,
      expires_at: "2020-01-01T00:00:00.000Z",
    });
    const disabled = await issueTestKey(h, { roles: ["orders_reader"] });
    await h.context.db.run("UPDATE secrets SET status = 'archived' WHERE id = ?", disabled.secret.id);
    h.context.keyCache.clear();
    expect((await verify(h, verifier, { key: disabled.apiKey })).body).toMatchObject({
      valid: false,
      code: "DISABLED",
    });
  });

  test("NOT_FOUND, with nothing else said: unknown, malformed, revoked, archived account, config key, another tenant, another environment", async () => {
    const h = await harness();
    const verifier = (await accountKey(h, ["key_verifier"])).key;
    const revoked = await accountKey(h, ["orders_reader"]);
    expect((await h.call("DELETE", `/v1/secrets/api/keys/${revoked.keyId}`)).status).toBe(204);
    const archived = await accountKey(h, ["orders_reader"]);
    expect((await h.call("DELETE", `/v1/users/${archived.accountId}`)).status).toBe(204);
    const otherTenant = (await accountKey(h, ["orders_reader"], { by: OTHER_TENANT_KEY })).key;
    const production = (
      await accountKey(h, ["orders_reader"], { environment: (await environmentOf(h, "production")).id })
    ).key;
    const cases = {
      unknown: `sk_test_${"ab".repeat(32)}`,
      malformed: "not a key at all",
      revoked: revoked.key,
      "archived account": archived.key,
      "config key": OTHER_TENANT_KEY,
      "another tenant's valid key": otherTenant,
      "a production key, asked from development": production,
    };
    for (const [name, key] of Object.entries(cases)) {
      const res = await verify(h, verifier, { key, permissions: ["orders:read"] });
      expect({ name, status: res.status, body: res.body }).toEqual({
        name,
        status: 200,
        body: { valid: false, code: "NOT_FOUND" },
      });
    }
  });

  test("a publishable key: VALID when nothing is asked, INSUFFICIENT_PERMISSIONS for any permission", async () => {
    const h = await harness();
    const verifier = (await accountKey(h, ["key_verifier"])).key;
    const pk = await h.call("POST", "/v1/secrets/api/keys", { body: { name: "pk", type: "publishable_key" } });
    expect((await verify(h, verifier, { key: pk.body.api_key })).body.code).toBe("VALID");
    expect((await verify(h, verifier, { key: pk.body.api_key, permissions: ["orders:read"] })).body.code).toBe(
      "INSUFFICIENT_PERMISSIONS",
    );
  });
});

describe("POST /v1/keys/verify: who may ask, and what", () => {
  test("secret:verify is required: no key 401, an event_reader key 403; a key_verifier key can do nothing else", async () => {
    const h = await harness();
    const verifier = (await accountKey(h, ["key_verifier"])).key;
    const reader = (await accountKey(h, ["event_reader"])).key;
    const body = { key: verifier };
    expect((await h.call("POST", "/v1/keys/verify", { key: null, body })).status).toBe(401);
    const refused = await h.call("POST", "/v1/keys/verify", { key: reader, body });
    expect(refused.status).toBe(403);
    expect(errorOf(refused).details).toEqual({ required: "secret:verify", roles: ["event_reader"] });
    for (const [method, path] of [
      ["GET", "/v1/secrets/api/keys"],
      ["GET", "/v1/events"],
      ["GET", "/v1/customers"],
      ["GET", "/v1/audit-logs"],
    ] as const) {
      expect({ path, status: (await h.call(method, path, { key: verifier })).status }).toEqual({ path, status: 403 });
    }
  });

  test("bad bodies are 400 and verify nothing: no key, an empty key, an unknown field, a permission not entity:action", async () => {
    const h = await harness();
    const verifier = (await accountKey(h, ["key_verifier"])).key;
    for (const body of [
      {},
      { key: "" },
      { key: "x", cost: 1 },
      { key: "x", permissions: ["orders"] },
      { key: "x", permissions: ["Orders:Read"] },
    ]) {
      const res = await verify(h, verifier, body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
  });

  test("a key revoked through the API is NOT_FOUND on the very next verification, never VALID", async () => {
    const h = await harness();
    const verifier = (await accountKey(h, ["key_verifier"])).key;
    const caller = await accountKey(h, ["orders_reader"]);
    expect((await verify(h, verifier, { key: caller.key })).body.code).toBe("VALID");
    expect((await h.call("DELETE", `/v1/secrets/api/keys/${caller.keyId}`)).status).toBe(204);
    expect((await verify(h, verifier, { key: caller.key })).body).toEqual({ valid: false, code: "NOT_FOUND" });
  });

  test("a VALID verification records the key's use (last_used_at)", async () => {
    const h = await harness();
    const verifier = (await accountKey(h, ["key_verifier"])).key;
    const caller = await accountKey(h, ["orders_reader"]);
    expect((await verify(h, verifier, { key: caller.key })).body.code).toBe("VALID");
    await h.context.lastUsed.flush();
    const key = await h.call("GET", `/v1/secrets/api/keys/${caller.keyId}`);
    expect(key.body.last_used_at).not.toBeNull();
  });
});
