// Issue 10 for customers, over HTTP: every field of Flexprice's customer request and response
// (address, parent customer, created_by/updated_by, tenant_id), the SDK's PUT /v1/customers?…,
// its search filters, and the refusals of what Tollgate cannot honour. The SDK itself drives
// the same routes in test/sdk/customers.test.ts.
import { describe, expect, test } from "bun:test";
import { openDatabase, MEMORY_DATABASE } from "../src/db";
import { type Db, migrate } from "../src/db/sqlite/open";
import { MIGRATIONS } from "../src/db/sqlite/migrations";
import {
  type CallResult,
  createHarness,
  createTwoTenantHarness,
  DEFAULT_TENANT,
  errorOf,
  type Harness,
  OTHER_TENANT_KEY,
  OTHER_TENANT_USER,
  errorBody,
} from "./support/harness";
import { environmentOf, issueTestKey } from "./support/keys";

const COUNTRY_RULE = "must be a two-letter ISO 3166-1 alpha-2 country code in capitals, such as US";

type Customer = Record<string, any>;

async function create(
  h: Harness,
  body: Record<string, unknown>,
  options: { key?: string; headers?: Record<string, string> } = {},
) {
  const res = await h.call("POST", "/v1/customers", { ...options, body });
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
  return res.body as Customer;
}

function expectError(res: CallResult, status: number, code: string, message?: string, fields?: string[]) {
  expect({ status: res.status, text: res.text }).toMatchObject({ status });
  const error = errorOf(res);
  expect(error.internal_error).toBe(code);
  if (message !== undefined) expect(error.message).toBe(message);
  if (fields !== undefined) expect(Object.keys(error.details ?? {}).sort()).toEqual([...fields].sort());
  return error;
}

const expect400 = (res: CallResult, field: string, message?: string) =>
  expectError(res, 400, "validation_error", message, [field]);

function expectRouteNotFound(res: CallResult) {
  expect(res.status).toBe(404);
  expect(res.body).toEqual(errorBody(404, "not_found", "Route not found"));
}

const count = async (h: Harness, where = "1 = 1", ...params: unknown[]) =>
  ((await h.context.db.get(`SELECT count(*) AS n FROM customers WHERE ${where}`, ...params)) as { n: number }).n;

/** A service account (made in the store: this file tests customers, not users) and a key for it. */
async function serviceAccount(h: Harness, roles = ["super_admin"]): Promise<{ id: string; key: string }> {
  const id = `usr_svc_${roles.join("_")}`;
  const now = new Date().toISOString();
  await h.context.db.run(
    `INSERT INTO users (id, tenant_id, type, name, roles, created_at, updated_at)
     VALUES (?, ?, 'service_account', 'svc', ?, ?, ?)`,
    id,
    DEFAULT_TENANT,
    JSON.stringify(roles),
    now,
    now,
  );
  return { id, key: (await issueTestKey(h, { userId: id, roles })).apiKey };
}

const ADDRESS = {
  address_line1: "1 Infinite Loop",
  address_line2: "Building 4",
  address_city: "Cupertino",
  address_state: "CA",
  address_postal_code: "95014",
  address_country: "US",
};
const NO_ADDRESS = Object.fromEntries(Object.keys(ADDRESS).map((k) => [k, null]));

describe("the customer shape: every field of Flexprice's customer, null where there is no value", () => {
  test("a bare customer: address, parent and the rest are present, null", async () => {
    const h = await createHarness();
    const customer = await create(h, { external_id: "bare" });
    expect(customer).toEqual({
      id: expect.stringMatching(/^cust_[0-9A-Z]{26}$/),
      external_id: "bare",
      name: null,
      email: null,
      contact: null,
      timezone: "UTC",
      onboarding_workflow_name: null,
      skip_onboarding_workflow: false,
      metadata: {},
      status: "published",
      ...NO_ADDRESS,
      parent_customer_id: null,
      parent_customer: null,
      tenant_id: DEFAULT_TENANT,
      environment_id: (await environmentOf(h, "development")).id,
      created_by: DEFAULT_TENANT,
      updated_by: DEFAULT_TENANT,
      created_at: expect.any(String),
      updated_at: customer.created_at,
    });
    for (const path of [`/v1/customers/${customer.id}`, "/v1/customers/external/bare"]) {
      expect((await h.call("GET", path)).body).toEqual(customer);
    }
    expect((await h.call("POST", "/v1/customers/search", { body: {} })).body.items).toEqual([customer]);
    expect((await h.call("GET", "/v1/customers")).body.items).toEqual([customer]);
  });

  test("created_by and updated_by: the user or service account behind the key, per change", async () => {
    const h = await createTwoTenantHarness();
    const svc = await serviceAccount(h);
    const customer = await create(h, { external_id: "acme" }, { key: svc.key });
    expect(customer).toMatchObject({ created_by: svc.id, updated_by: svc.id });
    const updated = await h.call("PUT", `/v1/customers/${customer.id}`, { body: { name: "Acme" } });
    expect(updated.body).toMatchObject({ created_by: svc.id, updated_by: DEFAULT_TENANT });
    expect((await h.call("DELETE", `/v1/customers/${customer.id}`, { key: svc.key })).status).toBe(204);
    expect((await h.call("GET", `/v1/customers/${customer.id}`)).body).toMatchObject({
      status: "deleted",
      created_by: svc.id,
      updated_by: svc.id,
    });
    // Another tenant's config key: its own user id and tenant.
    const theirs = await create(h, { external_id: "acme" }, { key: OTHER_TENANT_KEY });
    expect(theirs).toMatchObject({ created_by: OTHER_TENANT_USER, tenant_id: "tenant-two" });
  });
});

