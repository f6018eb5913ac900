// The official Flexprice client (@flexprice/sdk), unmodified, against a real Tollgate process:
// every operation of its users, tenants, environments, rbac and secrets groups whose route we
// serve, with the development key (a user account) and with service-account keys, asserting the
// values that come back. The SDK validates each response with its own schemas, so a missing
// field fails the call before any assertion runs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Flexprice } from "@flexprice/sdk";
import { ErrorsErrorsErrorResponse } from "@flexprice/sdk/sdk/models";
import { DEFAULT_TENANT } from "../support/harness";
import { failure, type SdkServer, serviceAccountKey, startSdkServer } from "../support/sdk";

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

let s: SdkServer;
/** The development key: a user account, full access. */
let dev: Flexprice;
/** A super_admin service account's key. */
let admin: Flexprice;
/** An event_reader service account's key: no identity management at all. */
let reader: Flexprice;

beforeAll(async () => {
  s = await startSdkServer();
  dev = s.client();
  admin = s.client(await serviceAccountKey(dev, ["super_admin"]));
  reader = s.client(await serviceAccountKey(dev, ["event_reader"]));
});

afterAll(async () => {
  await s.stop();
});

/** A 403 surfaces as the SDK's HTTP error, carrying our envelope and the permission that was missing. */
async function expectForbidden(call: Promise<unknown>, required: string) {
  const error = await failure(call);
  expect(error.statusCode).toBe(403);
  expect(error.message).toContain("Insufficient permissions");
  expect(JSON.parse(error.body).error).toEqual({
    message: "Insufficient permissions",
    internal_error: "permission_denied",
    details: { required, roles: ["event_reader"] },
  });
}

/** A 400 surfaces as the SDK's typed error response, with our message. */
async function expectRefused(call: Promise<unknown>, message: string) {
  const error = await failure(call);
  expect(error).toBeInstanceOf(ErrorsErrorsErrorResponse);
  expect(error.statusCode).toBe(400);
  expect(error.message).toBe(message);
  return error as ErrorsErrorsErrorResponse;
}

