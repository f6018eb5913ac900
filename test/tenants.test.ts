// Tenants (SPEC §2, issue 10): GET /v1/tenants/{id} for the caller's own tenant only, and
// PUT /v1/tenants/update for its name, billing details and metadata; tenant:read/tenant:write
// for user accounts and super_admin; audited; shown in full in every account response.
import { changeSeen } from "./support/test-store";
import { describe, expect, test } from "bun:test";
import type { AuditContext } from "../src/modules/audit/model";
import { RoleCatalog } from "../src/modules/rbac/service";
import { getOwnTenant, updateTenant } from "../src/modules/tenants/service";
import { ProfileCache } from "../src/modules/users/profile-cache";
import {
  createHarness,
  createTwoTenantHarness,
  DEFAULT_TENANT,
  errorOf,
  type Harness,
  OTHER_TENANT,
  OTHER_TENANT_KEY,
} from "./support/harness";
import { issueTestKey } from "./support/keys";

const TENANTS = "/v1/tenants";
const UPDATE = `${TENANTS}/update`;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const ADDRESS_NULLS = {
  address_line1: null,
  address_line2: null,
  address_city: null,
  address_state: null,
  address_postal_code: null,
  address_country: null,
};

async function tenant(h: Harness, key?: string) {
  const res = await h.call("GET", `${TENANTS}/${DEFAULT_TENANT}`, { key });
  expect(res.status).toBe(200);
  return res.body;
}

async function update(h: Harness, body: unknown, key?: string) {
  const res = await h.call("PUT", UPDATE, { body, key });
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
  return res.body;
}

async function auditRows(h: Harness) {
  return (
    (await h.context.db.all("SELECT * FROM audit_logs WHERE resource_type = 'tenant' ORDER BY created_at, id")) as {
      action: string;
      resource_id: string;
      actor_id: string;
      changes: string;
    }[]
  ).map((row) => ({ ...row, changes: JSON.parse(row.changes) }));
}