describe("name and email: an empty string or null clears them, as every optional field", () => {
  test('PUT with "" or null stores null, never an empty string', async () => {
    const h = await createHarness();
    const customer = await create(h, { external_id: "acme", name: "Acme", email: "billing@acme.test" });
    for (const cleared of ["", null]) {
      const set = await h.call("PUT", `/v1/customers/${customer.id}`, {
        body: { name: "Acme", email: "billing@acme.test" },
      });
      expect(set.body).toMatchObject({ name: "Acme", email: "billing@acme.test" });
      const res = await h.call("PUT", `/v1/customers/${customer.id}`, { body: { name: cleared, email: cleared } });
      expect({ cleared, status: res.status, text: res.text }).toMatchObject({ cleared, status: 200 });
      expect({ cleared, name: res.body.name, email: res.body.email }).toEqual({ cleared, name: null, email: null });
      expect((await h.call("GET", `/v1/customers/${customer.id}`)).body).toEqual(res.body);
    }
    const stored = await h.context.db.get("SELECT name, email FROM customers WHERE id = ?", customer.id);
    expect(stored).toEqual({ name: null, email: null });
  });

  test('POST with "": no name, no email (Flexprice\'s omitempty email accepts it)', async () => {
    const h = await createHarness();
    const customer = await create(h, { external_id: "acme", name: "", email: "" });
    expect(customer).toMatchObject({ name: null, email: null });
  });

  test("an email that is not empty must still be one", async () => {
    const h = await createHarness();
    const customer = await create(h, { external_id: "acme" });
    for (const email of [" ", "nope", "a@b"]) {
      expect400(
        await h.call("PUT", `/v1/customers/${customer.id}`, { body: { email } }),
        "email",
        "email must be a valid email",
      );
    }
  });
});

describe("address fields", () => {
  test("stored and returned; PUT changes the sent ones, an empty string or null clears one", async () => {
    const h = await createHarness();
    const customer = await create(h, { external_id: "acme", ...ADDRESS });
    expect(customer).toMatchObject(ADDRESS);
    const res = await h.call("PUT", `/v1/customers/${customer.id}`, {
      body: { address_city: "San Francisco", address_line2: "", address_state: null },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      ...ADDRESS,
      address_city: "San Francisco",
      address_line2: null,
      address_state: null,
    });
    expect((await h.call("GET", `/v1/customers/${customer.id}`)).body).toEqual(res.body);
    // Clearing the country with an empty string, as the SDK sends it.
    const cleared = await h.call("PUT", `/v1/customers/${customer.id}`, { body: { address_country: "" } });
    expect(cleared.body.address_country).toBeNull();
  });

  test("Flexprice's limits: lines 255, city and state 100, postal code 20 characters", async () => {
    const h = await createHarness();
    const longest = {
      address_line1: "a".repeat(255),
      address_line2: "b".repeat(255),
      address_city: "c".repeat(100),
      address_state: "d".repeat(100),
      address_postal_code: "e".repeat(20),
    };
    expect(await create(h, { external_id: "max", ...longest })).toMatchObject(longest);
    for (const [field, length] of Object.entries({
      address_line1: 256,
      address_line2: 256,
      address_city: 101,
      address_state: 101,
      address_postal_code: 21,
    })) {
      const body = { external_id: "over", [field]: "x".repeat(length) };
      expect400(
        await h.call("POST", "/v1/customers", { body }),
        field,
        `${field} must be a string of at most ${length - 1} characters, or null`,
      );
    }
    expect(await count(h)).toBe(1);
  });

  test("address_country: an ISO 3166-1 alpha-2 code in capitals, or 400 naming it", async () => {
    const h = await createHarness();
    for (const code of ["US", "DE", "GB", "IN", "AX"]) {
      expect((await create(h, { external_id: `c-${code}`, address_country: code })).address_country).toBe(code);
    }
    const customer = await create(h, { external_id: "acme" });
    for (const code of ["USA", "us", "ZZ", "UK", "X", "12", " US", "United States"]) {
      expect400(
        await h.call("POST", "/v1/customers", { body: { external_id: "bad", address_country: code } }),
        "address_country",
        `address_country ${COUNTRY_RULE}`,
      );
      expect400(
        await h.call("PUT", `/v1/customers/${customer.id}`, { body: { address_country: code } }),
        "address_country",
      );
    }
    expect(await count(h, "external_id = 'bad'")).toBe(0);
    expect((await h.call("GET", `/v1/customers/${customer.id}`)).body.address_country).toBeNull();
  });

  test("non-string address values: 400 naming the field", async () => {
    const h = await createHarness();
    for (const [field, value] of [
      ["address_city", 42],
      ["address_line1", ["a"]],
      ["address_postal_code", { code: "1" }],
    ] as const) {
      expect400(await h.call("POST", "/v1/customers", { body: { external_id: "x", [field]: value } }), field);
    }
  });
});

