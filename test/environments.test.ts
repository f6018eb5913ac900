import { describe, expect, test } from "bun:test";
import {
  createHarness,
  createTwoTenantHarness,
  DEFAULT_TENANT,
  errorOf,
  type Harness,
  OTHER_TENANT_KEY,
} from "./support/harness";
import { environmentOf } from "./support/keys";

// SPEC.md §5 (environments), with §1's environment context and §2's access rules.

const ENVS = "/v1/environments";
const KEYS = "/v1/secrets/api/keys";
const ENV_ID = /^env_[0-9A-HJKMNP-TV-Z]{26}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UNKNOWN = "env_01HZZZZZZZZZZZZZZZZZZZZZZZ";

async function environmentCount(h: Harness): Promise<number> {
  return (
    (await h.context.db.get("SELECT count(*) AS n FROM environments WHERE tenant_id = ?", DEFAULT_TENANT)) as {
      n: number;
    }
  ).n;
}

async function getEnvironment(h: Harness, id: string) {
  const res = await h.call("GET", `${ENVS}/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function createEnvironment(h: Harness, name: string, type: "development" | "production") {
  const res = await h.call("POST", ENVS, { body: { name, type } });
  expect(res.status).toBe(201);
  return res.body;
}

/** A service-account key with the given roles, minted through the API with the development key. */
async function serviceAccountKey(h: Harness, roles: string[]): Promise<string> {
  const sa = await h.call("POST", "/v1/users", { body: { type: "service_account", name: "worker", roles } });
  expect(sa.status).toBe(201);
  const key = await h.call("POST", KEYS, { body: { name: "worker key", service_account_id: sa.body.id } });
  expect(key.status).toBe(201);
  return key.body.api_key;
}

describe("the starting environments", () => {
  test("each tenant starts with Development (development) and Production (production)", async () => {
    const h = await createHarness();
    const res = await h.call("GET", ENVS);
    expect(res.status).toBe(200);
    const items = res.body.items;
    expect(items.map((e: any) => [e.name, e.type]).sort()).toEqual([
      ["Development", "development"],
      ["Production", "production"],
    ]);
    for (const env of items) {
      expect(env).toEqual({
        id: expect.stringMatching(ENV_ID),
        name: env.name,
        type: env.type,
        created_at: expect.stringMatching(TIMESTAMP),
        updated_at: expect.stringMatching(TIMESTAMP),
      });
    }
    expect(items.find((e: any) => e.type === "development").id).toBe((await environmentOf(h, "development")).id);
    expect(items.find((e: any) => e.type === "production").id).toBe((await environmentOf(h, "production")).id);
  });

  test("GET /v1/environments is a list in the §0 shape, with pagination", async () => {
    const h = await createHarness();
    const res = await h.call("GET", ENVS);
    expect(res.status).toBe(200);
    expect(res.body.pagination).toEqual({ total: 2, limit: 50, offset: 0 });
  });

  test("a second tenant gets its own two environments, invisible to the first", async () => {
    const otherKey = OTHER_TENANT_KEY;
    const h = await createTwoTenantHarness();
    const mine = (await h.call("GET", ENVS)).body.items.map((e: any) => e.id);
    const theirs = (await h.call("GET", ENVS, { key: otherKey })).body.items;
    expect(theirs.map((e: any) => e.name).sort()).toEqual(["Development", "Production"]);
    for (const env of theirs) expect(mine).not.toContain(env.id);

    // Another tenant's environment is not found, and cannot be renamed.
    const foreign = theirs[0];
    expect((await h.call("GET", `${ENVS}/${foreign.id}`)).status).toBe(404);
    const rename = await h.call("PUT", `${ENVS}/${foreign.id}`, { body: { name: "Taken over" } });
    expect(rename.status).toBe(404);
    expect(errorOf(rename).internal_error).toBe("not_found");
    expect((await h.call("GET", `${ENVS}/${foreign.id}`, { key: otherKey })).body).toEqual(foreign);
  });
});

describe("GET /v1/environments/{id}", () => {
  test("returns one environment", async () => {
    const h = await createHarness();
    const prod = await environmentOf(h, "production");
    const env = await getEnvironment(h, prod.id);
    expect(env).toEqual({
      id: prod.id,
      name: "Production",
      type: "production",
      created_at: expect.stringMatching(TIMESTAMP),
      updated_at: expect.stringMatching(TIMESTAMP),
    });
  });

  test("an unknown id: 404 not_found", async () => {
    const h = await createHarness();
    const res = await h.call("GET", `${ENVS}/${UNKNOWN}`);
    expect(res.status).toBe(404);
    expect(errorOf(res).internal_error).toBe("not_found");
  });
});

describe("POST /v1/environments", () => {
  test("201 with exactly {id,name,type,created_at,updated_at}; listed and readable afterwards", async () => {
    const h = await createHarness();
    const res = await h.call("POST", ENVS, { body: { name: "Staging", type: "development" } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(ENV_ID),
      name: "Staging",
      type: "development",
      created_at: expect.stringMatching(TIMESTAMP),
      updated_at: expect.stringMatching(TIMESTAMP),
    });
    expect(await getEnvironment(h, res.body.id)).toEqual(res.body);
    const list = (await h.call("GET", ENVS)).body.items;
    expect(list.map((e: any) => e.name).sort()).toEqual(["Development", "Production", "Staging"]);
    // The new environment does not take over as the default.
    expect((await h.call("GET", "/v1/users/me")).body.environment_id).toBe((await environmentOf(h, "development")).id);
  });

  test("a duplicate name: 409 already_exists, nothing created", async () => {
    const h = await createHarness();
    await createEnvironment(h, "Staging", "development");
    const before = await environmentCount(h);
    for (const body of [
      { name: "Staging", type: "production" },
      { name: "Development", type: "development" },
      { name: "  Production  ", type: "production" },
    ]) {
      const res = await h.call("POST", ENVS, { body });
      expect(res.status).toBe(409);
      expect(errorOf(res).internal_error).toBe("already_exists");
    }
    expect(await environmentCount(h)).toBe(before);
  });

  test("a bad or missing type: 400 validation_error, nothing created", async () => {
    const h = await createHarness();
    const before = await environmentCount(h);
    for (const body of [
      { name: "QA", type: "staging" },
      { name: "QA" },
      { name: "QA", type: 1 },
      { name: "QA", type: "Production" },
    ]) {
      const res = await h.call("POST", ENVS, { body });
      expect(res.status).toBe(400);
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
    expect(await environmentCount(h)).toBe(before);
  });

  test("a missing or blank name, or an unknown field: 400, nothing created", async () => {
    const h = await createHarness();
    const before = await environmentCount(h);
    for (const body of [
      { type: "development" },
      { name: "", type: "development" },
      { name: "   ", type: "development" },
      { name: "x".repeat(256), type: "development" },
      { name: "QA", type: "development", is_default: true },
    ]) {
      const res = await h.call("POST", ENVS, { body });
      expect(res.status).toBe(400);
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
    expect(await environmentCount(h)).toBe(before);
  });
});

describe("PUT /v1/environments/{id}", () => {
  test("renames; type and created_at stay", async () => {
    const h = await createHarness();
    const env = await createEnvironment(h, "Staging", "production");
    const res = await h.call("PUT", `${ENVS}/${env.id}`, { body: { name: "Pre-production" } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...env, name: "Pre-production", updated_at: expect.stringMatching(TIMESTAMP) });
    expect(res.body.updated_at >= env.updated_at).toBe(true);
    expect(await getEnvironment(h, env.id)).toEqual(res.body);
    // Renaming to its own name is not a conflict.
    expect((await h.call("PUT", `${ENVS}/${env.id}`, { body: { name: "Pre-production" } })).status).toBe(200);
  });

  test("a name another environment has: 409 already_exists, nothing changed", async () => {
    const h = await createHarness();
    const env = await createEnvironment(h, "Staging", "development");
    const res = await h.call("PUT", `${ENVS}/${env.id}`, { body: { name: "Production" } });
    expect(res.status).toBe(409);
    expect(errorOf(res).internal_error).toBe("already_exists");
    expect(await getEnvironment(h, env.id)).toEqual(env);
    expect((await getEnvironment(h, (await environmentOf(h, "production")).id)).name).toBe("Production");
  });

  test("an unknown id: 404 not_found, nothing created", async () => {
    const h = await createHarness();
    const before = await environmentCount(h);
    const res = await h.call("PUT", `${ENVS}/${UNKNOWN}`, { body: { name: "Ghost" } });
    expect(res.status).toBe(404);
    expect(errorOf(res).internal_error).toBe("not_found");
    expect(await environmentCount(h)).toBe(before);
  });

  test("a body that changes the type, or has neither name nor type: 400, nothing changed", async () => {
    const h = await createHarness();
    const dev = await environmentOf(h, "development");
    const before = await getEnvironment(h, dev.id);
    for (const body of [{ name: "Dev", type: "production" }, { type: "production" }, {}, { name: "" }]) {
      const res = await h.call("PUT", `${ENVS}/${dev.id}`, { body });
      expect(res.status).toBe(400);
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
    expect(await getEnvironment(h, dev.id)).toEqual(before);
  });

  // Issue 10: the SDK's UpdateEnvironmentRequest carries `type`, and `name` is optional.
  test("type, as the environment already has it, is accepted: alone it changes nothing", async () => {
    const h = await createHarness();
    const env = await createEnvironment(h, "Staging", "production");
    const audits = async () => (await h.context.db.value("SELECT count(*) FROM audit_logs")) as number;
    const before = await audits();
    const same = await h.call("PUT", `${ENVS}/${env.id}`, { body: { type: "production" } });
    expect(same.status).toBe(200);
    expect(same.body).toEqual(env);
    expect(await audits()).toBe(before);
    const renamed = await h.call("PUT", `${ENVS}/${env.id}`, { body: { name: "Live-2", type: "production" } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toEqual({ ...env, name: "Live-2", updated_at: expect.stringMatching(TIMESTAMP) });
    expect(await audits()).toBe(before + 1);
  });

  test("changing the type: 400 naming it, for the defaults and created environments alike", async () => {
    const h = await createHarness();
    const staging = await createEnvironment(h, "Staging", "development");
    const targets: [string, string][] = [
      [(await environmentOf(h, "development")).id, "production"],
      [(await environmentOf(h, "production")).id, "development"],
      [staging.id, "production"],
    ];
    for (const [id, type] of targets) {
      const before = await getEnvironment(h, id);
      const res = await h.call("PUT", `${ENVS}/${id}`, { body: { name: "Renamed too", type } });
      expect(res.status).toBe(400);
      expect(errorOf(res)).toEqual({
        message: "Environment type cannot be changed",
        internal_error: "validation_error",
        details: { type: `cannot be changed; this environment is ${before.type}` },
      });
      expect(await getEnvironment(h, id)).toEqual(before);
    }
    // The default pair is intact: Development is still the development default.
    const dev = await h.context.db.get(
      "SELECT type, is_default FROM environments WHERE tenant_id = ? AND name = 'Development'",
      DEFAULT_TENANT,
    );
    expect(dev).toEqual({ type: "development", is_default: 1 });
  });

  test("a type that is not an environment type: 400 with the create message", async () => {
    const h = await createHarness();
    const dev = await environmentOf(h, "development");
    const res = await h.call("PUT", `${ENVS}/${dev.id}`, { body: { type: "staging" } });
    expect(res.status).toBe(400);
    expect(errorOf(res).message).toBe("Type must be 'development' or 'production'");
  });

  test("{} says what is required", async () => {
    const h = await createHarness();
    const res = await h.call("PUT", `${ENVS}/${(await environmentOf(h, "development")).id}`, { body: {} });
    expect(errorOf(res)).toEqual({
      message: "name is required",
      internal_error: "validation_error",
      details: { name: "is required when type is absent" },
    });
  });

  test("another tenant's environment: 404, with a type too", async () => {
    const h = await createTwoTenantHarness();
    const theirs = await environmentOf(h, "production", "tenant-two");
    const res = await h.call("PUT", `${ENVS}/${theirs.id}`, { body: { type: "production" } });
    expect(res.status).toBe(404);
  });

  test("its OpenAPI summary says what it takes: a name or a type, not only a rename", async () => {
    const h = await createHarness();
    const doc = (await h.call("GET", "/swagger/json", { key: null })).body;
    const put = doc.paths["/v1/environments/{id}"].put;
    expect(put.summary).toBe("Update an environment: name, type (a type never changes)");
    expect(put.requestBody.content["application/json"].schema.properties).toHaveProperty("type");
  });
});

describe("keys and environments (SPEC §1, §3)", () => {
  test("a key created with X-Environment-ID of Production is sk_live_ and pinned there", async () => {
    const h = await createHarness();
    const prod = await environmentOf(h, "production");
    const dev = await environmentOf(h, "development");
    const res = await h.call("POST", KEYS, { headers: { "X-Environment-ID": prod.id }, body: { name: "prod key" } });
    expect(res.status).toBe(201);
    const { api_key: key, secret } = res.body;
    expect(key).toMatch(/^sk_live_/);
    expect(secret.environment_id).toBe(prod.id);

    const me = await h.call("GET", "/v1/users/me", { key });
    expect(me.status).toBe(200);
    expect(me.body.environment_id).toBe(prod.id);
    const moved = await h.call("GET", "/v1/users/me", { key, headers: { "X-Environment-ID": dev.id } });
    expect(moved.status).toBe(403);
    expect(errorOf(moved)).toEqual({
      message: "Invalid or inaccessible environment",
      internal_error: "permission_denied",
    });

    // It is listed in Production only.
    const inProd = await h.call("GET", `${KEYS}/${secret.id}`, { headers: { "X-Environment-ID": prod.id } });
    expect(inProd.status).toBe(200);
    expect((await h.call("GET", `${KEYS}/${secret.id}`)).status).toBe(404);
    const devList = await h.call("GET", KEYS);
    expect(devList.body.items.map((s: any) => s.id)).not.toContain(secret.id);
  });

  test("a key created in Development (explicitly or by default) is sk_test_ and pinned there", async () => {
    const h = await createHarness();
    const dev = await environmentOf(h, "development");
    for (const headers of [{ "X-Environment-ID": dev.id }, undefined]) {
      const res = await h.call("POST", KEYS, { headers, body: { name: "dev key" } });
      expect(res.status).toBe(201);
      expect(res.body.api_key).toMatch(/^sk_test_/);
      expect(res.body.secret.environment_id).toBe(dev.id);
      const me = await h.call("GET", "/v1/users/me", { key: res.body.api_key });
      expect(me.body.environment_id).toBe(dev.id);
    }
  });

  test("a created environment's type decides the key prefix, and its keys are pinned to it", async () => {
    const h = await createHarness();
    const live = await createEnvironment(h, "EU production", "production");
    const test_ = await createEnvironment(h, "QA", "development");
    for (const [env, prefix] of [
      [live, /^sk_live_/],
      [test_, /^sk_test_/],
    ] as const) {
      const res = await h.call("POST", KEYS, { headers: { "X-Environment-ID": env.id }, body: { name: "k" } });
      expect(res.status).toBe(201);
      expect(res.body.api_key).toMatch(prefix);
      expect(res.body.secret.environment_id).toBe(env.id);
      expect((await h.call("GET", "/v1/users/me", { key: res.body.api_key })).body.environment_id).toBe(env.id);
    }
  });

  test("an unknown X-Environment-ID: 403 and no key created", async () => {
    const h = await createHarness();
    const secretCount = async () => ((await h.context.db.get("SELECT count(*) AS n FROM secrets")) as { n: number }).n;
    const before = await secretCount();
    const res = await h.call("POST", KEYS, { headers: { "X-Environment-ID": UNKNOWN }, body: { name: "k" } });
    expect(res.status).toBe(403);
    expect(errorOf(res).message).toBe("Invalid or inaccessible environment");
    expect(await secretCount()).toBe(before);
  });
});

describe("access to /v1/environments (SPEC §2)", () => {
  test("an event_ingestor service-account key: 403 on every environment route, nothing changed", async () => {
    const h = await createHarness();
    const key = await serviceAccountKey(h, ["event_ingestor"]);
    const dev = await environmentOf(h, "development");
    const before = await getEnvironment(h, dev.id);
    const count = await environmentCount(h);
    const attempts: [string, string, string, unknown?][] = [
      ["GET", ENVS, "environment:read"],
      ["GET", `${ENVS}/${dev.id}`, "environment:read"],
      ["POST", ENVS, "environment:write", { name: "Rogue", type: "production" }],
      ["PUT", `${ENVS}/${dev.id}`, "environment:write", { name: "Rogue" }],
    ];
    for (const [method, path, required, body] of attempts) {
      const res = await h.call(method, path, { key, body });
      expect(res.status).toBe(403);
      expect(errorOf(res)).toEqual({
        message: "Insufficient permissions",
        internal_error: "permission_denied",
        details: { required, roles: ["event_ingestor"] },
      });
    }
    expect(await environmentCount(h)).toBe(count);
    expect(await getEnvironment(h, dev.id)).toEqual(before);
  });

  test("a publishable key: 403 Publishable keys cannot access this resource", async () => {
    const h = await createHarness();
    const pk = await h.call("POST", KEYS, { body: { name: "pk", type: "publishable_key" } });
    expect(pk.status).toBe(201);
    for (const [method, path, body] of [
      ["GET", ENVS],
      ["POST", ENVS, { name: "P", type: "development" }],
    ] as const) {
      const res = await h.call(method, path, { key: pk.body.api_key, body });
      expect(res.status).toBe(403);
      expect(errorOf(res).message).toBe("Publishable keys cannot access this resource");
    }
    expect(await environmentCount(h)).toBe(2);
  });

  test("no key: 401 API key required", async () => {
    const h = await createHarness();
    const res = await h.call("GET", ENVS, { key: null });
    expect(res.status).toBe(401);
    expect(errorOf(res)).toEqual({ message: "API key required", internal_error: "permission_denied" });
  });
});
