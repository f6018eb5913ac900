// A second tenant's credential sees nothing of the first: 404 on every id, absent from every list.
import { describe, expect, test } from "bun:test";
import {
  createHarness,
  createTwoTenantHarness,
  errorOf,
  type Harness,
  OTHER_TENANT,
  OTHER_TENANT_KEY,
} from "./support/harness";
import { environmentOf } from "./support/keys";

/** Everything the first tenant owns that has an id. */
async function firstTenantResources(h: Harness) {
  const account = await h.call("POST", "/v1/users", {
    body: { type: "service_account", name: "sa", roles: ["event_reader"] },
  });
  const key = await h.call("POST", "/v1/secrets/api/keys", {
    body: { name: "k", service_account_id: account.body.id },
  });
  const env = await h.call("POST", "/v1/environments", { body: { name: "Staging", type: "development" } });
  for (const res of [account, key, env]) expect(res.status).toBe(201);
  return { userId: account.body.id as string, keyId: key.body.id as string, envId: env.body.id as string };
}

describe("tenant isolation", () => {
  test("every id of the first tenant is 404 to the second, for reads and writes alike", async () => {
    const h = await createTwoTenantHarness();
    const { userId, keyId, envId } = await firstTenantResources(h);
    const attempts: [string, string, unknown?][] = [
      ["GET", `/v1/users/${userId}`],
      ["PUT", `/v1/users/${userId}`, { name: "taken over" }],
      ["DELETE", `/v1/users/${userId}`],
      ["GET", `/v1/secrets/api/keys/${keyId}`],
      ["DELETE", `/v1/secrets/api/keys/${keyId}`],
      ["POST", `/v1/secrets/api/keys/${keyId}/rotate`, {}],
      ["GET", `/v1/environments/${envId}`],
      ["PUT", `/v1/environments/${envId}`, { name: "taken over" }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await h.call(method, path, { key: OTHER_TENANT_KEY, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      expect(errorOf(res).internal_error).toBe("not_found");
    }
    const keyForForeignAccount = await h.call("POST", "/v1/secrets/api/keys", {
      key: OTHER_TENANT_KEY,
      body: { name: "x", service_account_id: userId },
    });
    expect(keyForForeignAccount.status).toBe(404);
    expect(errorOf(keyForForeignAccount).message).toBe("Service account not found");

    // Nothing was changed by any of it.
    expect((await h.call("GET", `/v1/users/${userId}`)).body).toMatchObject({ name: "sa", status: "published" });
    expect((await h.call("GET", `/v1/secrets/api/keys/${keyId}`)).body.status).toBe("published");
    expect((await h.call("GET", `/v1/environments/${envId}`)).body.name).toBe("Staging");
  });

  test("the second tenant's lists never show the first tenant's rows", async () => {
    const h = await createTwoTenantHarness();
    const { userId, keyId, envId } = await firstTenantResources(h);
    const lists = [
      await h.call("POST", "/v1/users/search", { key: OTHER_TENANT_KEY, body: {} }),
      await h.call("GET", "/v1/secrets/api/keys?status=published", { key: OTHER_TENANT_KEY }),
      await h.call("GET", "/v1/environments", { key: OTHER_TENANT_KEY }),
      await h.call("GET", "/v1/audit-logs", { key: OTHER_TENANT_KEY }),
    ];
    for (const res of lists) {
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body.items)).toBe(true);
      for (const id of [userId, keyId, envId]) expect(res.text).not.toContain(id);
    }
    // The first tenant's own lists do hold them: the absence above is isolation, not emptiness.
    const own = await h.call("GET", "/v1/secrets/api/keys?status=published");
    expect(own.status).toBe(200);
    expect(own.text).toContain(keyId);
    const envs = lists[2]?.body.items.map((e: { name: string }) => e.name).sort();
    expect(envs).toEqual(["Development", "Production"]);
  });

  test("the first tenant's environment id is not a way in: 403", async () => {
    const h = await createTwoTenantHarness();
    const res = await h.call("GET", "/v1/users/me", {
      key: OTHER_TENANT_KEY,
      headers: { "X-Environment-ID": (await environmentOf(h, "development")).id },
    });
    expect(res.status).toBe(403);
    expect(errorOf(res).message).toBe("Invalid or inaccessible environment");
  });
});

describe("a read checks the tenant, not only the environment", () => {
  // Environment ids are unique across tenants, so the environment alone would find the right
  // rows today; the tenant condition is defence in depth. A row whose tenant and environment
  // disagree (planted by SQL: no API makes one) shows whether it is there.
  test("a customer of the first tenant, filed under the second tenant's environment: 404 to the second", async () => {
    const h = await createTwoTenantHarness();
    const created = await h.call("POST", "/v1/customers", { body: { external_id: "planted", name: "Planted" } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const theirs = (await environmentOf(h, "development", OTHER_TENANT)).id;
    await h.context.db.run("UPDATE customers SET environment_id = ? WHERE id = ?", theirs, id);
    const asThem = { key: OTHER_TENANT_KEY, headers: { "X-Environment-ID": theirs } };

    for (const [method, path, body] of [
      ["GET", `/v1/customers/${id}`],
      ["GET", "/v1/customers/external/planted"],
      ["PUT", `/v1/customers/${id}`, { name: "taken over" }],
      ["DELETE", `/v1/customers/${id}`],
    ] as const) {
      const res = await h.call(method, path, { ...asThem, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      expect(errorOf(res).internal_error).toBe("not_found");
    }
    const list = await h.call("GET", "/v1/customers", asThem);
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(id);
    const row = await h.context.db.get<{ name: string; status: string }>(
      "SELECT name, status FROM customers WHERE id = ?",
      id,
    );
    expect(row).toEqual({ name: "Planted", status: "published" });
  });
});

describe("environment isolation", () => {
  test("a key made in one environment is invisible from the other", async () => {
    const h = await createHarness();
    const prod = (await environmentOf(h, "production")).id;
    const key = await h.call("POST", "/v1/secrets/api/keys", { body: { name: "dev-only" } });
    expect(key.status).toBe(201);
    const fromProd = await h.call("GET", `/v1/secrets/api/keys/${key.body.id}`, {
      headers: { "X-Environment-ID": prod },
    });
    expect(fromProd.status).toBe(404);
    const list = await h.call("GET", "/v1/secrets/api/keys", { headers: { "X-Environment-ID": prod } });
    expect(list.status).toBe(200);
    expect(list.body.items.map((k: { id: string }) => k.id)).not.toContain(key.body.id);
    // The same list from its own environment does show it: the absence above means something.
    const own = await h.call("GET", "/v1/secrets/api/keys");
    expect(own.status).toBe(200);
    expect(own.body.items.map((k: { id: string }) => k.id)).toContain(key.body.id);
  });
});