describe("parent customer", () => {
  test("by parent_customer_id or parent_customer_external_id: stored, and the parent expanded in full", async () => {
    const h = await createHarness();
    const parent = await create(h, { external_id: "holding", name: "Holding", ...ADDRESS });
    const byId = await create(h, { external_id: "sub-1", parent_customer_id: parent.id });
    const byExternal = await create(h, { external_id: "sub-2", parent_customer_external_id: "holding" });
    for (const child of [byId, byExternal]) {
      expect(child.parent_customer_id).toBe(parent.id);
      expect(child.parent_customer).toEqual({ ...parent, parent_customer: null });
      expect((await h.call("GET", `/v1/customers/${child.id}`)).body).toEqual(child);
      expect((await h.call("GET", `/v1/customers/external/${child.external_id}`)).body).toEqual(child);
    }
    const listed = await h.call("POST", "/v1/customers/search", { body: { order: "asc" } });
    expect(listed.body.items).toEqual([parent, byId, byExternal]);
  });

  test("an empty string or null is no parent", async () => {
    const h = await createHarness();
    for (const body of [
      { external_id: "a", parent_customer_id: "" },
      { external_id: "b", parent_customer_id: null },
      { external_id: "c", parent_customer_external_id: "" },
    ]) {
      expect(await create(h, body)).toMatchObject({ parent_customer_id: null, parent_customer: null });
    }
  });

  test("both references at once: 400 naming both, nothing created", async () => {
    const h = await createHarness();
    const parent = await create(h, { external_id: "p" });
    const body = { external_id: "c", parent_customer_id: parent.id, parent_customer_external_id: "p" };
    expectError(
      await h.call("POST", "/v1/customers", { body }),
      400,
      "validation_error",
      "Only one of parent_customer_id or parent_customer_external_id may be provided",
      ["parent_customer_external_id", "parent_customer_id"],
    );
    expect(await count(h)).toBe(1);
  });

  test("an unknown or deleted parent: 404 Parent customer not found, nothing created", async () => {
    const h = await createHarness();
    const gone = await create(h, { external_id: "gone" });
    expect((await h.call("DELETE", `/v1/customers/${gone.id}`)).status).toBe(204);
    for (const reference of [
      { parent_customer_id: "cust_01ARZ3NDEKTSV4RRFFQ69G5FAV" },
      { parent_customer_id: gone.id },
      { parent_customer_external_id: "nobody" },
      { parent_customer_external_id: "gone" },
    ]) {
      expectError(
        await h.call("POST", "/v1/customers", { body: { external_id: "orphan", ...reference } }),
        404,
        "not_found",
        "Parent customer not found",
      );
    }
    expect(await count(h, "external_id = 'orphan'")).toBe(0);
  });

  test("one level deep: a child cannot be a parent, a parent cannot become a child, nobody is their own parent", async () => {
    const h = await createHarness();
    const top = await create(h, { external_id: "top" });
    const child = await create(h, { external_id: "child", parent_customer_id: top.id });
    const other = await create(h, { external_id: "other" });
    // A grandchild: refused on create and on update.
    expectError(
      await h.call("POST", "/v1/customers", { body: { external_id: "grandchild", parent_customer_id: child.id } }),
      400,
      "invalid_operation",
      "The parent customer has a parent of its own: customer hierarchies are one level deep",
    );
    expectError(
      await h.call("PUT", `/v1/customers/${other.id}`, { body: { parent_customer_external_id: "child" } }),
      400,
      "invalid_operation",
      "The parent customer has a parent of its own: customer hierarchies are one level deep",
    );
    // The top of a hierarchy under another customer: refused (this is also what rules out a cycle).
    expectError(
      await h.call("PUT", `/v1/customers/${top.id}`, { body: { parent_customer_id: other.id } }),
      400,
      "invalid_operation",
      "This customer is the parent of other customers, so it cannot have a parent itself",
    );
    expectError(
      await h.call("PUT", `/v1/customers/${top.id}`, { body: { parent_customer_id: child.id } }),
      400,
      "invalid_operation",
    );
    // Its own parent, by id or external id.
    expectError(
      await h.call("PUT", `/v1/customers/${other.id}`, { body: { parent_customer_id: other.id } }),
      400,
      "validation_error",
      "A customer cannot be its own parent",
      ["parent_customer_id"],
    );
    expectError(
      await h.call("PUT", `/v1/customers/${other.id}`, { body: { parent_customer_external_id: "other" } }),
      400,
      "validation_error",
      "A customer cannot be its own parent",
      ["parent_customer_external_id"],
    );
    for (const c of [top, child, other]) expect((await h.call("GET", `/v1/customers/${c.id}`)).body).toEqual(c);
    expect(await count(h)).toBe(3);
  });

  test("PUT sets, keeps, moves and detaches the parent", async () => {
    const h = await createHarness();
    const a = await create(h, { external_id: "a" });
    const b = await create(h, { external_id: "b" });
    const c = await create(h, { external_id: "c" });
    const put = (body: Record<string, unknown>) => h.call("PUT", `/v1/customers/${c.id}`, { body });
    expect((await put({ parent_customer_id: a.id })).body.parent_customer.id).toBe(a.id);
    // Not sent: kept. Sent again: fine.
    expect((await put({ name: "C" })).body.parent_customer_id).toBe(a.id);
    expect((await put({ parent_customer_id: a.id })).status).toBe(200);
    expect((await put({ parent_customer_external_id: "b" })).body.parent_customer.id).toBe(b.id);
    for (const detach of [
      { parent_customer_id: "" },
      { parent_customer_id: null },
      { parent_customer_external_id: "" },
    ]) {
      expect((await put({ parent_customer_id: a.id })).status).toBe(200);
      const res = await put(detach);
      expect(res.body).toMatchObject({ parent_customer_id: null, parent_customer: null });
    }
    // Detached, a former child may itself become a parent.
    expect((await h.call("PUT", `/v1/customers/${a.id}`, { body: { parent_customer_id: c.id } })).status).toBe(200);
  });

  test("a parent of live customers cannot be deleted until they are detached or deleted", async () => {
    const h = await createHarness();
    const parent = await create(h, { external_id: "parent" });
    const first = await create(h, { external_id: "first", parent_customer_id: parent.id });
    const second = await create(h, { external_id: "second", parent_customer_id: parent.id });
    const refused = expectError(
      await h.call("DELETE", `/v1/customers/${parent.id}`),
      400,
      "invalid_operation",
      "This customer is the parent of other customers: detach or delete them first",
    );
    expect(refused.details).toEqual({ child_customers: 2 });
    expect((await h.call("DELETE", `/v1/customers/${first.id}`)).status).toBe(204);
    expect((await h.call("PUT", `/v1/customers/${second.id}`, { body: { parent_customer_id: "" } })).status).toBe(200);
    expect((await h.call("DELETE", `/v1/customers/${parent.id}`)).status).toBe(204);
    // The deleted child still reads with the parent it had.
    const old = await h.call("GET", `/v1/customers/${first.id}`);
    expect(old.body).toMatchObject({ status: "deleted", parent_customer_id: parent.id });
    expect(old.body.parent_customer).toMatchObject({ id: parent.id, status: "deleted" });
  });

  test("isolation: a parent of another tenant or environment is 404, by id or external id, and never shown", async () => {
    const h = await createTwoTenantHarness();
    const prod = { "X-Environment-ID": (await environmentOf(h, "production")).id };
    const theirs = await create(h, { external_id: "theirs", name: "Secret Parent" }, { key: OTHER_TENANT_KEY });
    const inProd = await create(h, { external_id: "prod-parent", name: "Prod Parent" }, { headers: prod });
    const mine = await create(h, { external_id: "mine" });
    const attempts = [
      { parent_customer_id: theirs.id },
      { parent_customer_external_id: "theirs" },
      { parent_customer_id: inProd.id },
      { parent_customer_external_id: "prod-parent" },
    ];
    for (const reference of attempts) {
      for (const res of [
        await h.call("POST", "/v1/customers", { body: { external_id: "child", ...reference } }),
        await h.call("PUT", `/v1/customers/${mine.id}`, { body: reference }),
      ]) {
        expectError(res, 404, "not_found", "Parent customer not found");
        expect(res.text).not.toContain("Secret Parent");
        expect(res.text).not.toContain("Prod Parent");
      }
    }
    expect(await count(h, "external_id = 'child'")).toBe(0);
    expect((await h.call("GET", `/v1/customers/${mine.id}`)).body).toEqual(mine);
    // Their parent ids filter nothing of ours in, and ours nothing of theirs.
    const child = await create(
      h,
      { external_id: "their-child", parent_customer_id: theirs.id },
      { key: OTHER_TENANT_KEY },
    );
    const search = await h.call("POST", "/v1/customers/search", { body: { parent_customer_ids: [theirs.id] } });
    expect(search.body.items).toEqual([]);
    const theirSearch = await h.call("POST", "/v1/customers/search", {
      key: OTHER_TENANT_KEY,
      body: { parent_customer_ids: [theirs.id] },
    });
    expect(theirSearch.body.items.map((c: Customer) => c.id)).toEqual([child.id]);
  });
});

