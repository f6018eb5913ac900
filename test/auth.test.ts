import { describe, expect, setSystemTime, spyOn, test } from "bun:test";
import * as secrets from "../src/modules/secrets/store";
import { generateApiKey } from "../src/modules/auth/key-format";
import { sha256Hex } from "../src/modules/auth/hash";
import {
  createHarness,
  createTwoTenantHarness,
  DEFAULT_TENANT,
  DEV_KEY,
  errorOf,
  OTHER_TENANT,
  errorBody,
} from "./support/harness";
import { environmentOf, issueTestKey } from "./support/keys";

const ME = "/v1/users/me";

describe("X-API-Key outcomes (SPEC §1)", () => {
  test("no header: 401 API key required, exactly the documented body", async () => {
    const h = await createHarness();
    const res = await h.call("GET", ME, { key: null });
    expect(res.status).toBe(401);
    expect(res.body).toEqual(errorBody(401, "permission_denied", "API key required"));
  });

  test("empty or blank header: 401 API key required", async () => {
    const h = await createHarness();
    for (const key of ["", "   "]) {
      const res = await h.call("GET", ME, { key });
      expect(res.status).toBe(401);
      expect(errorOf(res).message).toBe("API key required");
    }
  });

  test("the default development key authenticates as the default user", async () => {
    const h = await createHarness();
    const res = await h.call("GET", ME);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(DEFAULT_TENANT);
    expect(res.body.tenant.id).toBe(DEFAULT_TENANT);
    expect(res.body.credential.kind).toBe("config_key");
    expect(res.body.credential.roles).toEqual(["super_admin"]);
    expect(res.body.environment_id).toBe((await environmentOf(h, "development")).id);
  });

  test("header name is matched in any letter case, and is configurable", async () => {
    const h = await createHarness();
    for (const name of ["X-API-KEY", "x-api-key", "X-Api-Key"]) {
      const res = await h.call("GET", ME, { key: null, headers: { [name]: DEV_KEY } });
      expect(res.status).toBe(200);
    }
    const custom = await createHarness({ auth: { api_key: { header: "X-Tollgate-Key" } } });
    expect((await custom.call("GET", ME, { key: null, headers: { "x-tollgate-key": DEV_KEY } })).status).toBe(200);
    expect((await custom.call("GET", ME)).status).toBe(401);
  });

  test("unknown, malformed and bad-checksum keys: 401 Invalid API key", async () => {
    const h = await createHarness();
    const real = (await issueTestKey(h)).apiKey;
    const flipped = real.slice(0, 20) + (real[20] === "a" ? "b" : "a") + real.slice(21);
    for (const key of [
      "nope",
      DEV_KEY.slice(0, -1),
      generateApiKey("sk", "test"),
      flipped,
      `${real}x`,
      real.toUpperCase(),
    ]) {
      const res = await h.call("GET", ME, { key });
      expect(res.status).toBe(401);
      expect(errorOf(res)).toEqual({ message: "Invalid API key", internal_error: "permission_denied" });
    }
  });

  test("a key with a bad checksum never reaches the store", async () => {
    const h = await createHarness();
    const real = (await issueTestKey(h)).apiKey;
    const badChecksum = real.slice(0, -1) + (real.endsWith("0") ? "1" : "0");
    const lookups = spyOn(secrets, "findVerifiableKey");
    try {
      expect((await h.call("GET", ME, { key: badChecksum })).status).toBe(401);
      expect(lookups).not.toHaveBeenCalled();
      expect((await h.call("GET", ME, { key: real })).status).toBe(200);
      expect(lookups).toHaveBeenCalledTimes(1);
    } finally {
      lookups.mockRestore();
    }
  });

  test("a stored key authenticates as its owner, pinned to its environment", async () => {
    const h = await createHarness();
    const { apiKey, secret } = await issueTestKey(h, { environment: "production", roles: ["event_reader"] });
    expect(apiKey).toMatch(/^sk_live_[0-9a-f]{64}$/);
    const res = await h.call("GET", ME, { key: apiKey });
    expect(res.status).toBe(200);
    expect(res.body.environment_id).toBe(secret.environment_id);
    expect(res.body.credential).toEqual({
      kind: "api_key",
      id: secret.id,
      type: "private_key",
      roles: ["event_reader"],
      expires_at: null,
    });
  });

  test("expired key: 401 API key has expired", async () => {
    const h = await createHarness();
    const { apiKey } = await issueTestKey(h, { expiresAt: new Date(Date.now() - 1000).toISOString() });
    const res = await h.call("GET", ME, { key: apiKey });
    expect(res.status).toBe(401);
    expect(errorOf(res).message).toBe("API key has expired");
  });

  test("a key that expires while cached stops working at its expiry", async () => {
    const h = await createHarness();
    const expiresAt = Date.now() + 60_000;
    const { apiKey } = await issueTestKey(h, { expiresAt: new Date(expiresAt).toISOString() });
    expect((await h.call("GET", ME, { key: apiKey })).status).toBe(200);
    try {
      setSystemTime(new Date(expiresAt - 1));
      expect((await h.call("GET", ME, { key: apiKey })).status).toBe(200);
      setSystemTime(new Date(expiresAt));
      const res = await h.call("GET", ME, { key: apiKey });
      expect(res.status).toBe(401);
      expect(errorOf(res).message).toBe("API key has expired");
    } finally {
      setSystemTime();
    }
  });

  test("config key with is_active false: 403 API key is inactive", async () => {
    const key = "an-operator-key-that-was-switched-off";
    const h = await createHarness({
      auth: {
        api_key: {
          keys: {
            [sha256Hex(key)]: { tenant_id: DEFAULT_TENANT, user_id: DEFAULT_TENANT, name: "off", is_active: false },
          },
        },
      },
    });
    const res = await h.call("GET", ME, { key });
    expect(res.status).toBe(403);
    expect(errorOf(res)).toEqual({ message: "API key is inactive", internal_error: "permission_denied" });
  });

  test("stored key with status archived: 403 API key is inactive", async () => {
    const h = await createHarness();
    const { apiKey, secret } = await issueTestKey(h);
    await h.context.db.run("UPDATE secrets SET status = 'archived' WHERE id = ?", secret.id);
    const res = await h.call("GET", ME, { key: apiKey });
    expect(res.status).toBe(403);
    expect(errorOf(res).message).toBe("API key is inactive");
  });

  test("a deleted key is refused once evicted, and the lookup cache never resurrects it", async () => {
    const h = await createHarness();
    const { apiKey, secret } = await issueTestKey(h);
    expect((await h.call("GET", ME, { key: apiKey })).status).toBe(200);
    await h.context.db.run("UPDATE secrets SET status = 'deleted' WHERE id = ?", secret.id);
    h.context.keyCache.invalidate([secret.key_hash]);
    const res = await h.call("GET", ME, { key: apiKey });
    expect(res.status).toBe(401);
    expect(errorOf(res).message).toBe("Invalid API key");
  });

  test("config keys may be any string and work without a checksum", async () => {
    const key = "plain operator key with spaces";
    const h = await createHarness({
      auth: {
        api_key: {
          keys: { [sha256Hex(key)]: { tenant_id: "tenant-b", user_id: "ops", name: "ops", is_active: true } },
        },
      },
    });
    const res = await h.call("GET", ME, { key });
    expect(res.status).toBe(200);
    expect(res.body.tenant.id).toBe("tenant-b");
    expect(res.body.id).toBe("ops");
    expect((await h.call("GET", ME)).status).toBe(401);
  });
});

