// SPEC.md §7: customers, and customer-portal sessions with their own tokens.
import { describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { ulid } from "ulid";
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
import { environmentOf } from "./support/keys";

const PORTAL_AUDIENCE = "tollgate:customer-portal";
const PORTAL_ISSUER = "tollgate";
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface Customer {
  id: string;
  external_id: string;
  name: string | null;
  email: string | null;
  metadata: Record<string, string>;
  status: string;
  environment_id: string;
  created_at: string;
  updated_at: string;
}

async function createCustomer(
  h: Harness,
  body: Record<string, unknown>,
  options: { key?: string; headers?: Record<string, string> } = {},
): Promise<Customer> {
  const res = await h.call("POST", "/v1/customers", { ...options, body });
  expect(res.status).toBe(201);
  return res.body;
}

async function countCustomers(h: Harness, where = "1 = 1", ...params: unknown[]): Promise<number> {
  return ((await h.context.db.get(`SELECT count(*) AS n FROM customers WHERE ${where}`, ...params)) as { n: number }).n;
}

function expectValidationError(res: CallResult, field?: string) {
  expect(res.status).toBe(400);
  const error = errorOf(res);
  expect(error.internal_error).toBe("validation_error");
  if (field !== undefined) expect(Object.keys(error.details ?? {})).toContain(field);
}

function expectNotFound(res: CallResult) {
  expect(res.status).toBe(404);
  expect(errorOf(res).internal_error).toBe("not_found");
}

const externalIds = (res: CallResult): string[] => res.body.items.map((c: Customer) => c.external_id);

async function serviceAccountKey(h: Harness, roles: string[]): Promise<string> {
  const account = await h.call("POST", "/v1/users", { body: { type: "service_account", name: "svc", roles } });
  expect(account.status).toBe(201);
  const key = await h.call("POST", "/v1/secrets/api/keys", {
    body: { name: "svc key", service_account_id: account.body.id },
  });
  expect(key.status).toBe(201);
  return key.body.api_key;
}

describe("POST /v1/customers", () => {
  test("201 with the Customer shape", async () => {
    const h = await createHarness();
    const res = await h.call("POST", "/v1/customers", {
      body: {
        external_id: "acme",
        name: "Acme Corp",
        email: "billing@acme.test",
        metadata: { plan: "pro", region: "eu" },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^cust_[0-9A-Z]{26}$/),
      external_id: "acme",
      name: "Acme Corp",
      email: "billing@acme.test",
      // Issue 25: the current Flexprice API's fields, as they are when not sent.
      contact: null,
      timezone: "UTC",
      onboarding_workflow_name: null,
      skip_onboarding_workflow: false,
      metadata: { plan: "pro", region: "eu" },
      status: "published",
      // Issue 10: every field of Flexprice's customer, null where there is no value.
      address_line1: null,
      address_line2: null,
      address_city: null,
      address_state: null,
      address_postal_code: null,
      address_country: null,
      parent_customer_id: null,
      parent_customer: null,
      tenant_id: DEFAULT_TENANT,
      environment_id: (await environmentOf(h, "development")).id,
      created_by: DEFAULT_TENANT,
      updated_by: DEFAULT_TENANT,
      created_at: expect.stringMatching(RFC3339_UTC),
      updated_at: expect.stringMatching(RFC3339_UTC),
    });
    expect((await h.call("GET", `/v1/customers/${res.body.id}`)).body).toEqual(res.body);
  });

  test("only external_id is required; the rest default to null and {}", async () => {
    const h = await createHarness();
    const customer = await createCustomer(h, { external_id: "bare" });
    expect(customer).toMatchObject({ external_id: "bare", name: null, email: null, metadata: {}, status: "published" });
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ["external_id missing", { name: "No id" }, "external_id"],
    ["external_id empty", { external_id: "" }, "external_id"],
    ["external_id blank", { external_id: "   " }, "external_id"],
    ["external_id 256 characters", { external_id: "x".repeat(256) }, "external_id"],
    ["external_id a number", { external_id: 42 }, "external_id"],
    ["email without a domain", { external_id: "a", email: "not-an-email" }, "email"],
    ["email without a dot in the domain", { external_id: "a", email: "a@b" }, "email"],
    ["email with spaces", { external_id: "a", email: "a b@c.test" }, "email"],
    ["metadata value a number", { external_id: "a", metadata: { seats: 5 } }, "metadata.seats"],
    ["metadata value a boolean", { external_id: "a", metadata: { vip: true } }, "metadata.vip"],
    ["metadata value an object", { external_id: "a", metadata: { nested: { a: "b" } } }, "metadata.nested"],
    ["metadata value null", { external_id: "a", metadata: { gone: null } }, "metadata.gone"],
    ["metadata an array", { external_id: "a", metadata: ["plan"] }, "metadata"],
    ["an unknown field", { external_id: "a", phone: "555" }, "phone"],
  ];
  for (const [name, body, field] of invalid) {
    test(`${name}: 400 naming ${field}, nothing created`, async () => {
      const h = await createHarness();
      expectValidationError(await h.call("POST", "/v1/customers", { body }), field);
      expect(await countCustomers(h)).toBe(0);
    });
  }

  test("duplicate external_id in the same environment: 409 already_exists, nothing created", async () => {
    const h = await createHarness();
    const first = await createCustomer(h, { external_id: "acme", name: "First" });
    const res = await h.call("POST", "/v1/customers", { body: { external_id: "acme", name: "Second" } });
    expect(res.status).toBe(409);
    expect(errorOf(res).internal_error).toBe("already_exists");
    expect(await countCustomers(h)).toBe(1);
    expect((await h.call("GET", "/v1/customers/external/acme")).body).toEqual(first);
  });

  test("concurrent creates of one external_id: exactly one 201, the rest 409", async () => {
    const h = await createHarness();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        h.call("POST", "/v1/customers", { body: { external_id: "race", name: `n${i}` } }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(19);
    expect(await countCustomers(h, "external_id = ?", "race")).toBe(1);
  });

  test("the same external_id in another environment or tenant is allowed", async () => {
    const h = await createTwoTenantHarness();
    const prod = (await environmentOf(h, "production")).id;
    const dev = await createCustomer(h, { external_id: "acme" });
    const inProd = await createCustomer(h, { external_id: "acme" }, { headers: { "X-Environment-ID": prod } });
    const otherTenant = await createCustomer(h, { external_id: "acme" }, { key: OTHER_TENANT_KEY });
    expect(new Set([dev.id, inProd.id, otherTenant.id]).size).toBe(3);
    expect(inProd.environment_id).toBe(prod);
    expect(await countCustomers(h, "external_id = ?", "acme")).toBe(3);
  });
});

describe("reading customers", () => {
  test("GET /v1/customers/{id} and /v1/customers/external/{external_id}", async () => {
    const h = await createHarness();
    const acme = await createCustomer(h, { external_id: "acme", name: "Acme" });
    await createCustomer(h, { external_id: "globex", name: "Globex" });
    const byId = await h.call("GET", `/v1/customers/${acme.id}`);
    const byExternal = await h.call("GET", "/v1/customers/external/acme");
    expect(byId.status).toBe(200);
    expect(byExternal.status).toBe(200);
    expect(byId.body).toEqual(acme);
    expect(byExternal.body).toEqual(acme);
    expectNotFound(await h.call("GET", "/v1/customers/cust_01ARZ3NDEKTSV4RRFFQ69G5FAV"));
    expectNotFound(await h.call("GET", "/v1/customers/external/nobody"));
  });

  async function fiveCustomers(h: Harness) {
    const made: Customer[] = [];
    for (const [external_id, email] of [
      ["c1", "shared@example.test"],
      ["c2", "two@example.test"],
      ["c3", "shared@example.test"],
      ["c4", null],
      ["c5", "five@example.test"],
    ]) {
      made.push(await createCustomer(h, { external_id, email }));
    }
    return made;
  }

  test("GET /v1/customers: every live customer, with pagination", async () => {
    const h = await createHarness();
    await fiveCustomers(h);
    const all = await h.call("GET", "/v1/customers");
    expect(all.status).toBe(200);
    expect(externalIds(all).sort()).toEqual(["c1", "c2", "c3", "c4", "c5"]);
    expect(all.body.pagination).toEqual({ total: 5, limit: 50, offset: 0 });

    const pages: string[] = [];
    for (const offset of [0, 2, 4]) {
      const page = await h.call("GET", `/v1/customers?limit=2&offset=${offset}`);
      expect(page.body.pagination).toEqual({ total: 5, limit: 2, offset });
      expect(page.body.items.length).toBe(offset === 4 ? 1 : 2);
      pages.push(...externalIds(page));
    }
    expect(pages.sort()).toEqual(["c1", "c2", "c3", "c4", "c5"]);
    expect((await h.call("GET", "/v1/customers?offset=5")).body.items).toEqual([]);
  });

  test("GET /v1/customers filters by external_id and by email", async () => {
    const h = await createHarness();
    await fiveCustomers(h);
    const byExternal = await h.call("GET", "/v1/customers?external_id=c2");
    expect(externalIds(byExternal)).toEqual(["c2"]);
    expect(byExternal.body.pagination.total).toBe(1);
    const byEmail = await h.call("GET", `/v1/customers?email=${encodeURIComponent("shared@example.test")}`);
    expect(externalIds(byEmail).sort()).toEqual(["c1", "c3"]);
    expect(byEmail.body.pagination.total).toBe(2);
    const both = await h.call("GET", `/v1/customers?external_id=c3&email=${encodeURIComponent("shared@example.test")}`);
    expect(externalIds(both)).toEqual(["c3"]);
    const none = await h.call("GET", `/v1/customers?external_id=c2&email=${encodeURIComponent("shared@example.test")}`);
    expect(none.body).toEqual({ items: [], pagination: { total: 0, limit: 50, offset: 0 } });
    const paged = await h.call(
      "GET",
      `/v1/customers?email=${encodeURIComponent("shared@example.test")}&limit=1&offset=1`,
    );
    expect(paged.body.items).toHaveLength(1);
    expect(paged.body.pagination).toEqual({ total: 2, limit: 1, offset: 1 });
  });

  test("GET /v1/customers: bad pagination or an unknown filter is 400", async () => {
    const h = await createHarness();
    await fiveCustomers(h);
    for (const [query, field] of [
      ["limit=0", "limit"],
      ["limit=1001", "limit"],
      ["offset=-1", "offset"],
      ["limit=ten", "limit"],
      ["status=deleted", "status"],
    ]) {
      expectValidationError(await h.call("GET", `/v1/customers?${query}`), field);
    }
    expect((await h.call("GET", "/v1/customers?limit=1000")).status).toBe(200);
  });

  test("POST /v1/customers/search: the same filters and pagination in a body", async () => {
    const h = await createHarness();
    await fiveCustomers(h);
    const all = await h.call("POST", "/v1/customers/search", { body: {} });
    expect(all.status).toBe(200);
    expect(externalIds(all).sort()).toEqual(["c1", "c2", "c3", "c4", "c5"]);
    const byEmail = await h.call("POST", "/v1/customers/search", { body: { email: "shared@example.test" } });
    expect(externalIds(byEmail).sort()).toEqual(["c1", "c3"]);
    const byExternal = await h.call("POST", "/v1/customers/search", { body: { external_id: "c5" } });
    expect(externalIds(byExternal)).toEqual(["c5"]);
    const paged = await h.call("POST", "/v1/customers/search", { body: { limit: 2, offset: 4 } });
    expect(paged.body.pagination).toEqual({ total: 5, limit: 2, offset: 4 });
    expect(paged.body.items).toHaveLength(1);

    for (const [body, field] of [
      [{ limit: 0 }, "limit"],
      [{ limit: 1001 }, "limit"],
      [{ offset: -1 }, "offset"],
      [{ limit: "2" }, "limit"],
      [{ name: "c1" }, "name"],
    ] as [Record<string, unknown>, string][]) {
      expectValidationError(await h.call("POST", "/v1/customers/search", { body }), field);
    }
  });
});

describe("external ids that need encoding in a path", () => {
  for (const externalId of ["user@example.com", "acme corp", "tenant/42", "ünïcode", "a+b%c?d#e"]) {
    test(`${JSON.stringify(externalId)}: found by external lookup and portal, once encoded`, async () => {
      const h = await createHarness();
      const customer = await createCustomer(h, { external_id: externalId });
      const path = encodeURIComponent(externalId);
      expect((await h.call("GET", `/v1/customers/external/${path}`)).body).toEqual(customer);
      const portal = await h.call("GET", `/v1/customers/portal/${path}`);
      expect(portal.status).toBe(200);
      const info = await h.call("GET", "/v1/customer/portal/info", {
        key: null,
        headers: { "X-Session-Token": portal.body.token },
      });
      expect(info.body).toEqual(customer);
    });
  }
});

describe("PUT /v1/customers/{id}", () => {
  async function acme(h: Harness) {
    return createCustomer(h, {
      external_id: "acme",
      name: "Acme",
      email: "billing@acme.test",
      metadata: { plan: "pro" },
    });
  }

  test("changes the sent fields and nothing else", async () => {
    const h = await createHarness();
    const before = await acme(h);
    const res = await h.call("PUT", `/v1/customers/${before.id}`, { body: { name: "Acme Inc" } });
    expect(res.status).toBe(200);
    const { name: _n, updated_at: updatedAt, ...rest } = res.body;
    const { name: _n0, updated_at: updatedBefore, ...restBefore } = before;
    expect(res.body.name).toBe("Acme Inc");
    expect(rest).toEqual(restBefore);
    expect(Date.parse(updatedAt)).toBeGreaterThanOrEqual(Date.parse(updatedBefore));
    expect((await h.call("GET", `/v1/customers/${before.id}`)).body).toEqual(res.body);

    const more = await h.call("PUT", `/v1/customers/${before.id}`, {
      body: { email: "finance@acme.test", metadata: { plan: "team" } },
    });
    expect(more.status).toBe(200);
    expect(more.body).toMatchObject({
      id: before.id,
      external_id: "acme",
      name: "Acme Inc",
      email: "finance@acme.test",
      metadata: { plan: "team" },
      created_at: before.created_at,
    });
  });

  test("a new external_id moves the external lookup with it", async () => {
    const h = await createHarness();
    const before = await acme(h);
    const res = await h.call("PUT", `/v1/customers/${before.id}`, { body: { external_id: "acme-eu" } });
    expect(res.status).toBe(200);
    expect(res.body.external_id).toBe("acme-eu");
    expect((await h.call("GET", "/v1/customers/external/acme-eu")).body.id).toBe(before.id);
    expectNotFound(await h.call("GET", "/v1/customers/external/acme"));
  });

  test("an external_id another customer holds: 409, nothing changed", async () => {
    const h = await createHarness();
    const before = await acme(h);
    await createCustomer(h, { external_id: "globex" });
    const res = await h.call("PUT", `/v1/customers/${before.id}`, { body: { external_id: "globex", name: "Renamed" } });
    expect(res.status).toBe(409);
    expect(errorOf(res).internal_error).toBe("already_exists");
    expect((await h.call("GET", `/v1/customers/${before.id}`)).body).toEqual(before);
    // Keeping its own external_id is not a conflict.
    expect((await h.call("PUT", `/v1/customers/${before.id}`, { body: { external_id: "acme" } })).status).toBe(200);
  });

  test("invalid changes are 400 and change nothing; an unknown id is 404", async () => {
    const h = await createHarness();
    const before = await acme(h);
    for (const [body, field] of [
      [{ email: "nope" }, "email"],
      [{ metadata: { seats: 5 } }, "metadata.seats"],
      [{ external_id: "" }, "external_id"],
      [{ status: "deleted" }, "status"],
      [{ name: "x", environment_id: "env_other" }, "environment_id"],
    ] as [Record<string, unknown>, string][]) {
      expectValidationError(await h.call("PUT", `/v1/customers/${before.id}`, { body }), field);
    }
    expect((await h.call("GET", `/v1/customers/${before.id}`)).body).toEqual(before);
    expectNotFound(await h.call("PUT", "/v1/customers/cust_01ARZ3NDEKTSV4RRFFQ69G5FAV", { body: { name: "x" } }));
  });
});

describe("DELETE /v1/customers/{id}", () => {
  test("204, then hidden from lists, search and external lookups; deleting again is 404", async () => {
    const h = await createHarness();
    const acme = await createCustomer(h, { external_id: "acme", email: "a@acme.test" });
    await createCustomer(h, { external_id: "globex" });
    const res = await h.call("DELETE", `/v1/customers/${acme.id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe("");

    expect(externalIds(await h.call("GET", "/v1/customers"))).toEqual(["globex"]);
    expect((await h.call("GET", "/v1/customers")).body.pagination.total).toBe(1);
    expect((await h.call("GET", "/v1/customers?external_id=acme")).body.items).toEqual([]);
    expect((await h.call("GET", "/v1/customers?email=a%40acme.test")).body.items).toEqual([]);
    expect((await h.call("POST", "/v1/customers/search", { body: { external_id: "acme" } })).body.items).toEqual([]);
    expectNotFound(await h.call("GET", "/v1/customers/external/acme"));
    expectNotFound(await h.call("DELETE", `/v1/customers/${acme.id}`));
    expectNotFound(await h.call("PUT", `/v1/customers/${acme.id}`, { body: { name: "Zombie" } }));
    // Soft: the row stays, marked deleted.
    const row = (await h.context.db.get("SELECT status FROM customers WHERE id = ?", acme.id)) as { status: string };
    expect(row.status).toBe("deleted");
  });

  test("the external_id is free again: a new customer with it is 201 and is the one found", async () => {
    const h = await createHarness();
    const old = await createCustomer(h, { external_id: "acme", name: "Old" });
    expect((await h.call("DELETE", `/v1/customers/${old.id}`)).status).toBe(204);
    const fresh = await createCustomer(h, { external_id: "acme", name: "New" });
    expect(fresh.id).not.toBe(old.id);
    expect((await h.call("GET", "/v1/customers/external/acme")).body).toEqual(fresh);
    expect(externalIds(await h.call("GET", "/v1/customers"))).toEqual(["acme"]);
    // And a live customer may take a deleted customer's external_id through PUT as well.
    const other = await createCustomer(h, { external_id: "other" });
    expect((await h.call("DELETE", `/v1/customers/${fresh.id}`)).status).toBe(204);
    expect((await h.call("PUT", `/v1/customers/${other.id}`, { body: { external_id: "acme" } })).status).toBe(200);
  });

  test("an unknown id: 404", async () => {
    const h = await createHarness();
    expectNotFound(await h.call("DELETE", "/v1/customers/cust_01ARZ3NDEKTSV4RRFFQ69G5FAV"));
  });
});

describe("isolation", () => {
  async function idRoutes(h: Harness, key: string, headers: Record<string, string>, customer: Customer) {
    return [
      await h.call("GET", `/v1/customers/${customer.id}`, { key, headers }),
      await h.call("GET", `/v1/customers/external/${customer.external_id}`, { key, headers }),
      await h.call("PUT", `/v1/customers/${customer.id}`, { key, headers, body: { name: "Taken over" } }),
      await h.call("DELETE", `/v1/customers/${customer.id}`, { key, headers }),
      await h.call("GET", `/v1/customers/portal/${customer.external_id}`, { key, headers }),
    ];
  }

  async function lists(h: Harness, key: string, headers: Record<string, string>) {
    return [
      await h.call("GET", "/v1/customers", { key, headers }),
      await h.call("GET", "/v1/customers?external_id=victim", { key, headers }),
      await h.call("POST", "/v1/customers/search", { key, headers, body: {} }),
      await h.call("POST", "/v1/customers/search", { key, headers, body: { external_id: "victim" } }),
    ];
  }

  async function expectIsolated(h: Harness, key: string, headers: Record<string, string>) {
    const victim = await createCustomer(h, { external_id: "victim", name: "Victim", email: "v@victim.test" });
    for (const res of await idRoutes(h, key, headers, victim)) expectNotFound(res);
    for (const res of await lists(h, key, headers)) {
      expect(res.status).toBe(200);
      expect(res.body.items).toEqual([]);
      expect(res.body.pagination.total).toBe(0);
      expect(res.text).not.toContain(victim.id);
    }
    // Nothing happened to it, and no portal session was opened for it.
    expect((await h.call("GET", `/v1/customers/${victim.id}`)).body).toEqual(victim);
    const audit = (await h.context.db.all(
      "SELECT action FROM audit_logs WHERE resource_id = ? ORDER BY created_at",
      victim.id,
    )) as { action: string }[];
    expect(audit.map((a) => a.action)).toEqual(["customer.created"]);
  }

  test("another tenant: 404 on every route that takes an id, absent from every list", async () => {
    const h = await createTwoTenantHarness();
    await expectIsolated(h, OTHER_TENANT_KEY, {});
    // The second tenant does see its own.
    await createCustomer(h, { external_id: "theirs" }, { key: OTHER_TENANT_KEY });
    expect(externalIds(await h.call("GET", "/v1/customers", { key: OTHER_TENANT_KEY }))).toEqual(["theirs"]);
  });

  test("another environment: 404 on every route that takes an id, absent from every list", async () => {
    const h = await createHarness();
    const prod = { "X-Environment-ID": (await environmentOf(h, "production")).id };
    await expectIsolated(h, DEV_KEY, prod);
  });

  test("a stored key of the other environment: the same", async () => {
    const h = await createHarness();
    const prodKey = await h.call("POST", "/v1/secrets/api/keys", {
      headers: { "X-Environment-ID": (await environmentOf(h, "production")).id },
      body: { name: "prod" },
    });
    expect(prodKey.status).toBe(201);
    await expectIsolated(h, prodKey.body.api_key, {});
  });
});

describe("audit", () => {
  test("customer.created, updated, deleted and portal_session_created, with no token anywhere", async () => {
    const h = await createHarness();
    const customer = await createCustomer(h, { external_id: "acme", name: "Acme" });
    expect((await h.call("PUT", `/v1/customers/${customer.id}`, { body: { name: "Acme Inc" } })).status).toBe(200);
    const portal = await h.call("GET", "/v1/customers/portal/acme");
    expect(portal.status).toBe(200);
    const token = portal.body.token as string;
    expect((await h.call("DELETE", `/v1/customers/${customer.id}`)).status).toBe(204);

    const res = await h.call("GET", `/v1/audit-logs?resource_id=${customer.id}&limit=100`);
    expect(res.status).toBe(200);
    const actions = res.body.items.map((row: { action: string }) => row.action).sort();
    expect(actions).toEqual([
      "customer.created",
      "customer.deleted",
      "customer.portal_session_created",
      "customer.updated",
    ]);
    for (const row of res.body.items) expect(row.resource_type).toBe("customer");

    const updated = res.body.items.find((row: { action: string }) => row.action === "customer.updated");
    expect(updated.changes.before.name).toBe("Acme");
    expect(updated.changes.after.name).toBe("Acme Inc");
    const deleted = res.body.items.find((row: { action: string }) => row.action === "customer.deleted");
    expect(deleted.changes.after.status).toBe("deleted");

    // The token appears in no audit row (API or store), and in no log line.
    const signature = token.split(".")[2] as string;
    expect(res.text).not.toContain(signature);
    const stored = JSON.stringify(await h.context.db.all("SELECT * FROM audit_logs"));
    expect(stored).not.toContain(signature);
    expect(JSON.stringify(h.logs)).not.toContain(signature);
  });

  test("refused requests write no audit row", async () => {
    const h = await createHarness();
    const customer = await createCustomer(h, { external_id: "acme" });
    await createCustomer(h, { external_id: "globex" });
    const count = async () => ((await h.context.db.get("SELECT count(*) AS n FROM audit_logs")) as { n: number }).n;
    const before = await count();
    expect((await h.call("POST", "/v1/customers", { body: { external_id: "acme" } })).status).toBe(409);
    expect((await h.call("POST", "/v1/customers", { body: { external_id: "x", email: "bad" } })).status).toBe(400);
    expect((await h.call("PUT", `/v1/customers/${customer.id}`, { body: { external_id: "globex" } })).status).toBe(409);
    expect((await h.call("GET", "/v1/customers/portal/nobody")).status).toBe(404);
    expect(await count()).toBe(before);
  });
});

describe("portal sessions: GET /v1/customers/portal/{external_id}", () => {
  test("{url, token, expires_at}: Tollgate's own portal page with ?token=, one hour by default", async () => {
    const h = await createHarness();
    await createCustomer(h, { external_id: "acme" });
    const before = Date.now();
    const res = await h.call("GET", "/v1/customers/portal/acme");
    const after = Date.now();
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["expires_at", "token", "url"]);
    const { url, token, expires_at } = res.body;
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(url).toBe(`http://127.0.0.1:8080/portal?token=${token}`);
    expect(expires_at).toMatch(RFC3339_UTC);
    const expires = Date.parse(expires_at);
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3600_000);
    expect(expires).toBeLessThanOrEqual(after + 3600_000);
  });

  test("the configured url and lifetime are used", async () => {
    const h = await createHarness({
      customer_portal: { url: "https://billing.example.test/portal", session_ttl_seconds: 600 },
    });
    await createCustomer(h, { external_id: "acme" });
    const before = Date.now();
    const res = await h.call("GET", "/v1/customers/portal/acme");
    const after = Date.now();
    expect(res.status).toBe(200);
    expect(res.body.url).toBe(`https://billing.example.test/portal?token=${res.body.token}`);
    const expires = Date.parse(res.body.expires_at);
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 600_000);
    expect(expires).toBeLessThanOrEqual(after + 600_000);
  });

  test("unknown or deleted external_id: 404", async () => {
    const h = await createHarness();
    expectNotFound(await h.call("GET", "/v1/customers/portal/nobody"));
    const gone = await createCustomer(h, { external_id: "gone" });
    expect((await h.call("DELETE", `/v1/customers/${gone.id}`)).status).toBe(204);
    expectNotFound(await h.call("GET", "/v1/customers/portal/gone"));
  });

  test("needs customer:write: an event_reader key and a publishable key are refused", async () => {
    const h = await createHarness();
    await createCustomer(h, { external_id: "acme" });
    const reader = await serviceAccountKey(h, ["event_reader"]);
    const res = await h.call("GET", "/v1/customers/portal/acme", { key: reader });
    expect(res.status).toBe(403);
    expect(errorOf(res)).toEqual({
      message: "Insufficient permissions",
      internal_error: "permission_denied",
      details: { required: "customer:write", roles: ["event_reader"] },
    });
    const ingestor = await serviceAccountKey(h, ["event_ingestor"]);
    expect((await h.call("GET", "/v1/customers/portal/acme", { key: ingestor })).status).toBe(403);
    const pk = await h.call("POST", "/v1/secrets/api/keys", { body: { name: "pk", type: "publishable_key" } });
    const byPk = await h.call("GET", "/v1/customers/portal/acme", { key: pk.body.api_key });
    expect(byPk.status).toBe(403);
    expect(errorOf(byPk).message).toBe("Publishable keys cannot access this resource");
    const noKey = await h.call("GET", "/v1/customers/portal/acme", { key: null });
    expect(noKey.status).toBe(401);
    expect(errorOf(noKey).message).toBe("API key required");
    const sessions = (await h.context.db.get(
      "SELECT count(*) AS n FROM audit_logs WHERE action = 'customer.portal_session_created'",
    )) as { n: number };
    expect(sessions.n).toBe(0);
  });
});

describe("portal routes: /v1/customer/portal/*", () => {
  async function session(h: Harness, externalId = "acme") {
    const res = await h.call("GET", `/v1/customers/portal/${externalId}`);
    expect(res.status).toBe(200);
    return res.body.token as string;
  }

  const portal = (h: Harness, path: "info" | "usage", token: string | null, key: string | null = null) =>
    h.call("GET", `/v1/customer/portal/${path}`, { key, headers: token === null ? {} : { "X-Session-Token": token } });

  function expectInvalidSession(res: CallResult) {
    expect(res.status).toBe(401);
    expect(errorOf(res)).toMatchObject({
      message: "Invalid or expired session token",
      internal_error: "permission_denied",
    });
  }

  function expectSessionRequired(res: CallResult) {
    expect(res.status).toBe(401);
    expect(errorOf(res)).toMatchObject({ message: "Session token required", internal_error: "permission_denied" });
  }

  // The generated key never reaches the store (a key file, or a per-store key in memory): tests
  // that forge tokens configure a key of their own.
  const SIGNING_KEY = "customers-test-portal-signing-key-0123456789";

  /** A token made the way Tollgate makes them, with the configured key, so one defect can be tested at a time. */
  async function forge(
    customer: Customer,
    options: { exp?: number; audience?: string; issuer?: string; claims?: Record<string, unknown> } = {},
  ) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      tid: DEFAULT_TENANT,
      env: customer.environment_id,
      ext: customer.external_id,
      ...options.claims,
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(options.issuer ?? PORTAL_ISSUER)
      .setAudience(options.audience ?? PORTAL_AUDIENCE)
      .setSubject(customer.id)
      .setJti(ulid())
      .setIssuedAt(now - 30)
      .setExpirationTime(options.exp ?? now + 30)
      .sign(new TextEncoder().encode(SIGNING_KEY));
  }

  test("info returns the session's customer", async () => {
    const h = await createHarness();
    const acme = await createCustomer(h, { external_id: "acme", name: "Acme", metadata: { plan: "pro" } });
    await createCustomer(h, { external_id: "globex" });
    const token = await session(h);
    const res = await portal(h, "info", token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(acme);
  });

  test("usage: event counts by event_name for that customer over the last 30 days", async () => {
    const h = await createHarness();
    await createCustomer(h, { external_id: "acme" });
    await createCustomer(h, { external_id: "globex" });
    const now = Date.now();
    const ago = (days: number) => new Date(now - days * 24 * 3600 * 1000).toISOString();
    const events = [
      { event_name: "api_call", external_customer_id: "acme", timestamp: ago(0.01) },
      { event_name: "api_call", external_customer_id: "acme", timestamp: ago(1) },
      { event_name: "api_call", external_customer_id: "acme", timestamp: ago(29) },
      { event_name: "storage_gb", external_customer_id: "acme", timestamp: ago(2) },
      { event_name: "api_call", external_customer_id: "acme", timestamp: ago(40) },
      { event_name: "old_only", external_customer_id: "acme", timestamp: ago(40) },
      { event_name: "api_call", external_customer_id: "globex", timestamp: ago(1) },
      { event_name: "export", external_customer_id: "globex", timestamp: ago(1) },
    ];
    expect((await h.call("POST", "/v1/events/bulk", { body: { events } })).status).toBe(202);
    // The same customer id in the production environment is someone else.
    const prod = { "X-Environment-ID": (await environmentOf(h, "production")).id };
    const inProd = await h.call("POST", "/v1/events", {
      headers: prod,
      body: { event_name: "api_call", external_customer_id: "acme", timestamp: ago(1) },
    });
    expect(inProd.status).toBe(202);

    const res = await portal(h, "usage", await session(h));
    expect(res.status).toBe(200);
    const usage = [...res.body.usage].sort((a, b) => a.event_name.localeCompare(b.event_name));
    expect(usage).toEqual([
      { event_name: "api_call", count: 3 },
      { event_name: "storage_gb", count: 1 },
    ]);
    const globex = await portal(h, "usage", await session(h, "globex"));
    expect([...globex.body.usage].sort((a, b) => a.event_name.localeCompare(b.event_name))).toEqual([
      { event_name: "api_call", count: 1 },
      { event_name: "export", count: 1 },
    ]);
  });

  test("usage: events timestamped after now are not in the last 30 days", async () => {
    const h = await createHarness();
    await createCustomer(h, { external_id: "acme" });
    const day = 24 * 3600 * 1000;
    const events = [
      { event_name: "api_call", external_customer_id: "acme", timestamp: new Date(Date.now() - day).toISOString() },
      { event_name: "api_call", external_customer_id: "acme", timestamp: new Date(Date.now() + 2 * day).toISOString() },
      {
        event_name: "scheduled",
        external_customer_id: "acme",
        timestamp: new Date(Date.now() + 7 * day).toISOString(),
      },
    ];
    expect((await h.call("POST", "/v1/events/bulk", { body: { events } })).status).toBe(202);
    const res = await portal(h, "usage", await session(h));
    expect(res.status).toBe(200);
    expect(res.body.usage).toEqual([{ event_name: "api_call", count: 1 }]);
  });

  test("the token works nowhere else: 401 API key required", async () => {
    const h = await createHarness();
    const acme = await createCustomer(h, { external_id: "acme" });
    const token = await session(h);
    const elsewhere: [string, string][] = [
      ["GET", "/v1/customers"],
      ["GET", `/v1/customers/${acme.id}`],
      ["GET", "/v1/customers/external/acme"],
      ["GET", "/v1/customers/portal/acme"],
      ["GET", "/v1/users/me"],
      ["GET", "/v1/events"],
      ["GET", "/v1/rbac/roles"],
    ];
    for (const [method, path] of elsewhere) {
      const res = await h.call(method, path, { key: null, headers: { "X-Session-Token": token } });
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
      expect(errorOf(res).message).toBe("API key required");
    }
    const asApiKey = await h.call("GET", "/v1/customers", { key: token });
    expect(asApiKey.status).toBe(401);
    expect(errorOf(asApiKey).message).toBe("Invalid API key");
    const asBearer = await h.call("GET", "/v1/customers", { key: null, headers: { Authorization: `Bearer ${token}` } });
    expect(asBearer.status).toBe(401);
    expect(errorOf(asBearer).internal_error).toBe("permission_denied");
  });

  test("API keys do not work on portal routes, not even the development key: 401 Session token required", async () => {
    const h = await createHarness();
    await createCustomer(h, { external_id: "acme" });
    const stored = await h.call("POST", "/v1/secrets/api/keys", { body: { name: "admin" } });
    expect(stored.status).toBe(201);
    for (const path of ["info", "usage"] as const) {
      expectSessionRequired(await portal(h, path, null, DEV_KEY));
      expectSessionRequired(await portal(h, path, null, stored.body.api_key));
      expectSessionRequired(await portal(h, path, null, null));
      expectSessionRequired(await portal(h, path, "", null));
    }
    // The portal token as a Bearer token is not a session token either.
    const token = await session(h);
    const bearer = await h.call("GET", "/v1/customer/portal/info", {
      key: null,
      headers: { Authorization: `Bearer ${token}` },
    });
    expectSessionRequired(bearer);
  });

  test("a tampered token: 401 Invalid or expired session token", async () => {
    const h = await createHarness();
    await createCustomer(h, { external_id: "acme" });
    const globex = await createCustomer(h, { external_id: "globex" });
    const token = await session(h);
    const [header, payload, signature] = token.split(".") as [string, string, string];

    // Claim to be another customer, keeping the original signature.
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    const swapped = Buffer.from(JSON.stringify({ ...claims, sub: globex.id, ext: "globex" })).toString("base64url");
    // Change a character in the middle of the signature.
    const i = Math.floor(signature.length / 2);
    const badSignature = signature.slice(0, i) + (signature[i] === "A" ? "B" : "A") + signature.slice(i + 1);
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.`;

    for (const bad of [
      `${header}.${swapped}.${signature}`,
      `${header}.${payload}.${badSignature}`,
      unsigned,
      "garbage",
      `${token}x`,
    ]) {
      for (const path of ["info", "usage"] as const) expectInvalidSession(await portal(h, path, bad));
    }
    // The genuine token still works.
    expect((await portal(h, "info", token)).status).toBe(200);
  });

  test("a token signed with another Tollgate's key: 401", async () => {
    const h = await createHarness();
    const other = await createHarness();
    await createCustomer(h, { external_id: "acme" });
    await createCustomer(other, { external_id: "acme" });
    const foreign = await session(other);
    expect((await portal(other, "info", foreign)).status).toBe(200);
    expectInvalidSession(await portal(h, "info", foreign));
    expectInvalidSession(await portal(h, "usage", foreign));
  });

  test("a token signed with the right key: accepted only with a future exp, the portal audience and issuer", async () => {
    const h = await createHarness({ customer_portal: { session_ttl_seconds: 60, signing_key: SIGNING_KEY } });
    const acme = await createCustomer(h, { external_id: "acme" });
    const now = Math.floor(Date.now() / 1000);
    // The forging works: a well-formed token is accepted, so each refusal below is for its one defect.
    const good = await forge(acme);
    expect((await portal(h, "info", good)).body.id).toBe(acme.id);

    const expired = await forge(acme, { exp: now - 1 });
    const wrongAudience = await forge(acme, { audience: "tollgate:dashboard" });
    const wrongIssuer = await forge(acme, { issuer: "someone-else" });
    const noTenant = await forge(acme, { claims: { tid: undefined } });
    for (const bad of [expired, wrongAudience, wrongIssuer, noTenant]) {
      for (const path of ["info", "usage"] as const) expectInvalidSession(await portal(h, path, bad));
    }
  });

  test("a deleted customer's token: 404 on portal routes, even once its external_id is reused", async () => {
    const h = await createHarness();
    const acme = await createCustomer(h, { external_id: "acme" });
    const token = await session(h);
    expect((await portal(h, "info", token)).status).toBe(200);
    expect((await h.call("DELETE", `/v1/customers/${acme.id}`)).status).toBe(204);
    expectNotFound(await portal(h, "info", token));
    expectNotFound(await portal(h, "usage", token));

    const successor = await createCustomer(h, { external_id: "acme" });
    expectNotFound(await portal(h, "info", token));
    const fresh = await session(h);
    expect((await portal(h, "info", fresh)).body.id).toBe(successor.id);
  });
});

describe("customer deletion in the audit log (a second witness)", () => {
  test("deleted with a service account's key: customer.deleted names that account, before and after", async () => {
    const h = await createHarness();
    const account = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "crm sync", roles: ["super_admin"] },
    });
    expect(account.status).toBe(201);
    const key = await h.call("POST", "/v1/secrets/api/keys", {
      body: { name: "crm", service_account_id: account.body.id },
    });
    expect(key.status).toBe(201);
    const customer = await createCustomer(h, { external_id: "leaving", name: "Leaving Ltd" });
    expect((await h.call("DELETE", `/v1/customers/${customer.id}`, { key: key.body.api_key })).status).toBe(204);

    const res = await h.call("GET", "/v1/audit-logs?action=customer.deleted");
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0]).toMatchObject({
      action: "customer.deleted",
      resource_type: "customer",
      resource_id: customer.id,
      actor: { id: account.body.id, type: "service_account" },
    });
    expect(res.body.items[0].changes.before).toMatchObject({ external_id: "leaving", status: "published" });
    expect(res.body.items[0].changes.after).toMatchObject({ status: "deleted" });
  });
});

describe("portal usage is one tenant's customer only (a second witness)", () => {
  test("another tenant's customer with the same external id and events never shows in this portal", async () => {
    const h = await createTwoTenantHarness();
    await createCustomer(h, { external_id: "acme" });
    await createCustomer(h, { external_id: "acme" }, { key: OTHER_TENANT_KEY });
    const ingest = (key: string | undefined, event_name: string, n: number) =>
      h.call("POST", "/v1/events/bulk", {
        key,
        body: { events: Array.from({ length: n }, () => ({ event_name, external_customer_id: "acme" })) },
      });
    expect((await ingest(undefined, "api_call", 2)).status).toBe(202);
    expect((await ingest(OTHER_TENANT_KEY, "api_call", 5)).status).toBe(202);
    expect((await ingest(OTHER_TENANT_KEY, "other_tenant_only", 1)).status).toBe(202);

    const mine = await h.call("GET", "/v1/customers/portal/acme");
    expect(mine.status).toBe(200);
    const usage = await h.call("GET", "/v1/customer/portal/usage", {
      key: null,
      headers: { "X-Session-Token": mine.body.token },
    });
    expect(usage.status).toBe(200);
    expect(usage.body.usage).toEqual([{ event_name: "api_call", count: 2 }]);
  });
});