describe("PUT /v1/customers?id= | ?external_customer_id= (the SDK's updateCustomer)", () => {
  test("by id, by external id, or by both naming the same customer", async () => {
    const h = await createHarness();
    const acme = await create(h, { external_id: "acme", name: "Acme" });
    const byId = await h.call("PUT", `/v1/customers?id=${acme.id}`, { body: { name: "By id" } });
    expect(byId.status).toBe(200);
    expect(byId.body).toMatchObject({ id: acme.id, name: "By id" });
    const byExternal = await h.call("PUT", "/v1/customers?external_customer_id=acme", {
      body: { name: "By external id", ...ADDRESS },
    });
    expect(byExternal.body).toMatchObject({ id: acme.id, name: "By external id", ...ADDRESS });
    const both = await h.call("PUT", `/v1/customers?id=${acme.id}&external_customer_id=acme`, {
      body: { name: "Both" },
    });
    expect(both.body).toMatchObject({ id: acme.id, name: "Both" });
    expect((await h.call("GET", `/v1/customers/${acme.id}`)).body).toEqual(both.body);
  });

  test("external_customer_id names the customer; external_id in the body renames it", async () => {
    const h = await createHarness();
    const acme = await create(h, { external_id: "acme" });
    const res = await h.call("PUT", "/v1/customers?external_customer_id=acme", { body: { external_id: "acme-eu" } });
    expect(res.body).toMatchObject({ id: acme.id, external_id: "acme-eu" });
    expect((await h.call("GET", "/v1/customers/external/acme")).status).toBe(404);
    await create(h, { external_id: "globex" });
    // Renaming onto a live external id: 409, as on the path route.
    expectError(
      await h.call("PUT", "/v1/customers?external_customer_id=acme-eu", { body: { external_id: "globex" } }),
      409,
      "already_exists",
    );
  });

  test("neither, empty, or two that disagree: 400; an unknown or deleted customer: 404", async () => {
    const h = await createHarness();
    const acme = await create(h, { external_id: "acme", name: "Acme" });
    const globex = await create(h, { external_id: "globex" });
    for (const query of ["", "?id=", "?external_customer_id=", "?id=&external_customer_id="]) {
      expectError(
        await h.call("PUT", `/v1/customers${query}`, { body: { name: "x" } }),
        400,
        "validation_error",
        "Either id or external_customer_id is required",
        ["external_customer_id", "id"],
      );
    }
    expectError(
      await h.call("PUT", `/v1/customers?id=${acme.id}&external_customer_id=globex`, { body: { name: "x" } }),
      400,
      "validation_error",
      "id and external_customer_id refer to different customers",
      ["external_customer_id"],
    );
    expect400(await h.call("PUT", `/v1/customers?customer_id=${acme.id}`, { body: { name: "x" } }), "customer_id");
    for (const query of ["?id=cust_01ARZ3NDEKTSV4RRFFQ69G5FAV", "?external_customer_id=nobody", "?id=nobody"]) {
      expectError(
        await h.call("PUT", `/v1/customers${query}`, { body: { name: "x" } }),
        404,
        "not_found",
        "Customer not found",
      );
    }
    expect((await h.call("DELETE", `/v1/customers/${globex.id}`)).status).toBe(204);
    expectError(await h.call("PUT", `/v1/customers?id=${globex.id}`, { body: { name: "x" } }), 404, "not_found");
    expectError(
      await h.call("PUT", "/v1/customers?external_customer_id=globex", { body: { name: "x" } }),
      404,
      "not_found",
    );
    expect((await h.call("GET", `/v1/customers/${acme.id}`)).body).toEqual(acme);
  });

  test("the body's rules are the path route's: unknown fields and bad values are 400", async () => {
    const h = await createHarness();
    const acme = await create(h, { external_id: "acme" });
    for (const [body, field] of [
      [{ status: "deleted" }, "status"],
      [{ email: "nope" }, "email"],
      [{ skip_onboarding_workflow: true }, "skip_onboarding_workflow"],
      [{ tax_rate_overrides: [] }, "tax_rate_overrides"],
    ] as [Record<string, unknown>, string][]) {
      expect400(await h.call("PUT", `/v1/customers?id=${acme.id}`, { body }), field);
    }
  });

  test("another tenant's or environment's customer: 404, unchanged", async () => {
    const h = await createTwoTenantHarness();
    const victim = await create(h, { external_id: "victim", name: "Victim" });
    const prod = { "X-Environment-ID": (await environmentOf(h, "production")).id };
    for (const [key, headers] of [
      [OTHER_TENANT_KEY, {}],
      [undefined, prod],
    ] as [string | undefined, Record<string, string>][]) {
      for (const query of [`?id=${victim.id}`, "?external_customer_id=victim"]) {
        const res = await h.call("PUT", `/v1/customers${query}`, { key, headers, body: { name: "Taken over" } });
        expectError(res, 404, "not_found", "Customer not found");
      }
    }
    expect((await h.call("GET", `/v1/customers/${victim.id}`)).body).toEqual(victim);
  });

  test("needs customer:write", async () => {
    const h = await createHarness();
    const acme = await create(h, { external_id: "acme" });
    const reader = (await serviceAccount(h, ["event_reader"])).key;
    const res = await h.call("PUT", `/v1/customers?id=${acme.id}`, { key: reader, body: { name: "x" } });
    expect(res.status).toBe(403);
    expect(errorOf(res).details).toMatchObject({ required: "customer:write" });
    expect((await h.call("PUT", `/v1/customers?id=${acme.id}`, { key: null, body: { name: "x" } })).status).toBe(401);
  });
});