describe("users", () => {
  test("getUserInfo: the development key's account and its tenant, every field present", async () => {
    const me = (await dev.users.getUserInfo()) as Record<string, any>;
    expect(me.id).toBe(DEFAULT_TENANT);
    expect(me.type).toBe("user");
    expect(me.roles).toEqual(["super_admin"]);
    expect(me.tenant).toMatchObject({
      id: DEFAULT_TENANT,
      status: "published",
      metadata: expect.any(Object),
    });
    expect(me.tenant.createdAt).toMatch(TIMESTAMP);
    expect(me.tenant.updatedAt).toMatch(TIMESTAMP);
  });

  test("getUserInfo: a service account's key sees its own account and roles, an event_reader's too", async () => {
    const asAdmin = await admin.users.getUserInfo();
    expect(asAdmin).toMatchObject({ type: "service_account", roles: ["super_admin"] });
    expect(asAdmin.tenant?.id).toBe(DEFAULT_TENANT);
    const asReader = await reader.users.getUserInfo();
    expect(asReader).toMatchObject({ type: "service_account", roles: ["event_reader"] });
    expect(asReader.id).not.toBe(asAdmin.id);
  });

  test("createUser: a service account, by a user account and by a super_admin; 403 for an event_reader", async () => {
    const byDev = await dev.users.createUser({ type: "service_account", roles: ["event_ingestor"] });
    expect(byDev).toMatchObject({ type: "service_account", roles: ["event_ingestor"] });
    // Our null email reads as absent through the SDK (its optional fields map null to undefined).
    expect(byDev.email).toBeUndefined();
    expect(byDev.id).toMatch(/^usr_/);
    expect(byDev.tenant?.id).toBe(DEFAULT_TENANT);
    const byAdmin = await admin.users.createUser({ type: "service_account", roles: ["event_reader"] });
    expect(byAdmin).toMatchObject({ type: "service_account", roles: ["event_reader"] });
    await expectForbidden(reader.users.createUser({ type: "service_account", roles: ["event_reader"] }), "user:write");
  });

  test("createUser: a service account without roles is the SDK's typed 400 with our message", async () => {
    await expectRefused(
      dev.users.createUser({ type: "service_account", roles: [] }),
      "Service accounts must have at least one role assigned",
    );
  });

  test("queryUser: filters by ids, roles and type; sorts; pages", async () => {
    const a = await dev.users.createUser({ type: "service_account", roles: ["event_ingestor"] });
    const b = await dev.users.createUser({ type: "service_account", roles: ["event_ingestor", "event_reader"] });
    const ids = [a.id as string, b.id as string];

    const newestFirst = await dev.users.queryUser({ userIds: ids });
    expect(newestFirst.items?.map((u) => u.id)).toEqual([b.id, a.id]);
    expect(newestFirst.pagination).toEqual({ total: 2, limit: 50, offset: 0 });
    expect(newestFirst.items?.[0]?.tenant?.id).toBe(DEFAULT_TENANT);

    const oldestFirst = await dev.users.queryUser({ userIds: ids, order: "asc" });
    expect(oldestFirst.items?.map((u) => u.id)).toEqual([a.id, b.id]);
    const sorted = await dev.users.queryUser({ userIds: ids, sort: [{ field: "created_at", direction: "asc" }] });
    expect(sorted.items?.map((u) => u.id)).toEqual([a.id, b.id]);

    const readers = await dev.users.queryUser({ userIds: ids, roles: ["event_reader"] });
    expect(readers.items?.map((u) => u.id)).toEqual([b.id]);
    const page = await dev.users.queryUser({ userIds: ids, limit: 1, offset: 1 });
    expect(page.items?.map((u) => u.id)).toEqual([a.id]);
    expect(page.pagination).toEqual({ total: 2, limit: 1, offset: 1 });

    const people = await dev.users.queryUser({ type: "user" });
    expect(people.items?.map((u) => u.id)).toEqual([DEFAULT_TENANT]);
  });

  test("queryUser: filters conditions, a time range, and status deleted (no account is ever deleted)", async () => {
    const before = new Date().toISOString();
    const a = await dev.users.createUser({ type: "service_account", roles: ["event_ingestor"] });
    const inRange = await dev.users.queryUser({
      startTime: before,
      endTime: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(inRange.items?.map((u) => u.id)).toEqual([a.id]);
    const byFilter = await dev.users.queryUser({
      filters: [{ field: "id", operator: "in", dataType: "array", value: { array: [a.id as string] } }],
    });
    expect(byFilter.items?.map((u) => u.id)).toEqual([a.id]);
    const deleted = await dev.users.queryUser({ status: "deleted" });
    expect(deleted).toEqual({ items: [], pagination: { total: 0, limit: 50, offset: 0 } });
  });

  test("queryUser: by a super_admin service account; 403 for an event_reader; an unknown sort field is a typed 400", async () => {
    const all = await admin.users.queryUser({ type: "user" });
    expect(all.items?.map((u) => u.id)).toEqual([DEFAULT_TENANT]);
    await expectForbidden(reader.users.queryUser({}), "user:read");
    const error = await expectRefused(
      dev.users.queryUser({ sort: [{ field: "password_hash", direction: "asc" }] }),
      "sort[0].field must be one of: created_at, updated_at, name, email, type, status, id",
    );
    expect(error.error?.internalError).toBe("validation_error");
  });
});

describe("tenants", () => {
  test("updateTenant then getTenantById: name, billing details and metadata, read back as set", async () => {
    const updated = await dev.tenants.updateTenant({
      name: "Acme Inc",
      billingDetails: {
        email: "billing@acme.test",
        helpEmail: "help@acme.test",
        phone: "+1 555 0100",
        address: { addressLine1: "1 Main St", addressCity: "Springfield", addressCountry: "US" },
      },
      metadata: { plan: "enterprise" },
    });
    const expected = {
      id: DEFAULT_TENANT,
      name: "Acme Inc",
      status: "published",
      billingDetails: {
        email: "billing@acme.test",
        helpEmail: "help@acme.test",
        phone: "+1 555 0100",
        address: {
          addressLine1: "1 Main St",
          addressCity: "Springfield",
          addressCountry: "US",
        },
      },
      metadata: { plan: "enterprise" },
      createdAt: expect.stringMatching(TIMESTAMP),
      updatedAt: expect.stringMatching(TIMESTAMP),
    };
    expect(updated).toEqual(expected);
    expect(await dev.tenants.getTenantById(DEFAULT_TENANT)).toEqual(updated);
    // The caller's profile (cached on the hot path) shows the new tenant at once.
    expect((await dev.users.getUserInfo()).tenant).toEqual(updated);
    expect((await reader.users.getUserInfo()).tenant).toEqual(updated);
  });

  test("a super_admin service account reads and updates the tenant; an event_reader gets 403 for both", async () => {
    const renamed = await admin.tenants.updateTenant({ name: "Acme Corporation" });
    expect(renamed.name).toBe("Acme Corporation");
    expect((await admin.tenants.getTenantById(DEFAULT_TENANT)).name).toBe("Acme Corporation");
    await expectForbidden(reader.tenants.getTenantById(DEFAULT_TENANT), "tenant:read");
    await expectForbidden(reader.tenants.updateTenant({ name: "Hijacked" }), "tenant:write");
    expect((await dev.tenants.getTenantById(DEFAULT_TENANT)).name).toBe("Acme Corporation");
  });

  test("getTenantById of any other id: the SDK's typed 404", async () => {
    const error = await failure(dev.tenants.getTenantById("tenant_someone_else"));
    expect(error).toBeInstanceOf(ErrorsErrorsErrorResponse);
    expect(error.statusCode).toBe(404);
    expect(error.message).toBe("Tenant not found");
  });

  test("updateTenant with a bad country code: the SDK's typed 400 naming the field", async () => {
    await expectRefused(
      dev.tenants.updateTenant({ billingDetails: { address: { addressCountry: "United States" } } }),
      "billing_details.address.address_country must be a two-letter ISO 3166-1 alpha-2 country code in capitals, such as US",
    );
  });
});

describe("environments", () => {
  test("createEnvironment, then updateEnvironment renames it; its type stays", async () => {
    const created = await dev.environments.createEnvironment({ name: "Staging", type: "development" });
    expect(created).toEqual({
      id: expect.stringMatching(/^env_/),
      name: "Staging",
      type: "development",
      createdAt: expect.stringMatching(TIMESTAMP),
      updatedAt: expect.stringMatching(TIMESTAMP),
    });
    const renamed = await dev.environments.updateEnvironment(created.id as string, { name: "QA" });
    expect(renamed).toEqual({ ...created, name: "QA", updatedAt: expect.stringMatching(TIMESTAMP) });
    // The type the environment already has is accepted (the SDK may send both).
    const same = await dev.environments.updateEnvironment(created.id as string, { name: "QA 2", type: "development" });
    expect(same).toMatchObject({ name: "QA 2", type: "development" });
  });

  test("by a super_admin service account; 403 for an event_reader", async () => {
    const created = await admin.environments.createEnvironment({ name: "Sandbox", type: "production" });
    expect(created).toMatchObject({ name: "Sandbox", type: "production" });
    const renamed = await admin.environments.updateEnvironment(created.id as string, { name: "Sandbox 2" });
    expect(renamed.name).toBe("Sandbox 2");
    await expectForbidden(
      reader.environments.createEnvironment({ name: "Nope", type: "development" }),
      "environment:write",
    );
    await expectForbidden(
      reader.environments.updateEnvironment(created.id as string, { name: "Nope" }),
      "environment:write",
    );
  });

  test("changing an environment's type: the SDK's typed 400", async () => {
    const created = await dev.environments.createEnvironment({ name: "Typed", type: "development" });
    await expectRefused(
      dev.environments.updateEnvironment(created.id as string, { type: "production" }),
      "Environment type cannot be changed",
    );
  });
});

describe("rbac", () => {
  test("listRbacRoles: the six built-in roles with their permissions, for any key", async () => {
    for (const sdk of [dev, admin, reader]) {
      const { items } = (await sdk.rbac.listRbacRoles()) as { items: { id: string; permissions: unknown }[] };
      expect(items.map((r) => [r.id, r.permissions])).toEqual([
        ["super_admin", { "*": ["*"] }],
        ["all_writer", { "*": ["read", "write"] }],
        ["all_reader", { "*": ["read"] }],
        ["event_ingestor", { event: ["write"] }],
        ["event_reader", { event: ["read"] }],
        ["key_verifier", { secret: ["verify"] }],
      ]);
    }
  });

  test("getRbacRole: one role; an unknown one is the SDK's HTTP error with our 404", async () => {
    expect(await reader.rbac.getRbacRole("event_reader")).toEqual({
      id: "event_reader",
      name: "Event Reader",
      description: "For services that read event data",
      permissions: { event: ["read"] },
    });
    const error = await failure(dev.rbac.getRbacRole("custom_role"));
    expect(error.statusCode).toBe(404);
    expect(JSON.parse(error.body).error.message).toBe("Role not found");
  });
});

describe("secrets", () => {
  test("createApiKey for the caller, listApiKeys shows it, deleteApiKey revokes it at once", async () => {
    const created = await dev.secrets.createApiKey({ name: "SDK key", type: "private_key" });
    expect(created.apiKey).toMatch(/^sk_test_[0-9a-f]{64}$/);
    expect(created.secret).toMatchObject({
      name: "SDK key",
      type: "private_key",
      provider: "flexprice",
      status: "published",
      roles: ["super_admin"],
      userType: "user",
    });
    const id = created.secret?.id as string;
    const listed = await dev.secrets.listApiKeys();
    expect(listed.items?.find((k) => k.id === id)).toEqual(created.secret);
    // The new key works through the SDK, then stops the moment it is deleted.
    const withKey = s.client(created.apiKey as string);
    expect((await withKey.users.getUserInfo()).id).toBe(DEFAULT_TENANT);
    await dev.secrets.deleteApiKey(id);
    expect((await failure(withKey.users.getUserInfo())).statusCode).toBe(401);
    const deleted = await dev.secrets.listApiKeys(undefined, undefined, "deleted");
    expect(deleted.items?.find((k) => k.id === id)?.status).toBe("deleted");
  });

  test("createApiKey for a service account copies its roles; a super_admin may do it, an event_reader may not", async () => {
    const account = await dev.users.createUser({ type: "service_account", roles: ["event_ingestor"] });
    const created = await admin.secrets.createApiKey({
      name: "ingest",
      type: "private_key",
      serviceAccountId: account.id as string,
    });
    expect(created.secret).toMatchObject({ roles: ["event_ingestor"], userType: "service_account" });
    // The user account lists every key of the environment; a service account only its own.
    const page = await dev.secrets.listApiKeys(100, 0);
    expect(page.items?.find((k) => k.id === created.secret?.id)).toEqual(created.secret);
    const own = await admin.secrets.listApiKeys();
    expect(own.items?.map((k) => k.roles)).toEqual([["super_admin"]]);
    await expectForbidden(reader.secrets.listApiKeys(), "secret:read");
    await expectForbidden(
      reader.secrets.createApiKey({ name: "x", type: "private_key", serviceAccountId: account.id as string }),
      "secret:write",
    );
    await expectForbidden(reader.secrets.deleteApiKey(created.secret?.id as string), "secret:write");
    // A service account manages its own keys only: another's is not found for it.
    const notOwn = await failure(admin.secrets.deleteApiKey(created.secret?.id as string));
    expect(notOwn).toBeInstanceOf(ErrorsErrorsErrorResponse);
    expect([notOwn.statusCode, notOwn.message]).toEqual([404, "API key not found"]);
    await dev.secrets.deleteApiKey(created.secret?.id as string);
  });

  test("an expiry in the past: the SDK's typed 400 with our message", async () => {
    await expectRefused(
      dev.secrets.createApiKey({ name: "old", type: "private_key", expiresAt: "2001-01-01T00:00:00Z" }),
      "expires_at must be in the future",
    );
  });
});
