// The official Flexprice client (@flexprice/sdk), unmodified, against a real Tollgate process:
// every operation of its customers group whose route we serve, with the development key (a user
// account) and with a super_admin service account's key, asserting the values that come back.
// The SDK validates each response with its own schemas, so a missing field fails the call
// before any assertion runs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Flexprice } from "@flexprice/sdk";
import { ErrorsErrorsErrorResponse } from "@flexprice/sdk/sdk/models";
import { DEFAULT_TENANT, DEV_KEY, errorBody } from "../support/harness";
import { failure, type SdkServer, startSdkServer } from "../support/sdk";

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let s: SdkServer;
/** The development key: a user account (its user id is the default tenant's), full access. */
let dev: Flexprice;
/** A super_admin service account's key, and that account's id. */
let admin: Flexprice;
let adminId: string;

/**
 * A super_admin service account and a key for it, over plain HTTP: this file tests the customers
 * group, so its set-up does not depend on the users group's responses.
 */
async function superAdminKey(): Promise<{ key: string; accountId: string }> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${s.server.baseUrl}${path}`, {
      method: "POST",
      headers: { "x-api-key": DEV_KEY, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, any>;
    expect({ path, status: res.status, json }).toMatchObject({ path, status: 201 });
    return json;
  };
  const account = await post("/v1/users", { type: "service_account", name: "customers admin", roles: ["super_admin"] });
  const key = await post("/v1/secrets/api/keys", { name: "customers admin key", service_account_id: account.id });
  return { key: key.api_key, accountId: account.id };
}

beforeAll(async () => {
  s = await startSdkServer();
  dev = s.client();
  const created = await superAdminKey();
  admin = s.client(created.key);
  adminId = created.accountId;
});

afterAll(async () => {
  await s.stop();
});

/** A 400 surfaces as the SDK's typed error response, with our message. */
async function expectRefused(call: Promise<unknown>, message: string) {
  const error = await failure(call);
  expect(error).toBeInstanceOf(ErrorsErrorsErrorResponse);
  expect(error.statusCode).toBe(400);
  expect(error.message).toBe(message);
  return JSON.parse(error.body).error as { message: string; internal_error: string; details?: Record<string, string> };
}

/** A route we do not serve: the SDK's HTTP error carrying our 404 envelope. */
async function expectRouteNotFound(call: Promise<unknown>) {
  const error = await failure(call);
  expect(error.statusCode).toBe(404);
  expect(JSON.parse(error.body)).toEqual(errorBody(404, "not_found", "Route not found"));
}

let serial = 0;
/** An external id no other test uses (the server is shared by the whole file). */
const unique = (name: string) => `${name}-${++serial}-${Date.now()}`;

const ADDRESS = {
  addressLine1: "1 Infinite Loop",
  addressLine2: "Building 4",
  addressCity: "Cupertino",
  addressState: "CA",
  addressPostalCode: "95014",
  addressCountry: "US",
};

describe.each([
  ["the development key", () => dev, () => DEFAULT_TENANT],
  ["a super_admin service account's key", () => admin, () => adminId],
])("customers, with %s", (_, client, actorId) => {
  test("createCustomer: address, parent by external id, metadata and the Stripe mapping come back", async () => {
    const sdk = client();
    const parent = await sdk.customers.createCustomer({ externalId: unique("parent"), name: "Parent Co" });
    expect(parent.parentCustomer).toBeUndefined(); // null on the wire: the SDK maps it to undefined
    expect(parent.parentCustomerId).toBeUndefined();

    const child = await sdk.customers.createCustomer({
      externalId: unique("child"),
      name: "Child GmbH",
      email: "billing@child.test",
      metadata: { plan: "pro" },
      ...ADDRESS,
      parentCustomerExternalId: parent.externalId,
      integrationEntityMapping: [{ provider: "stripe", id: "cus_Stripe123" }],
      skipOnboardingWorkflow: true,
    });
    expect(child).toMatchObject({
      name: "Child GmbH",
      email: "billing@child.test",
      ...ADDRESS,
      metadata: { plan: "pro", stripe_customer_id: "cus_Stripe123" },
      status: "published",
      tenantId: DEFAULT_TENANT,
      createdBy: actorId(),
      updatedBy: actorId(),
      parentCustomerId: parent.id,
    });
    expect(child.id).toMatch(/^cust_/);
    expect(child.createdAt).toMatch(TIMESTAMP);
    expect(child.environmentId).toMatch(/^env_/);
    expect(child.parentCustomer).toMatchObject({ id: parent.id, externalId: parent.externalId, name: "Parent Co" });

    const byParentId = await sdk.customers.createCustomer({
      externalId: unique("sibling"),
      parentCustomerId: parent.id,
    });
    expect(byParentId.parentCustomerId).toBe(parent.id);
    expect(byParentId.parentCustomer?.id).toBe(parent.id);
  });

  test("getCustomer and getCustomerByExternalId: the same customer, parent expanded", async () => {
    const sdk = client();
    const parent = await sdk.customers.createCustomer({ externalId: unique("parent"), ...ADDRESS });
    const child = await sdk.customers.createCustomer({ externalId: unique("child"), parentCustomerId: parent.id });
    const byId = await sdk.customers.getCustomer(child.id as string);
    const byExternal = await sdk.customers.getCustomerByExternalId(child.externalId as string);
    expect(byId).toEqual(child);
    expect(byExternal).toEqual(child);
    expect(byId.parentCustomer).toMatchObject({ id: parent.id, ...ADDRESS, createdBy: actorId() });
    expect((await sdk.customers.getCustomer(parent.id as string)).addressCity).toBe("Cupertino");
  });

  test("updateCustomer by id: the sent fields change, updated_by is the caller, a parent is set and detached", async () => {
    const sdk = client();
    const parent = await sdk.customers.createCustomer({ externalId: unique("parent") });
    const customer = await dev.customers.createCustomer({ externalId: unique("acme"), name: "Acme", ...ADDRESS });
    const updated = await sdk.customers.updateCustomer(
      { name: "Acme Inc", addressCity: "San Francisco", addressPostalCode: "94103", parentCustomerId: parent.id },
      customer.id,
    );
    expect(updated).toMatchObject({
      id: customer.id,
      externalId: customer.externalId,
      name: "Acme Inc",
      ...ADDRESS,
      addressCity: "San Francisco",
      addressPostalCode: "94103",
      createdBy: DEFAULT_TENANT,
      updatedBy: actorId(),
      parentCustomerId: parent.id,
    });
    expect(updated.parentCustomer?.id).toBe(parent.id);
    expect(await sdk.customers.getCustomer(customer.id as string)).toEqual(updated);

    // An empty parent_customer_id detaches; an empty address field clears it.
    const detached = await sdk.customers.updateCustomer({ parentCustomerId: "", addressLine2: "" }, customer.id);
    expect(detached.parentCustomerId).toBeUndefined();
    expect(detached.parentCustomer).toBeUndefined();
    expect(detached.addressLine2).toBeUndefined();
    expect(detached.addressLine1).toBe(ADDRESS.addressLine1);
  });

  test("updateCustomer by external id: the external id finds the customer; the body may rename it", async () => {
    const sdk = client();
    const parent = await sdk.customers.createCustomer({ externalId: unique("parent") });
    const externalId = unique("globex");
    const customer = await sdk.customers.createCustomer({ externalId, name: "Globex" });
    const renamed = unique("globex-eu");
    const updated = await sdk.customers.updateCustomer(
      { externalId: renamed, addressCountry: "DE", parentCustomerExternalId: parent.externalId },
      undefined,
      externalId,
    );
    expect(updated).toMatchObject({
      id: customer.id,
      externalId: renamed,
      name: "Globex",
      addressCountry: "DE",
      parentCustomerId: parent.id,
      updatedBy: actorId(),
    });
    expect((await sdk.customers.getCustomerByExternalId(renamed)).id).toBe(customer.id);
    // Both identifiers, naming the same customer: fine.
    const both = await sdk.customers.updateCustomer({ name: "Globex AG" }, customer.id, renamed);
    expect(both.name).toBe("Globex AG");
  });

  test("queryCustomer: ids, external ids, parents, status, order, sort, filters, a time range, expand", async () => {
    const sdk = client();
    const start = new Date().toISOString();
    const parent = await sdk.customers.createCustomer({ externalId: unique("q-parent"), name: "Zeta Holdings" });
    const a = await sdk.customers.createCustomer({
      externalId: unique("q-a"),
      name: "Alpha Widgets",
      parentCustomerId: parent.id,
      addressCountry: "FR",
    });
    const b = await sdk.customers.createCustomer({
      externalId: unique("q-b"),
      name: "Beta Gadgets",
      parentCustomerId: parent.id,
      addressCountry: "DE",
    });
    const ids = [parent.id, a.id, b.id] as string[];

    const newestFirst = await sdk.customers.queryCustomer({ customerIds: ids });
    expect(newestFirst.items?.map((c) => c.id)).toEqual([b.id, a.id, parent.id]);
    expect(newestFirst.pagination).toEqual({ total: 3, limit: 50, offset: 0 });
    expect(newestFirst.items?.[0]?.parentCustomer?.id).toBe(parent.id);

    const oldestFirst = await sdk.customers.queryCustomer({ customerIds: ids, order: "asc" });
    expect(oldestFirst.items?.map((c) => c.id)).toEqual([parent.id, a.id, b.id]);
    const byName = await sdk.customers.queryCustomer({ customerIds: ids, sort: [{ field: "name", direction: "asc" }] });
    expect(byName.items?.map((c) => c.name)).toEqual(["Alpha Widgets", "Beta Gadgets", "Zeta Holdings"]);

    const children = await sdk.customers.queryCustomer({ parentCustomerIds: [parent.id as string], order: "asc" });
    expect(children.items?.map((c) => c.id)).toEqual([a.id, b.id]);
    const byExternal = await sdk.customers.queryCustomer({ externalIds: [a.externalId as string, "nobody"] });
    expect(byExternal.items?.map((c) => c.id)).toEqual([a.id]);

    const gadgets = await sdk.customers.queryCustomer({
      customerIds: ids,
      filters: [{ field: "name", operator: "contains", dataType: "string", value: { string: "gadget" } }],
    });
    expect(gadgets.items?.map((c) => c.id)).toEqual([b.id]);
    const european = await sdk.customers.queryCustomer({
      customerIds: ids,
      filters: [{ field: "address_country", operator: "in", dataType: "array", value: { array: ["FR", "DE"] } }],
      order: "asc",
    });
    expect(european.items?.map((c) => c.id)).toEqual([a.id, b.id]);

    const inRange = await sdk.customers.queryCustomer({
      customerIds: ids,
      startTime: start,
      endTime: new Date(Date.now() + 60_000).toISOString(),
      expand: "parent_customer",
    });
    expect(inRange.pagination?.total).toBe(3);
    // Both ends are included: a range ending just before the first customer holds none.
    const justBefore = new Date(Date.parse(start) - 1).toISOString();
    const before = await sdk.customers.queryCustomer({ customerIds: ids, endTime: justBefore });
    expect(before.items).toEqual([]);

    const page = await sdk.customers.queryCustomer({ customerIds: ids, limit: 1, offset: 1, order: "asc" });
    expect(page.items?.map((c) => c.id)).toEqual([a.id]);
    expect(page.pagination).toEqual({ total: 3, limit: 1, offset: 1 });
  });

  test("deleteCustomer: 204, then the customer reads as deleted and only status deleted lists it", async () => {
    const sdk = client();
    const customer = await sdk.customers.createCustomer({ externalId: unique("gone"), ...ADDRESS });
    await sdk.customers.deleteCustomer(customer.id as string);
    const after = await sdk.customers.getCustomer(customer.id as string);
    expect(after).toMatchObject({ id: customer.id, status: "deleted", updatedBy: actorId(), ...ADDRESS });
    expect((await sdk.customers.queryCustomer({ customerIds: [customer.id as string] })).items).toEqual([]);
    const deleted = await sdk.customers.queryCustomer({ customerIds: [customer.id as string], status: "deleted" });
    expect(deleted.items?.map((c) => c.id)).toEqual([customer.id]);
  });
});

describe("refusals surface as the SDK's typed 400 with our message", () => {
  test("createCustomer: a country that is not an ISO 3166-1 alpha-2 code", async () => {
    const error = await expectRefused(
      dev.customers.createCustomer({ externalId: unique("bad"), addressCountry: "USA" }),
      "address_country must be a two-letter ISO 3166-1 alpha-2 country code in capitals, such as US",
    );
    expect(error.details).toEqual({
      address_country: "must be a two-letter ISO 3166-1 alpha-2 country code in capitals, such as US",
    });
  });

  test("updateCustomer without id or external_customer_id", async () => {
    await expectRefused(dev.customers.updateCustomer({ name: "x" }), "Either id or external_customer_id is required");
  });

  test("createCustomer with tax_rate_overrides: Tollgate keeps no tax rates", async () => {
    const error = await expectRefused(
      dev.customers.createCustomer({
        externalId: unique("taxed"),
        taxRateOverrides: [{ taxRateCode: "VAT20", currency: "eur" }],
      }),
      "tax_rate_overrides is not supported: Tollgate keeps no tax rates",
    );
    expect(Object.keys(error.details ?? {})).toEqual(["tax_rate_overrides"]);
  });

  test("queryCustomer: a filter on a field customers do not have", async () => {
    await expectRefused(
      dev.customers.queryCustomer({ filters: [{ field: "plan", operator: "eq", value: { string: "pro" } }] }),
      "filters[0].field must be one of: id, external_id, name, email, status, parent_customer_id, address_line1, address_line2, address_city, address_state, address_postal_code, address_country, tenant_id, environment_id, created_by, updated_by, created_at, updated_at",
    );
  });
});

describe("customer routes of the SDK that Tollgate does not serve", () => {
  test("getCustomerUsageSummary (GET /customers/usage) is a 501, not mistaken for a customer id", async () => {
    for (const call of [
      dev.customers.getCustomerUsageSummary(),
      admin.customers.getCustomerUsageSummary({ customerLookupKey: "acme" }),
    ]) {
      const error = await failure(call);
      expect([error.statusCode, JSON.parse(error.body).code]).toEqual([501, "not_implemented"]);
    }
  });

  test("getCustomerEntitlements and getCustomerUpcomingGrants: 501, even for a customer that exists", async () => {
    const customer = await dev.customers.createCustomer({ externalId: unique("entitled") });
    for (const call of [
      dev.customers.getCustomerEntitlements(customer.id as string),
      dev.customers.getCustomerUpcomingGrants(customer.id as string),
      admin.customers.getCustomerEntitlements(customer.id as string),
    ]) {
      const error = await failure(call);
      expect([error.statusCode, JSON.parse(error.body).code]).toEqual([501, "not_implemented"]);
    }
  });

  test("wallets.getCustomerWallets (GET /customers/wallets): another group's, 404 Route not found", async () => {
    await expectRouteNotFound(dev.wallets.getCustomerWallets());
  });
});