describe("POST /v1/customers: the rest of Flexprice's create request", () => {
  test("integration_entity_mapping: kept as metadata <provider>_customer_id, as Flexprice does", async () => {
    const h = await createHarness();
    const customer = await create(h, {
      external_id: "acme",
      metadata: { plan: "pro" },
      integration_entity_mapping: [
        { provider: "stripe", id: "cus_123" },
        { provider: "razorpay", id: "cust_rzp" },
      ],
    });
    expect(customer.metadata).toEqual({ plan: "pro", stripe_customer_id: "cus_123", razorpay_customer_id: "cust_rzp" });
    const updated = await h.call("PUT", `/v1/customers/${customer.id}`, {
      body: { integration_entity_mapping: [{ provider: "stripe", id: "cus_456" }] },
    });
    expect(updated.body.metadata).toEqual({
      plan: "pro",
      stripe_customer_id: "cus_456",
      razorpay_customer_id: "cust_rzp",
    });
    // Metadata sent with it is replaced first, then the mapping applied.
    const replaced = await h.call("PUT", `/v1/customers/${customer.id}`, {
      body: { metadata: { tier: "gold" }, integration_entity_mapping: [{ provider: "paypal", id: "pp-1" }] },
    });
    expect(replaced.body.metadata).toEqual({ tier: "gold", paypal_customer_id: "pp-1" });
  });

  test("integration_entity_mapping refusals: unknown provider, no id, a provider twice, too many metadata keys", async () => {
    const h = await createHarness();
    const post = (integration_entity_mapping: unknown, metadata?: Record<string, string>) =>
      h.call("POST", "/v1/customers", { body: { external_id: "x", integration_entity_mapping, metadata } });
    expect400(await post([{ provider: "adyen", id: "1" }]), "integration_entity_mapping[0].provider");
    expect400(await post([{ provider: "stripe" }]), "integration_entity_mapping[0].id");
    expect400(await post([{ provider: "stripe", id: "" }]), "integration_entity_mapping[0].id");
    expect400(await post([{ provider: "stripe", id: "1", extra: true }]), "integration_entity_mapping[0].extra");
    expect400(
      await post([
        { provider: "stripe", id: "1" },
        { provider: "stripe", id: "2" },
      ]),
      "integration_entity_mapping[1].provider",
      "integration_entity_mapping lists stripe more than once",
    );
    const full = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"]));
    expect400(await post([{ provider: "stripe", id: "1" }], full), "metadata");
    expect(await count(h)).toBe(0);
  });

  test("skip_onboarding_workflow and onboarding_workflow_name: stored and returned (Tollgate runs no workflow); a boolean only", async () => {
    const h = await createHarness();
    for (const skip of [true, false]) {
      const customer = await create(h, {
        external_id: `c-${skip}`,
        skip_onboarding_workflow: skip,
        onboarding_workflow_name: "enterprise",
      });
      expect(customer).toMatchObject({ skip_onboarding_workflow: skip, onboarding_workflow_name: "enterprise" });
    }
    expect400(
      await h.call("POST", "/v1/customers", { body: { external_id: "x", skip_onboarding_workflow: "yes" } }),
      "skip_onboarding_workflow",
    );
  });

  test("tax_rate_overrides: an empty list is accepted; any rate is 400 (it would be silently lost)", async () => {
    const h = await createHarness();
    expect((await create(h, { external_id: "untaxed", tax_rate_overrides: [] })).external_id).toBe("untaxed");
    const res = await h.call("POST", "/v1/customers", {
      body: {
        external_id: "taxed",
        tax_rate_overrides: [{ tax_rate_code: "VAT20", currency: "eur", auto_apply: true }],
      },
    });
    expect400(res, "tax_rate_overrides", "tax_rate_overrides is not supported: Tollgate keeps no tax rates");
    expect400(
      await h.call("POST", "/v1/customers", {
        body: { external_id: "taxed", tax_rate_overrides: [{ currency: "eur" }] },
      }),
      "tax_rate_overrides[0].tax_rate_code",
    );
    expect(await count(h, "external_id = 'taxed'")).toBe(0);
  });

  test("a field no Flexprice client sends is still not accepted", async () => {
    const h = await createHarness();
    expect400(await h.call("POST", "/v1/customers", { body: { external_id: "x", phone: "555" } }), "phone");
  });
});