describe("last_used_at", () => {
  test("is recorded off the request path, written on flush, at most once a minute per key", async () => {
    const h = await createHarness();
    const { apiKey, secret } = await issueTestKey(h);
    const lastUsed = async () =>
      (await h.context.db.value("SELECT last_used_at FROM secrets WHERE id = ?", secret.id)) as string | null;
    expect((await h.call("GET", ME, { key: apiKey })).status).toBe(200);
    expect(await lastUsed()).toBeNull();
    await h.context.lastUsed.flush();
    const first = await lastUsed();
    expect(first).not.toBeNull();
    expect(Date.now() - Date.parse(first as string)).toBeLessThan(5_000);
    await Bun.sleep(5);
    expect((await h.call("GET", ME, { key: apiKey })).status).toBe(200);
    await h.context.lastUsed.flush();
    expect(await lastUsed()).toBe(first);
  });

  test("is flushed when Tollgate closes", async () => {
    const h = await createHarness();
    const { apiKey, secret } = await issueTestKey(h);
    await h.call("GET", ME, { key: apiKey });
    const spy = spyOn(secrets, "recordKeysUsed");
    try {
      await h.context.lastUsed.close();
      expect(spy).toHaveBeenCalledTimes(1);
      expect([...(spy.mock.calls[0]?.[1] as Map<string, string>).keys()]).toEqual([secret.id]);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("environment context (SPEC §1)", () => {
  test("config keys pick the environment with X-Environment-ID, default otherwise", async () => {
    const h = await createHarness();
    const prod = await environmentOf(h, "production");
    const res = await h.call("GET", ME, { headers: { "X-Environment-ID": prod.id } });
    expect(res.status).toBe(200);
    expect(res.body.environment_id).toBe(prod.id);
  });

  test("an environment outside the caller's tenant: 403 Invalid or inaccessible environment", async () => {
    const h = await createTwoTenantHarness();
    const foreign = await environmentOf(h, "development", OTHER_TENANT);
    for (const envId of [foreign.id, "env_does_not_exist"]) {
      const res = await h.call("GET", ME, { headers: { "X-Environment-ID": envId } });
      expect(res.status).toBe(403);
      expect(errorOf(res)).toEqual({
        message: "Invalid or inaccessible environment",
        internal_error: "permission_denied",
      });
    }
  });

  test("a stored key cannot be moved to another environment", async () => {
    const h = await createHarness();
    const { apiKey, secret } = await issueTestKey(h, { environment: "development" });
    const prod = await environmentOf(h, "production");
    const moved = await h.call("GET", ME, { key: apiKey, headers: { "X-Environment-ID": prod.id } });
    expect(moved.status).toBe(403);
    expect(errorOf(moved).message).toBe("Invalid or inaccessible environment");
    const same = await h.call("GET", ME, { key: apiKey, headers: { "X-Environment-ID": secret.environment_id } });
    expect(same.status).toBe(200);
  });
});

describe("start-up bootstrap", () => {
  test("creates each config key's tenant, user and two environments, idempotently", async () => {
    const h = await createHarness();
    const { db } = h.context;
    const count = async () =>
      await db.get(
        "SELECT (SELECT count(*) FROM tenants) t, (SELECT count(*) FROM users) u, (SELECT count(*) FROM environments) e",
      );
    expect(await count()).toEqual({ t: 1, u: 1, e: 2 });
    const { ensureConfigKeyPrincipals } = await import("../src/modules/users/bootstrap");
    await ensureConfigKeyPrincipals(db, h.context.config);
    expect(await count()).toEqual({ t: 1, u: 1, e: 2 });
    const envs = await db.all("SELECT name, type, is_default FROM environments ORDER BY name");
    expect(envs).toEqual([
      { name: "Development", type: "development", is_default: 1 },
      { name: "Production", type: "production", is_default: 0 },
    ]);
  });
});

describe("the checksum gate, seen from the store's side (a second witness)", () => {
  test("with the keys table gone, a bad-checksum key is still a plain 401; a well-formed one reaches the store", async () => {
    const h = await createHarness();
    const real = (await issueTestKey(h)).apiKey;
    const badChecksum = real.slice(0, -1) + (real.endsWith("0") ? "1" : "0");
    await h.context.db.run("ALTER TABLE secrets RENAME TO secrets_elsewhere");
    const refused = await h.call("GET", ME, { key: badChecksum });
    expect(refused.status).toBe(401);
    expect(errorOf(refused).message).toBe("Invalid API key");
    // A key that passes the checksum is looked up, and the missing table shows.
    const unknownButWellFormed = generateApiKey("sk", "test");
    expect((await h.call("GET", ME, { key: unknownButWellFormed })).status).toBeGreaterThanOrEqual(500);
  });
});
