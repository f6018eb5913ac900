// The seed documents (../shared/seeds/) as users will follow them, against the real routes.
import { describe, expect, test } from "bun:test";
import { createHarness, DEV_KEY, errorOf, type Harness, errorBody } from "./support/harness";

async function serviceAccount(h: Harness, roles: string[], name = "Event Ingestion Worker") {
  const res = await h.call("POST", "/v1/users", { body: { type: "service_account", name, roles } });
  expect(res.status).toBe(201);
  return res.body as { id: string; roles: string[] };
}

async function keyFor(h: Harness, serviceAccountId: string) {
  const res = await h.call("POST", "/v1/secrets/api/keys", {
    body: { name: "Event Service Production Key", type: "private_key", service_account_id: serviceAccountId },
  });
  expect(res.status).toBe(201);
  return res.body as { id: string; api_key: string; roles: string[] };
}

describe("service accounts (seed 002)", () => {
  test("create one with the documented body: 201 with id, type and roles", async () => {
    const h = await createHarness();
    const res = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "Event Ingestion Worker", roles: ["event_ingestor"] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      type: "service_account",
      roles: ["event_ingestor"],
      name: "Event Ingestion Worker",
    });
    expect(res.body.id).toMatch(/^usr_[0-9A-Z]{26}$/);
    expect(Date.parse(res.body.created_at)).not.toBeNaN();
  });

  test("the troubleshooting body without a name also works", async () => {
    const h = await createHarness();
    const res = await h.call("POST", "/v1/users", { body: { type: "service_account", roles: ["event_ingestor"] } });
    expect(res.status).toBe(201);
  });

  test("the documented errors: no roles, empty roles, an invalid role", async () => {
    const h = await createHarness();
    for (const body of [{ type: "service_account" }, { type: "service_account", roles: [] }]) {
      const res = await h.call("POST", "/v1/users", { body });
      expect(res.status).toBe(400);
      expect(errorOf(res).message).toBe("Service accounts must have at least one role assigned");
    }
    const res = await h.call("POST", "/v1/users", { body: { type: "service_account", roles: ["custom_role"] } });
    expect(res.status).toBe(400);
    expect(errorOf(res).message).toBe("Invalid role: custom_role");
  });

  test("rename changes the name and nothing else", async () => {
    const h = await createHarness();
    const account = await serviceAccount(h, ["event_ingestor"]);
    const before = (await h.call("GET", `/v1/users/${account.id}`)).body;
    const res = await h.call("PUT", `/v1/users/${account.id}`, { body: { name: "Event Ingestion Worker (prod)" } });
    expect(res.status).toBe(200);
    const after = (await h.call("GET", `/v1/users/${account.id}`)).body;
    expect(after.name).toBe("Event Ingestion Worker (prod)");
    const { name: _n1, updated_at: _u1, ...restBefore } = before;
    const { name: _n2, updated_at: _u2, ...restAfter } = after;
    expect(restAfter).toEqual(restBefore);
  });

  test("check its roles with GET /v1/users/{id}", async () => {
    const h = await createHarness();
    const account = await serviceAccount(h, ["event_ingestor", "event_reader"]);
    const res = await h.call("GET", `/v1/users/${account.id}`);
    expect(res.status).toBe(200);
    expect(res.body.roles.sort()).toEqual(["event_ingestor", "event_reader"]);
  });

  test("delete: 204, and the account's keys get 401 on the very next request", async () => {
    const h = await createHarness();
    const account = await serviceAccount(h, ["event_ingestor"]);
    const { api_key } = await keyFor(h, account.id);
    expect((await h.call("GET", "/v1/users/me", { key: api_key })).status).toBe(200);
    expect((await h.call("DELETE", `/v1/users/${account.id}`)).status).toBe(204);
    const next = await h.call("GET", "/v1/users/me", { key: api_key });
    expect(next.status).toBe(401);
    expect(errorOf(next).message).toBe("Invalid API key");
    const kept = await h.call("GET", `/v1/users/${account.id}`);
    expect(kept.body.status).toBe("archived");
  });
});