describe("POST /v1/customers/search: Flexprice's CustomerFilter", () => {
  /** Customers made a millisecond apart, so created_at orders them. */
  async function seed(h: Harness) {
    const made: Customer[] = [];
    const rows: Record<string, unknown>[] = [
      { external_id: "p", name: "Zeta Holdings", email: "ops@zeta.test", address_country: "US" },
      {
        external_id: "a",
        name: "alpha Widgets",
        email: "billing@alpha.test",
        address_country: "FR",
        address_city: "Paris",
      },
      { external_id: "b", name: "Beta Gadgets", address_country: "DE", address_city: "MÜNCHEN" },
      { external_id: "c", name: null, email: "c@gamma.test" },
    ];
    for (const body of rows) {
      made.push(await create(h, body));
      await Bun.sleep(2);
    }
    const [p, a, b, c] = made as [Customer, Customer, Customer, Customer];
    for (const child of [a, b]) {
      const res = await h.call("PUT", `/v1/customers/${child.id}`, { body: { parent_customer_id: p.id } });
      expect(res.status).toBe(200);
    }
    return { p, a, b, c };
  }

  const search = async (h: Harness, body: Record<string, unknown>) => {
    const res = await h.call("POST", "/v1/customers/search", { body });
    expect({ status: res.status, text: res.text }).toMatchObject({ status: 200 });
    return res.body.items.map((c: Customer) => c.external_id) as string[];
  };

  test("customer_ids, external_ids, parent_customer_ids: any of; an empty list filters nothing", async () => {
    const h = await createHarness();
    const { p, a, c } = await seed(h);
    expect(await search(h, { customer_ids: [a.id, c.id, "cust_nobody"] })).toEqual(["c", "a"]);
    expect(await search(h, { external_ids: ["p", "b", "zz"] })).toEqual(["b", "p"]);
    expect(await search(h, { parent_customer_ids: [p.id] })).toEqual(["b", "a"]);
    expect(await search(h, { parent_customer_ids: [p.id], external_ids: ["a", "c"] })).toEqual(["a"]);
    expect(await search(h, { customer_ids: [] })).toEqual(["c", "b", "a", "p"]);
  });

  test("status: live by default, deleted on request, archived matches none", async () => {
    const h = await createHarness();
    const { c } = await seed(h);
    expect((await h.call("DELETE", `/v1/customers/${c.id}`)).status).toBe(204);
    expect(await search(h, {})).toEqual(["b", "a", "p"]);
    expect(await search(h, { status: "published" })).toEqual(["b", "a", "p"]);
    expect(await search(h, { status: "deleted" })).toEqual(["c"]);
    expect(await search(h, { status: "archived" })).toEqual([]);
    expect400(await h.call("POST", "/v1/customers/search", { body: { status: "gone" } }), "status");
  });

  test("order and sort: sort conditions first (ascending unless told, missing values last), then created_at", async () => {
    const h = await createHarness();
    await seed(h);
    expect(await search(h, { order: "asc" })).toEqual(["p", "a", "b", "c"]);
    expect(await search(h, { order: "desc" })).toEqual(["c", "b", "a", "p"]);
    expect(await search(h, { sort: [{ field: "name" }] })).toEqual(["a", "b", "p", "c"]);
    expect(await search(h, { sort: [{ field: "name", direction: "desc" }] })).toEqual(["p", "b", "a", "c"]);
    expect(await search(h, { sort: [{ field: "parent_customer_id", direction: "asc" }], order: "asc" })).toEqual([
      "a",
      "b",
      "p",
      "c",
    ]);
    expect(await search(h, { sort: [{ field: "created_at", direction: "asc" }] })).toEqual(["p", "a", "b", "c"]);
    expect400(await h.call("POST", "/v1/customers/search", { body: { order: "up" } }), "order");
    expect400(
      await h.call("POST", "/v1/customers/search", { body: { sort: [{ field: "metadata" }] } }),
      "sort[0].field",
    );
    expect400(
      await h.call("POST", "/v1/customers/search", { body: { sort: [{ field: "name", direction: "sideways" }] } }),
      "sort[0].direction",
    );
  });

  test("filters: each operator with Flexprice's meaning", async () => {
    const h = await createHarness();
    const { p } = await seed(h);
    const f = (field: string, operator: string, value: Record<string, unknown>) =>
      search(h, { filters: [{ field, operator, value }], order: "asc" });
    expect(await f("name", "eq", { string: "Beta Gadgets" })).toEqual(["b"]);
    expect(await f("name", "eq", { string: "beta gadgets" })).toEqual([]);
    expect(await f("name", "contains", { string: "GADG" })).toEqual(["b"]);
    expect(await f("address_city", "contains", { string: "münchen" })).toEqual(["b"]);
    expect(await f("email", "not_contains", { string: ".test" })).toEqual(["b"]);
    expect(await f("address_country", "in", { array: ["FR", "DE"] })).toEqual(["a", "b"]);
    expect(await f("address_country", "not_in", { array: ["FR", "DE"] })).toEqual(["p", "c"]);
    expect(await f("parent_customer_id", "eq", { string: p.id })).toEqual(["a", "b"]);
    const created = (await h.call("GET", "/v1/customers/external/b")).body.created_at as string;
    expect(await f("created_at", "before", { date: created })).toEqual(["p", "a"]);
    expect(await f("created_at", "after", { date: created })).toEqual(["c"]);
    expect(await f("created_at", "eq", { date: created })).toEqual(["b"]);
    // Conditions add up; a data_type that agrees is fine.
    const both = await search(h, {
      filters: [
        { field: "name", operator: "contains", data_type: "string", value: { string: "a" } },
        { field: "address_country", operator: "in", data_type: "array", value: { array: ["US", "DE"] } },
      ],
      order: "asc",
    });
    expect(both).toEqual(["p", "b"]);
  });

  test("filters Tollgate cannot apply as asked: 400 naming the part, never ignored", async () => {
    const h = await createHarness();
    const refused: [Record<string, unknown>, string, string?][] = [
      [{ field: "plan", operator: "eq", value: { string: "pro" } }, "filters[0].field"],
      [{ field: "metadata", operator: "eq", value: { string: "pro" } }, "filters[0].field"],
      [
        { field: "name", operator: "gt", value: { number: 1 } },
        "filters[0].operator",
        "filters[0].operator gt compares numbers, and no customer field is a number",
      ],
      [{ field: "created_at", operator: "lt", value: { number: 1 } }, "filters[0].operator"],
      [{ field: "name", operator: "before", value: { date: "2026-01-01T00:00:00Z" } }, "filters[0].operator"],
      [{ field: "created_at", operator: "contains", value: { string: "2026" } }, "filters[0].operator"],
      [{ field: "created_at", operator: "in", value: { array: ["x"] } }, "filters[0].operator"],
      [
        { field: "name", operator: "eq", value: { number: 5 } },
        "filters[0].value.string",
        "filters[0].value.string is required for eq on name",
      ],
      [{ field: "created_at", operator: "eq", value: { string: "yesterday" } }, "filters[0].value.date"],
      [{ field: "name", operator: "in", value: { string: "a" } }, "filters[0].value.array"],
      [{ field: "name", operator: "in", value: { array: [] } }, "filters[0].value.array"],
      [{ field: "name", operator: "eq", data_type: "number", value: { string: "a" } }, "filters[0].data_type"],
      [{ field: "name", operator: "like", value: { string: "a" } }, "filters[0].operator"],
      [{ field: "name", value: { string: "a" } }, "filters[0].operator"],
      [{ operator: "eq", value: { string: "a" } }, "filters[0].field"],
      [{ field: "name", operator: "eq" }, "filters[0].value"],
      [{ field: "name", operator: "eq", value: { text: "a" } }, "filters[0].value.text"],
      [{ field: "created_at", operator: "after", value: { date: "2026-13-01T00:00:00Z" } }, "filters[0].value.date"],
    ];
    for (const [filter, field, message] of refused) {
      expect400(await h.call("POST", "/v1/customers/search", { body: { filters: [filter] } }), field, message);
    }
  });

  test("start_time and end_time: created within the range, both ends included", async () => {
    const h = await createHarness();
    const { a, b } = await seed(h);
    expect(await search(h, { start_time: a.created_at, end_time: b.created_at, order: "asc" })).toEqual(["a", "b"]);
    expect(await search(h, { start_time: b.created_at, order: "asc" })).toEqual(["b", "c"]);
    expect(await search(h, { end_time: a.created_at, order: "asc" })).toEqual(["p", "a"]);
    // Any offset: the same instant.
    const plusTwo = new Date(Date.parse(b.created_at) + 2 * 3600_000).toISOString().replace("Z", "+02:00");
    expect(await search(h, { start_time: plusTwo, order: "asc" })).toEqual(["b", "c"]);
    expectError(
      await h.call("POST", "/v1/customers/search", { body: { start_time: b.created_at, end_time: a.created_at } }),
      400,
      "validation_error",
      "end_time must not be before start_time",
      ["end_time"],
    );
    expect400(await h.call("POST", "/v1/customers/search", { body: { start_time: "last week" } }), "start_time");
  });

  test("expand: parent_customer is honoured (always present); anything else is 400", async () => {
    const h = await createHarness();
    const { p } = await seed(h);
    const res = await h.call("POST", "/v1/customers/search", {
      body: { expand: "parent_customer", external_ids: ["a"] },
    });
    expect(res.body.items[0].parent_customer).toMatchObject({ id: p.id, external_id: "p" });
    expect((await h.call("POST", "/v1/customers/search", { body: { expand: "" } })).status).toBe(200);
    expect400(
      await h.call("POST", "/v1/customers/search", { body: { expand: "parent_customer,integrations" } }),
      "expand",
      'expand may only be "parent_customer" (Tollgate keeps no "integrations" for customers)',
    );
  });

  test("caps: 1,000 ids per list, 20 filters, 8 sort conditions, and the pagination bounds", async () => {
    const h = await createHarness();
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `cust_${i}`);
    for (const list of ["customer_ids", "external_ids", "parent_customer_ids"]) {
      expect((await h.call("POST", "/v1/customers/search", { body: { [list]: ids(1000) } })).status).toBe(200);
      expect400(
        await h.call("POST", "/v1/customers/search", { body: { [list]: ids(1001) } }),
        list,
        `${list} must have at most 1000 items`,
      );
      expect400(await h.call("POST", "/v1/customers/search", { body: { [list]: ["x".repeat(256)] } }), `${list}[0]`);
      expect400(await h.call("POST", "/v1/customers/search", { body: { [list]: "cust_1" } }), list);
    }
    const filter = { field: "name", operator: "eq", value: { string: "a" } };
    expect((await h.call("POST", "/v1/customers/search", { body: { filters: Array(20).fill(filter) } })).status).toBe(
      200,
    );
    expect400(await h.call("POST", "/v1/customers/search", { body: { filters: Array(21).fill(filter) } }), "filters");
    expect400(
      await h.call("POST", "/v1/customers/search", { body: { sort: Array(9).fill({ field: "name" }) } }),
      "sort",
    );
    expect400(await h.call("POST", "/v1/customers/search", { body: { limit: 1001 } }), "limit");
    expect400(await h.call("POST", "/v1/customers/search", { body: { offset: 2 ** 31 } }), "offset");
  });

  test("pagination over a filtered, sorted search: total counts the matches", async () => {
    const h = await createHarness();
    const { p } = await seed(h);
    const res = await h.call("POST", "/v1/customers/search", {
      body: { parent_customer_ids: [p.id], sort: [{ field: "name" }], limit: 1, offset: 1 },
    });
    expect(res.body.items.map((c: Customer) => c.external_id)).toEqual(["b"]);
    expect(res.body.pagination).toEqual({ total: 2, limit: 1, offset: 1 });
  });
});