describe("GET /v1/tenants/{id}", () => {
  test("the caller's own tenant: every field, null billing details and empty metadata until set", async () => {
    const h = await createHarness();
    const res = await h.call("GET", `${TENANTS}/${DEFAULT_TENANT}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: DEFAULT_TENANT,
      name: "Default Tenant",
      status: "published",
      billing_details: null,
      metadata: {},
      created_at: expect.stringMatching(TIMESTAMP),
      updated_at: expect.stringMatching(TIMESTAMP),
    });
  });

  test("any other id, another tenant's included: 404 Tenant not found, never a 403", async () => {
    const h = await createTwoTenantHarness();
    for (const id of [OTHER_TENANT, "tenant_unknown", "update"]) {
      const res = await h.call("GET", `${TENANTS}/${id}`);
      expect(res.status).toBe(404);
      expect(errorOf(res)).toEqual({ message: "Tenant not found", internal_error: "not_found" });
    }
    // And the other way round: the second tenant sees its own, and not the first.
    expect((await h.call("GET", `${TENANTS}/${OTHER_TENANT}`, { key: OTHER_TENANT_KEY })).body.id).toBe(OTHER_TENANT);
    expect((await h.call("GET", `${TENANTS}/${DEFAULT_TENANT}`, { key: OTHER_TENANT_KEY })).status).toBe(404);
  });
});

describe("access: tenant:read and tenant:write", () => {
  test("super_admin holds both (user accounts act as super_admin); the event roles hold neither", () => {
    const roles = new RoleCatalog();
    const admin = roles.grantsOf(["super_admin"]);
    expect([admin.allows("tenant:read"), admin.allows("tenant:write")]).toEqual([true, true]);
    const events = roles.grantsOf(["event_ingestor", "event_reader"]);
    expect([events.allows("tenant:read"), events.allows("tenant:write")]).toEqual([false, false]);
  });

  test("a super_admin service-account key reads and updates; event_reader and event_ingestor keys get 403", async () => {
    const h = await createHarness();
    const admin = (await issueTestKey(h, { roles: ["super_admin"] })).apiKey;
    expect((await tenant(h, admin)).id).toBe(DEFAULT_TENANT);
    expect((await update(h, { name: "By the admin" }, admin)).name).toBe("By the admin");
    for (const roles of [["event_reader"], ["event_ingestor"]]) {
      const key = (await issueTestKey(h, { roles })).apiKey;
      const read = await h.call("GET", `${TENANTS}/${DEFAULT_TENANT}`, { key });
      expect(read.status).toBe(403);
      expect(errorOf(read)).toEqual({
        message: "Insufficient permissions",
        internal_error: "permission_denied",
        details: { required: "tenant:read", roles },
      });
      const write = await h.call("PUT", UPDATE, { key, body: { name: "Taken over" } });
      expect(write.status).toBe(403);
      expect(errorOf(write).details).toEqual({ required: "tenant:write", roles });
    }
    expect((await tenant(h)).name).toBe("By the admin");
  });

  test("a publishable key: 403, as on every permission route", async () => {
    const h = await createHarness();
    const key = (await issueTestKey(h, { type: "publishable_key" })).apiKey;
    const res = await h.call("GET", `${TENANTS}/${DEFAULT_TENANT}`, { key });
    expect(res.status).toBe(403);
    expect(errorOf(res).message).toBe("Publishable keys cannot access this resource");
  });
});

describe("PUT /v1/tenants/update", () => {
  test("name, billing details and metadata: set, trimmed, and read back", async () => {
    const h = await createHarness();
    const body = await update(h, {
      name: "  Acme Inc  ",
      billing_details: {
        email: "billing@acme.test",
        help_email: "help@acme.test",
        phone: " +1 555 0100 ",
        address: { address_line1: "1 Main St", address_city: "Springfield", address_country: "US" },
      },
      metadata: { plan: "enterprise", region: "eu" },
    });
    const expected = {
      id: DEFAULT_TENANT,
      name: "Acme Inc",
      status: "published",
      billing_details: {
        email: "billing@acme.test",
        help_email: "help@acme.test",
        phone: "+1 555 0100",
        address: { ...ADDRESS_NULLS, address_line1: "1 Main St", address_city: "Springfield", address_country: "US" },
      },
      metadata: { plan: "enterprise", region: "eu" },
      created_at: expect.stringMatching(TIMESTAMP),
      updated_at: expect.stringMatching(TIMESTAMP),
    };
    expect(body).toEqual(expected);
    expect(body.updated_at >= body.created_at).toBe(true);
    expect(await tenant(h)).toEqual(body);
  });

  test("a field left out is kept; billing_details and metadata given are replaced whole", async () => {
    const h = await createHarness();
    await update(h, {
      billing_details: { email: "billing@acme.test", address: { address_line1: "1 Main St" } },
      metadata: { a: "1", b: "2" },
    });
    // Only the name: billing details and metadata stay.
    const renamed = await update(h, { name: "Renamed" });
    expect(renamed.billing_details.email).toBe("billing@acme.test");
    expect(renamed.metadata).toEqual({ a: "1", b: "2" });
    // New billing details replace the old ones, not merged into them.
    const replaced = await update(h, { billing_details: { phone: "+44 20 7946 0000" }, metadata: { c: "3" } });
    expect(replaced.billing_details).toEqual({
      email: null,
      help_email: null,
      phone: "+44 20 7946 0000",
      address: ADDRESS_NULLS,
    });
    expect(replaced.metadata).toEqual({ c: "3" });
    expect(replaced.name).toBe("Renamed");
  });

  test("billing_details null, or with nothing but empty fields, clears them; metadata {} empties it", async () => {
    const h = await createHarness();
    for (const cleared of [null, {}, { email: "", address: { address_line1: " " } }, { address: null }]) {
      await update(h, { billing_details: { email: "billing@acme.test" } });
      expect((await update(h, { billing_details: cleared, metadata: {} })).billing_details).toBeNull();
    }
    expect((await tenant(h)).metadata).toEqual({});
  });

  test("refusals name the field, and change nothing", async () => {
    const h = await createHarness();
    const before = await tenant(h);
    const cases: [unknown, string, Record<string, string>][] = [
      [
        {},
        "name, billing_details or metadata is required",
        { name: "is required when billing_details and metadata are absent" },
      ],
      [{ name: "" }, "name must be 1 to 255 characters, not counting surrounding spaces", {}],
      [{ status: "archived" }, "status is not an accepted field", {}],
      [{ billing_details: { email: "not-an-email" } }, "billing_details.email must be a valid email", {}],
      [{ billing_details: { help_email: "a@b" } }, "billing_details.help_email must be a valid email", {}],
      [
        { billing_details: { address: { address_country: "us" } } },
        "billing_details.address.address_country must be a two-letter ISO 3166-1 alpha-2 country code in capitals, such as US",
        {},
      ],
      [
        { billing_details: { address: { address_country: "XX" } } },
        "billing_details.address.address_country must be a two-letter ISO 3166-1 alpha-2 country code in capitals, such as US",
        {},
      ],
      [
        { billing_details: { address: { address_country: "USA" } } },
        "billing_details.address.address_country must be a two-letter ISO 3166-1 alpha-2 country code in capitals, such as US",
        {},
      ],
      [
        { billing_details: { address: { address_postal_code: "1".repeat(21) } } },
        "billing_details.address.address_postal_code must be a string of at most 20 characters, or null",
        {},
      ],
      [{ billing_details: { fax: "123" } }, "billing_details.fax is not an accepted field", {}],
      [{ metadata: { plan: 1 } }, "metadata.plan expected string", {}],
    ];
    for (const [body, message, details] of cases) {
      const res = await h.call("PUT", UPDATE, { body });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      const error = errorOf(res);
      expect({ body, message: error.message, internal_error: error.internal_error }).toEqual({
        body,
        message,
        internal_error: "validation_error",
      });
      if (Object.keys(details).length > 0) expect(error.details).toEqual(details);
    }
    expect(await tenant(h)).toEqual(before);
    expect(await auditRows(h)).toEqual([]);
  });

  test("each update writes one tenant.updated audit row with before and after", async () => {
    const h = await createHarness();
    const before = await tenant(h);
    const after = await update(h, { name: "Audited", billing_details: { email: "billing@acme.test" } });
    const rows = await auditRows(h);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: "tenant.updated", resource_id: DEFAULT_TENANT, actor_id: DEFAULT_TENANT });
    expect(rows[0]?.changes).toEqual({ before, after });
    const listed = await h.call("GET", "/v1/audit-logs?resource_type=tenant");
    expect(listed.body.items.map((r: { action: string }) => r.action)).toEqual(["tenant.updated"]);
  });

  test("a tenant updates only itself", async () => {
    const h = await createTwoTenantHarness();
    const theirs = await update(h, { name: "Second Tenant Ltd" }, OTHER_TENANT_KEY);
    expect(theirs.id).toBe(OTHER_TENANT);
    expect((await tenant(h)).name).toBe("Default Tenant");
    const mine = await update(h, { metadata: { mine: "yes" } });
    expect(mine.id).toBe(DEFAULT_TENANT);
    const again = await h.call("GET", `${TENANTS}/${OTHER_TENANT}`, { key: OTHER_TENANT_KEY });
    expect(again.body).toMatchObject({ name: "Second Tenant Ltd", metadata: {} });
  });
});

describe("the tenant in account responses", () => {
  test("/users/me, get, search and create show the tenant in full, and the update at once", async () => {
    const h = await createHarness();
    const admin = (await issueTestKey(h, { roles: ["super_admin"] })).apiKey;
    // Warm the profile cache of both credentials first.
    expect((await h.call("GET", "/v1/users/me")).body.tenant.billing_details).toBeNull();
    expect((await h.call("GET", "/v1/users/me", { key: admin })).body.tenant.name).toBe("Default Tenant");
    const updated = await update(h, { name: "Shown Everywhere", billing_details: { phone: "+1 555 0100" } });
    expect((await h.call("GET", "/v1/users/me")).body.tenant).toEqual(updated);
    expect((await h.call("GET", "/v1/users/me", { key: admin })).body.tenant).toEqual(updated);
    expect((await h.call("GET", `/v1/users/${DEFAULT_TENANT}`)).body.tenant).toEqual(updated);
    const search = await h.call("POST", "/v1/users/search", { body: {} });
    expect(search.body.items.map((u: { tenant: unknown }) => u.tenant)).toEqual([updated]);
    const created = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "w", roles: ["event_reader"] },
    });
    expect(created.body.tenant).toEqual(updated);
  });

  test("the update itself drops the tenant's cached profiles before it answers", async () => {
    const h = await createHarness();
    const { db, profiles } = h.context;
    expect((await h.call("GET", "/v1/users/me")).body.tenant.name).toBe("Default Tenant");
    const updated = await update(h, { name: "Dropped at once" });
    // Read straight from the cache: no request, so the credential-generation check (which would
    // also drop it, on the next request) has not run.
    expect((await profiles.get(db, DEFAULT_TENANT, DEFAULT_TENANT))?.tenant).toEqual(updated);
  });

  test("a change another process makes to the tenant row is seen too (the credential generation moves)", async () => {
    const h = await createHarness({}, { changePollMs: 20 });
    expect((await h.call("GET", "/v1/users/me")).body.tenant.metadata).toEqual({});
    await h.context.db.run("UPDATE tenants SET metadata = ? WHERE id = ?", '{"set":"elsewhere"}', DEFAULT_TENANT);
    await changeSeen();
    expect((await h.call("GET", "/v1/users/me")).body.tenant.metadata).toEqual({ set: "elsewhere" });
  });

  test("the service decides: updateTenant drops the profiles, getOwnTenant refuses another id", async () => {
    const h = await createTwoTenantHarness();
    const { db, profiles } = h.context;
    const audit: AuditContext = {
      tenantId: DEFAULT_TENANT,
      environmentId: null,
      actor: { type: "user", id: DEFAULT_TENANT, name: null },
      credentialId: null,
      requestId: null,
      ip: null,
      userAgent: null,
    };
    expect((await profiles.get(db, DEFAULT_TENANT, DEFAULT_TENANT))?.tenant.name).toBe("Default Tenant");
    // Called without the route: the service itself keeps /v1/users/me from answering the old tenant.
    await updateTenant(h.context, audit, { name: "Renamed by the service" });
    expect((await profiles.get(db, DEFAULT_TENANT, DEFAULT_TENANT))?.tenant.name).toBe("Renamed by the service");
    expect((await getOwnTenant(db, DEFAULT_TENANT, DEFAULT_TENANT)).name).toBe("Renamed by the service");
    await expect(getOwnTenant(db, DEFAULT_TENANT, OTHER_TENANT)).rejects.toThrow("Tenant not found");
  });

  test("the profile cache forgets a tenant's profiles, and only that tenant's", async () => {
    const h = await createTwoTenantHarness();
    const cache = new ProfileCache(100);
    const db = h.context.db;
    const mine = await cache.get(db, DEFAULT_TENANT, DEFAULT_TENANT);
    const theirs = await cache.get(db, OTHER_TENANT, "user-two");
    await db.run("UPDATE tenants SET name = 'changed' WHERE id IN (?, ?)", DEFAULT_TENANT, OTHER_TENANT);
    cache.invalidateTenant(DEFAULT_TENANT);
    expect((await cache.get(db, DEFAULT_TENANT, DEFAULT_TENANT))?.tenant.name).toBe("changed");
    expect(await cache.get(db, OTHER_TENANT, "user-two")).toBe(theirs);
    expect(mine?.tenant.name).toBe("Default Tenant");
  });
});