describe("API keys (seeds 000, 001, 004)", () => {
  test("a key for your own account, with the documented body", async () => {
    const h = await createHarness();
    const res = await h.call("POST", "/v1/secrets/api/keys", {
      headers: { "x-api-key": DEV_KEY },
      body: { expires_at: "2099-12-31T00:00:00Z", name: "Production API Key", type: "private_key" },
    });
    expect(res.status).toBe(201);
    expect(res.body.api_key).toMatch(/^sk_test_[0-9a-f]{64}$/);
    expect(res.body.secret.expires_at).toBe("2099-12-31T00:00:00.000Z");
    expect(res.body.roles).toEqual(["super_admin"]);
    expect((await h.call("GET", "/v1/users/me", { key: res.body.api_key })).status).toBe(200);
  });

  test("name and description only (seed 001): a private key", async () => {
    const h = await createHarness();
    const res = await h.call("POST", "/v1/secrets/api/keys", {
      body: { name: "Production API Key", description: "Key for production integrations" },
    });
    expect(res.status).toBe(201);
    expect(res.body.secret).toMatchObject({ type: "private_key", description: "Key for production integrations" });
  });

  test("a key for a service account inherits its roles, shown once and never again", async () => {
    const h = await createHarness();
    const account = await serviceAccount(h, ["event_ingestor"]);
    const key = await keyFor(h, account.id);
    expect(key.roles).toEqual(["event_ingestor"]);
    const list = await h.call("GET", "/v1/secrets/api/keys");
    const one = await h.call("GET", `/v1/secrets/api/keys/${key.id}`);
    expect(list.status).toBe(200);
    expect(one.status).toBe(200);
    expect(list.body.items.map((k: { id: string }) => k.id)).toContain(key.id);
    expect(list.text).not.toContain(key.api_key);
    expect(one.text).not.toContain(key.api_key);
    expect(one.body.roles).toEqual(["event_ingestor"]);
  });

  test("an event_ingestor key reads its roles at /v1/users/me but cannot list keys or create service accounts", async () => {
    const h = await createHarness();
    const account = await serviceAccount(h, ["event_ingestor"]);
    const { api_key } = await keyFor(h, account.id);
    const me = await h.call("GET", "/v1/users/me", { key: api_key });
    expect(me.status).toBe(200);
    expect(me.body.credential.roles).toEqual(["event_ingestor"]);

    const list = await h.call("GET", "/v1/secrets/api/keys", { key: api_key });
    expect(list.status).toBe(403);
    expect(errorOf(list)).toEqual({
      message: "Insufficient permissions",
      internal_error: "permission_denied",
      details: { required: "secret:read", roles: ["event_ingestor"] },
    });
    const create = await h.call("POST", "/v1/users", {
      key: api_key,
      body: { type: "service_account", name: "sneaky", roles: ["super_admin"] },
    });
    expect(create.status).toBe(403);
    expect(errorOf(create).details).toEqual({ required: "user:write", roles: ["event_ingestor"] });
  });

  test("roles are set at creation: a later key for the same account is a separate credential", async () => {
    const h = await createHarness();
    const account = await serviceAccount(h, ["event_reader"]);
    const first = await keyFor(h, account.id);
    const second = await keyFor(h, account.id);
    expect(first.api_key).not.toBe(second.api_key);
    expect((await h.call("GET", "/v1/users/me", { key: first.api_key })).body.credential.roles).toEqual([
      "event_reader",
    ]);
  });

  test("lost key: create a new one for the same account, delete the old one", async () => {
    const h = await createHarness();
    const account = await serviceAccount(h, ["event_ingestor"]);
    const old = await keyFor(h, account.id);
    const replacement = await keyFor(h, account.id);
    expect((await h.call("DELETE", `/v1/secrets/api/keys/${old.id}`)).status).toBe(204);
    expect((await h.call("GET", "/v1/users/me", { key: old.api_key })).status).toBe(401);
    expect((await h.call("GET", "/v1/users/me", { key: replacement.api_key })).status).toBe(200);
  });

  test("deleting an id that does not exist (seed 001's key_abc123): 404", async () => {
    const h = await createHarness();
    const res = await h.call("DELETE", "/v1/secrets/api/keys/key_abc123");
    expect(res.status).toBe(404);
    expect(errorOf(res).internal_error).toBe("not_found");
  });

  test("the documented error bodies: missing, invalid, inactive", async () => {
    const h = await createHarness();
    expect((await h.call("GET", "/v1/secrets/api/keys", { key: null })).body).toEqual(
      errorBody(401, "permission_denied", "API key required"),
    );
    expect((await h.call("GET", "/v1/secrets/api/keys", { key: "your-api-key" })).body).toEqual(
      errorBody(401, "permission_denied", "Invalid API key"),
    );
  });
});