describe("routes the SDK calls that Tollgate does not serve: 501 or 404 Route not found, never a customer lookup", () => {
  test("GET /v1/customers/usage: 501 (it needs billing), the key checked first; /wallets, another group's: 404", async () => {
    const h = await createHarness();
    for (const path of ["/v1/customers/usage", "/v1/customers/usage?customer_id=x"]) {
      expectError(
        await h.call("GET", path),
        501,
        "not_implemented",
        "Customer usage summaries: this needs billing (plans, prices, subscriptions, meters, wallets), which Tollgate does not keep; it is an access service, so ask the Flexprice API",
      );
      expect((await h.call("GET", path, { key: null })).status).toBe(401);
    }
    expectRouteNotFound(await h.call("GET", "/v1/customers/wallets"));
    expectRouteNotFound(await h.call("GET", "/v1/customers/wallets", { key: null }));
  });

  test("any segment that is not a customer id, on every /v1/customers/{id} route", async () => {
    const h = await createHarness();
    const reader = (await serviceAccount(h, ["event_reader"])).key;
    for (const [method, path, body] of [
      ["GET", "/v1/customers/search"],
      ["GET", "/v1/customers/export"],
      ["PUT", "/v1/customers/usage", { name: "x" }],
      ["DELETE", "/v1/customers/wallets"],
      ["DELETE", "/v1/customers/usage/portal-sessions"],
    ] as [string, string, unknown?][]) {
      expectRouteNotFound(await h.call(method, path, { body }));
      expectRouteNotFound(await h.call(method, path, { body, key: null }));
      expectRouteNotFound(await h.call(method, path, { body, key: reader }));
    }
  });

  test("the SDK's sub-routes of a customer: entitlements and upcoming grants 501; wallets and invoice summary, other groups', 404", async () => {
    const h = await createHarness();
    const acme = await create(h, { external_id: "acme" });
    for (const sub of ["entitlements", "grants/upcoming"]) {
      expect((await h.call("GET", `/v1/customers/${acme.id}/${sub}`)).status).toBe(501);
    }
    for (const sub of ["wallets", "invoices/summary"]) {
      expectRouteNotFound(await h.call("GET", `/v1/customers/${acme.id}/${sub}`));
    }
  });

  test("an id with the customer prefix is still looked up: 404 Customer not found, and the key is checked first", async () => {
    const h = await createHarness();
    expectError(await h.call("GET", "/v1/customers/cust_nope"), 404, "not_found", "Customer not found");
    expect((await h.call("GET", "/v1/customers/cust_nope", { key: null })).status).toBe(401);
  });
});

