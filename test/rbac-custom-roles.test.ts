// SPEC §13: roles of the operator's own (rbac.roles), beside the built-in ones: validated at
// start, listed, assignable to service accounts through the API, the dashboard and the CLI,
// never a way to hand out more than the giver holds.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../src/config";
import { createHarness, errorOf, type Harness } from "./support/harness";
import { issueTestKey } from "./support/keys";
import { runToEnd, SOURCE_CLI } from "./support/process";
import { tempDir } from "./support/temp";

const ROLES = {
  orders_reader: { name: "Orders Reader", description: "Reads orders", permissions: { orders: ["read"] } },
  account_manager: { name: "Account Manager", permissions: { user: ["read", "write"], secret: ["read", "write"] } },
};

async function harness(): Promise<Harness> {
  return await createHarness({ rbac: { roles: ROLES } } as never);
}

function loadWith(roles: unknown) {
  return () => loadConfig({ env: { TOLLGATE_RBAC_ROLES: JSON.stringify(roles) }, cwd: tempDir("roles-") });
}

describe("rbac.roles: validated when the config loads, with a sentence naming the bad entry", () => {
  const cases: [string, unknown, string][] = [
    [
      "an id with capitals",
      { OrdersReader: { name: "x", permissions: { orders: ["read"] } } },
      'Invalid config: rbac.roles: "OrdersReader" is not a role id',
    ],
    [
      "a built-in id",
      { super_admin: { name: "x", permissions: { orders: ["read"] } } },
      'Invalid config: rbac.roles.super_admin: "super_admin" is a built-in role',
    ],
    [
      "Flexprice's people roles",
      { all_reader: { name: "x", permissions: { orders: ["read"] } } },
      'Invalid config: rbac.roles.all_reader: "all_reader" is a built-in role',
    ],
    [
      "no permissions",
      { nothing: { name: "x", permissions: {} } },
      "Invalid config: rbac.roles.nothing.permissions: a role allows at least one action",
    ],
    [
      "a bad entity",
      { r: { name: "x", permissions: { "Orders!": ["read"] } } },
      'Invalid config: rbac.roles.r.permissions: "Orders!" is not an entity name',
    ],
    [
      "a bad action",
      { r: { name: "x", permissions: { orders: ["read it"] } } },
      'Invalid config: rbac.roles.r.permissions.orders: "read it" is not an action name',
    ],
    ["no name", { r: { permissions: { orders: ["read"] } } }, "Invalid config: rbac.roles.r"],
    [
      "an unknown field",
      { r: { name: "x", permissions: { orders: ["read"] }, extra: 1 } },
      "Invalid config: rbac.roles.r",
    ],
  ];
  for (const [name, roles, message] of cases) {
    test(`${name}: refused`, () => {
      expect(loadWith(roles)).toThrow(message);
    });
  }

  test("a good role loads; its description defaults to empty", () => {
    const config = loadWith({ r: { name: "R", permissions: { orders: ["read", "*"], "*": ["audit"] } } })();
    expect(config.rbac.roles.r).toEqual({
      name: "R",
      description: "",
      permissions: { orders: ["read", "*"], "*": ["audit"] },
    });
  });
});

describe("rbac.roles through the API", () => {
  test("listed beside the built-in roles, and one by id", async () => {
    const h = await harness();
    const list = await h.call("GET", "/v1/rbac/roles");
    expect(list.body.items.map((r: { id: string }) => r.id)).toEqual([
      "super_admin",
      "all_writer",
      "all_reader",
      "event_ingestor",
      "event_reader",
      "key_verifier",
      "orders_reader",
      "account_manager",
    ]);
    expect((await h.call("GET", "/v1/rbac/roles/orders_reader")).body).toEqual({
      id: "orders_reader",
      ...ROLES.orders_reader,
    });
  });

  test("a service account holds one; its key copies it and opens none of Tollgate's routes", async () => {
    const h = await harness();
    const account = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "orders", roles: ["orders_reader"] },
    });
    expect(account.status).toBe(201);
    expect(account.body.roles).toEqual(["orders_reader"]);
    const key = await h.call("POST", "/v1/secrets/api/keys", {
      body: { name: "k", service_account_id: account.body.id },
    });
    expect(key.body.roles).toEqual(["orders_reader"]);
    const me = await h.call("GET", "/v1/users/me", { key: key.body.api_key });
    expect(me.body.credential.roles).toEqual(["orders_reader"]);
    for (const path of ["/v1/events", "/v1/customers", "/v1/secrets/api/keys"]) {
      expect((await h.call("GET", path, { key: key.body.api_key })).status).toBe(403);
    }
  });

  test("an unknown role is refused in the API's words; a removed role grants nothing", async () => {
    const h = await harness();
    const res = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "x", roles: ["orders_writer"] },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res).message).toBe("Invalid role: orders_writer");
    // A key whose role was taken out of the config since it was made keeps the id, and gets nothing for it.
    const orphan = (await issueTestKey(h, { roles: ["removed_role"] })).apiKey;
    expect((await h.call("GET", "/v1/users/me", { key: orphan })).body.credential.roles).toEqual(["removed_role"]);
    expect((await h.call("GET", "/v1/events", { key: orphan })).status).toBe(403);
  });

  test("nobody hands out more than they hold: an account manager cannot give orders_reader, a super_admin can", async () => {
    const h = await harness();
    const manager = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "manager", roles: ["account_manager"] },
    });
    const managerKey = (
      await h.call("POST", "/v1/secrets/api/keys", { body: { name: "m", service_account_id: manager.body.id } })
    ).body.api_key;
    // Creating an account with roles needs user:write, which it has; the role needs orders:read, which it lacks.
    const refused = await h.call("POST", "/v1/users", {
      key: managerKey,
      body: { type: "service_account", name: "escalation", roles: ["orders_reader"] },
    });
    expect(refused.status).toBe(403);
    expect(errorOf(refused).details).toEqual({ required: ["orders_reader"], roles: ["account_manager"] });
    // Its own role it may hand on.
    const same = await h.call("POST", "/v1/users", {
      key: managerKey,
      body: { type: "service_account", name: "peer", roles: ["account_manager"] },
    });
    expect(same.status).toBe(201);
  });
});

describe("rbac.roles through the CLI", () => {
  test("keys create --roles takes a role of the config file; an unknown one lists them all", async () => {
    const dir = tempDir("cli-roles-");
    const config = join(dir, "config.yaml");
    writeFileSync(
      config,
      `database:\n  path: ${join(dir, "t.db")}\nrbac:\n  roles:\n    orders_reader:\n      name: Orders Reader\n      permissions:\n        orders: [read]\n`,
    );
    const created = await runToEnd([
      ...SOURCE_CLI,
      "keys",
      "create",
      "--config",
      config,
      "--tenant",
      "acme",
      "--create-tenant",
      "--roles",
      "orders_reader",
    ]);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain("roles orders_reader");
    const wrong = await runToEnd([
      ...SOURCE_CLI,
      "keys",
      "create",
      "--config",
      config,
      "--tenant",
      "acme",
      "--roles",
      "orders",
    ]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toStartWith(
      'Unknown role "orders"; the roles are super_admin, event_ingestor, event_reader, key_verifier, orders_reader.',
    );
  });
});