describe("audit and portal show the new fields", () => {
  test("customer.created and customer.updated carry address, parent and who, before and after", async () => {
    const h = await createHarness();
    const parent = await create(h, { external_id: "parent" });
    const customer = await create(h, { external_id: "acme", ...ADDRESS });
    await h.call("PUT", `/v1/customers/${customer.id}`, {
      body: { address_city: "Paris", address_country: "FR", parent_customer_id: parent.id },
    });
    const rows = (await h.call("GET", `/v1/audit-logs?resource_id=${customer.id}`)).body.items as Customer[];
    const created = rows.find((r) => r.action === "customer.created");
    const updated = rows.find((r) => r.action === "customer.updated");
    expect(created?.changes.after).toMatchObject({
      ...ADDRESS,
      parent_customer_id: null,
      tenant_id: DEFAULT_TENANT,
      created_by: DEFAULT_TENANT,
      updated_by: DEFAULT_TENANT,
    });
    expect(updated?.changes.before).toMatchObject({
      address_city: "Cupertino",
      address_country: "US",
      parent_customer_id: null,
    });
    expect(updated?.changes.after).toMatchObject({
      address_city: "Paris",
      address_country: "FR",
      parent_customer_id: parent.id,
    });
    // The parent is named by id; its record is not copied into the child's history.
    expect(updated?.changes.after).not.toHaveProperty("parent_customer");
  });

  test("the portal's customer: the new shape, the parent by id only (another customer's record is not shown)", async () => {
    const h = await createHarness();
    const parent = await create(h, { external_id: "parent", name: "Parent Secret", email: "cfo@parent.test" });
    const child = await create(h, { external_id: "child", parent_customer_id: parent.id, ...ADDRESS });
    const token = (await h.call("GET", "/v1/customers/portal/child")).body.token as string;
    const info = await h.call("GET", "/v1/customer/portal/info", { key: null, headers: { "X-Session-Token": token } });
    expect(info.status).toBe(200);
    expect(info.body).toEqual({ ...child, parent_customer: null });
    expect(info.text).not.toContain("Parent Secret");
    expect(info.text).not.toContain("cfo@parent.test");
  });
});

describe("migration 008", () => {
  test("customers made before it get created_by and updated_by from the audit log; the rest null", () => {
    const db: Db = openDatabase(MEMORY_DATABASE);
    migrate(
      db,
      MIGRATIONS.filter((m) => m.version < 8),
    );
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    db.prepare("INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('t1', 'T', ?, ?)").run(at(0), at(0));
    db.prepare(
      "INSERT INTO environments (id, tenant_id, name, type, created_at, updated_at) VALUES ('e1', 't1', 'Dev', 'development', ?, ?)",
    ).run(at(0), at(0));
    const customer = db.prepare(
      "INSERT INTO customers (id, tenant_id, environment_id, external_id, created_at, updated_at) VALUES (?, 't1', 'e1', ?, ?, ?)",
    );
    customer.run("cust_a", "a", at(1), at(1));
    customer.run("cust_b", "b", at(1), at(1));
    const audit = db.prepare(
      `INSERT INTO audit_logs (id, tenant_id, environment_id, action, resource_type, resource_id, actor_type, actor_id, created_at)
       VALUES (?, 't1', 'e1', ?, 'customer', ?, 'user', ?, ?)`,
    );
    audit.run("aud_1", "customer.created", "cust_a", "usr_creator", at(1));
    audit.run("aud_2", "customer.portal_session_created", "cust_a", "usr_portal", at(2));
    audit.run("aud_3", "customer.updated", "cust_a", "usr_editor", at(3));
    audit.run("aud_4", "customer.portal_session_created", "cust_a", "usr_portal", at(4));
    migrate(db);
    const rows = db
      .prepare("SELECT id, created_by, updated_by, address_city, parent_customer_id FROM customers ORDER BY id")
      .all();
    expect(rows).toEqual([
      {
        id: "cust_a",
        created_by: "usr_creator",
        updated_by: "usr_editor",
        address_city: null,
        parent_customer_id: null,
      },
      { id: "cust_b", created_by: null, updated_by: null, address_city: null, parent_customer_id: null },
    ]);
    db.close();
  });
});

describe("the current Flexprice API's customer fields (issue 25)", () => {
  test("contact (at most 20) and timezone (IANA, default UTC) are stored, changed and cleared", async () => {
    const h = await createHarness();
    const customer = await create(h, { external_id: "tz", contact: "+91 98765 43210", timezone: "Asia/Kolkata" });
    expect(customer).toMatchObject({ contact: "+91 98765 43210", timezone: "Asia/Kolkata" });
    const updated = await h.call("PUT", `/v1/customers/${customer.id}`, {
      body: { contact: "", timezone: "Europe/Paris" },
    });
    expect(updated.body).toMatchObject({ contact: null, timezone: "Europe/Paris" });
    expect((await h.call("PUT", `/v1/customers/${customer.id}`, { body: { name: "Kept" } })).body.timezone).toBe(
      "Europe/Paris",
    );
    expect400(
      await h.call("POST", "/v1/customers", { body: { external_id: "x", contact: "1".repeat(21) } }),
      "contact",
    );
    for (const timezone of ["Mars/Olympus_Mons", ""]) {
      const res = await h.call("POST", "/v1/customers", { body: { external_id: "y", timezone } });
      expect(res.status).toBe(400);
      expect(errorOf(res).details).toHaveProperty("timezone");
    }
    expect(await count(h, "external_id IN ('x', 'y')")).toBe(0);
  });

  test("search by metadata: every pair must match", async () => {
    const h = await createHarness();
    await create(h, { external_id: "a", metadata: { plan: "pro", region: "eu" } });
    await create(h, { external_id: "b", metadata: { plan: "pro", region: "us" } });
    await create(h, { external_id: "c", metadata: { plan: "free", region: "eu" } });
    const search = async (metadata: Record<string, string>) =>
      (await h.call("POST", "/v1/customers/search", { body: { metadata } })).body.items
        .map((c: { external_id: string }) => c.external_id)
        .sort();
    expect(await search({ plan: "pro" })).toEqual(["a", "b"]);
    expect(await search({ plan: "pro", region: "eu" })).toEqual(["a"]);
    expect(await search({ plan: "gold" })).toEqual([]);
    expect(await search({})).toEqual(["a", "b", "c"]);
  });
});
