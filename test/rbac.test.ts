import { describe, expect, test } from "bun:test";
import { ACCESS_DETAIL_KEY } from "../src/modules/auth";
import { ENTITIES } from "../src/modules/rbac/model";
import { createHarness, DEV_KEY, errorOf, type Harness } from "./support/harness";

// SPEC.md §2: the roles API, and the rule that every route declares its access.

const ROLES = "/v1/rbac/roles";

interface ExpectedRole {
  id: string;
  permissions: Record<string, string[]>;
}

const EXPECTED_ROLES: ExpectedRole[] = [
  { id: "super_admin", permissions: { "*": ["*"] } },
  { id: "all_writer", permissions: { "*": ["read", "write"] } },
  { id: "all_reader", permissions: { "*": ["read"] } },
  { id: "event_ingestor", permissions: { event: ["write"] } },
  { id: "event_reader", permissions: { event: ["read"] } },
  { id: "key_verifier", permissions: { secret: ["verify"] } },
];

function roleShape(role: ExpectedRole) {
  return { id: role.id, name: expect.any(String), description: expect.any(String), permissions: role.permissions };
}

async function publishableKey(h: Harness): Promise<string> {
  const res = await h.call("POST", "/v1/secrets/api/keys", { body: { name: "pk", type: "publishable_key" } });
  expect(res.status).toBe(201);
  expect(res.body.api_key).toMatch(/^pk_test_/);
  return res.body.api_key;
}

async function serviceAccountKey(h: Harness, roles: string[]): Promise<string> {
  const sa = await h.call("POST", "/v1/users", { body: { type: "service_account", name: roles.join("+"), roles } });
  expect(sa.status).toBe(201);
  const key = await h.call("POST", "/v1/secrets/api/keys", { body: { name: "k", service_account_id: sa.body.id } });
  expect(key.status).toBe(201);
  return key.body.api_key;
}

async function eventReaderKey(h: Harness): Promise<string> {
  return serviceAccountKey(h, ["event_reader"]);
}

describe("GET /v1/rbac/roles", () => {
  test("returns exactly the six built-in roles with their permissions (no rbac.roles in config)", async () => {
    const h = await createHarness();
    const res = await h.call("GET", ROLES);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["items"]);
    const byId = Object.fromEntries(res.body.items.map((r: any) => [r.id, r]));
    expect(res.body.items).toHaveLength(6);
    for (const role of EXPECTED_ROLES) expect(byId[role.id]).toEqual(roleShape(role));
    for (const role of res.body.items) {
      expect(role.name.trim()).not.toBe("");
      expect(role.description.trim()).not.toBe("");
    }
  });
});

describe("GET /v1/rbac/roles/{id}", () => {
  for (const role of EXPECTED_ROLES) {
    test(`${role.id}: the role`, async () => {
      const h = await createHarness();
      const res = await h.call("GET", `${ROLES}/${role.id}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(roleShape(role));
      const listed = (await h.call("GET", ROLES)).body.items.find((r: any) => r.id === role.id);
      expect(res.body).toEqual(listed);
    });
  }

  for (const id of ["custom_role", "SUPER_ADMIN", "__proto__", "constructor", "toString", "hasOwnProperty"]) {
    test(`unknown role ${id}: 404 not_found`, async () => {
      const h = await createHarness();
      const res = await h.call("GET", `${ROLES}/${id}`);
      expect(res.status).toBe(404);
      expect(errorOf(res).internal_error).toBe("not_found");
    });
  }
});

describe("who may read roles", () => {
  test("a publishable key may read the list and one role", async () => {
    const h = await createHarness();
    const key = await publishableKey(h);
    const list = await h.call("GET", ROLES, { key });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(6);
    const one = await h.call("GET", `${ROLES}/event_reader`, { key });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(roleShape(EXPECTED_ROLES.find((r) => r.id === "event_reader")!));
    expect((await h.call("GET", `${ROLES}/custom_role`, { key })).status).toBe(404);
  });

  test("a service-account key with only event_reader may read the list and one role", async () => {
    const h = await createHarness();
    const key = await eventReaderKey(h);
    const list = await h.call("GET", ROLES, { key });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(6);
    const one = await h.call("GET", `${ROLES}/super_admin`, { key });
    expect(one.status).toBe(200);
    expect(one.body.permissions).toEqual({ "*": ["*"] });
  });

  test("no key: 401 API key required; a bad key: 401 Invalid API key", async () => {
    const h = await createHarness();
    for (const path of [ROLES, `${ROLES}/super_admin`, `${ROLES}/custom_role`]) {
      const none = await h.call("GET", path, { key: null });
      expect(none.status).toBe(401);
      expect(errorOf(none)).toEqual({ message: "API key required", internal_error: "permission_denied" });
      const bad = await h.call("GET", path, { key: "not-a-key" });
      expect(bad.status).toBe(401);
      expect(errorOf(bad)).toEqual({ message: "Invalid API key", internal_error: "permission_denied" });
    }
  });
});

describe("the route table (SPEC §2: every route declares its access)", () => {
  interface RouteEntry {
    method: string;
    path: string;
    hooks?: { detail?: Record<string, unknown> };
  }

  async function routes(): Promise<RouteEntry[]> {
    return (await createHarness()).app.routes as unknown as RouteEntry[];
  }

  /** Elysia keeps a group's root route as `/prefix/`; requests reach it with or without the slash. */
  function normalize(path: string): string {
    return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  }

  function accessOf(table: RouteEntry[]): Map<string, unknown> {
    return new Map(table.map((r) => [`${r.method} ${normalize(r.path)}`, r.hooks?.detail?.[ACCESS_DETAIL_KEY]]));
  }

  const PERMISSION = new RegExp(`^(${ENTITIES.join("|")}):(read|write)$|^secret:verify$`);

  // The dashboard's pages declare a signed-in person's session cookie, with a permission or
  // not (src/modules/dashboard/session.ts), and only dashboard pages may.
  const DASHBOARD = new RegExp(`^dashboard( ((${ENTITIES.join("|")}):(read|write)|secret:verify))?$`);

  test("every route declares exactly one of public, authenticated, portal, a permission, a dashboard session or a webhook signature", async () => {
    const table = await routes();
    expect(table.length).toBeGreaterThan(10);
    const undeclared = table
      .filter((r) => {
        const access = r.hooks?.detail?.[ACCESS_DETAIL_KEY];
        if (typeof access === "string" && DASHBOARD.test(access)) return !r.path.startsWith("/dashboard/");
        // A provider's signature (SPEC §12) lets in its webhook deliveries, and GitHub's its secret
        // scanning matches (SPEC §16), and nothing else.
        if (access === "signature") {
          return !(
            r.method === "POST" &&
            (r.path.startsWith("/v1/webhooks/:provider/") || r.path === "/v1/webhooks/github/secret-scanning")
          );
        }
        // Forward-auth (SPEC §13) judges the forwarded request's credential, on its one path only.
        if (access === "forwarded") return r.path !== "/v1/auth/forward";
        return (
          typeof access !== "string" ||
          !(access === "public" || access === "authenticated" || access === "portal" || PERMISSION.test(access))
        );
      })
      .map((r) => `${r.method} ${r.path} → ${JSON.stringify(r.hooks?.detail?.[ACCESS_DETAIL_KEY])}`);
    expect(undeclared).toEqual([]);
  });

  test("known routes carry the access SPEC §2 gives them", async () => {
    const access = accessOf(await routes());
    const expected: Record<string, string> = {
      "GET /health": "public",
      "GET /v1/users/me": "authenticated",
      "GET /v1/rbac/roles": "authenticated",
      "GET /v1/rbac/roles/:id": "authenticated",
      "POST /v1/users": "user:write",
      "POST /v1/users/search": "user:read",
      "GET /v1/users/:id": "user:read",
      "PUT /v1/users/:id": "user:write",
      "DELETE /v1/users/:id": "user:write",
      "POST /v1/secrets/api/keys": "secret:write",
      "GET /v1/secrets/api/keys": "secret:read",
      "GET /v1/secrets/api/keys/:id": "secret:read",
      "DELETE /v1/secrets/api/keys/:id": "secret:write",
      "POST /v1/secrets/api/keys/:id/rotate": "secret:write",
      "GET /v1/environments": "environment:read",
      "GET /v1/environments/:id": "environment:read",
      "POST /v1/environments": "environment:write",
      "PUT /v1/environments/:id": "environment:write",
      "GET /v1/tenants/:id": "tenant:read",
      "PUT /v1/tenants/update": "tenant:write",
      "GET /v1/audit-logs": "audit_log:read",
      "POST /v1/events": "event:write",
      "POST /v1/events/bulk": "event:write",
      "GET /v1/events": "event:read",
      "POST /v1/events/query": "event:read",
      "GET /v1/events/:id": "event:read",
      "POST /v1/events/usage": "event:read",
      "POST /v1/customers": "customer:write",
      "GET /v1/customers": "customer:read",
      "GET /v1/customers/:id": "customer:read",
      "GET /v1/customers/external/:external_id": "customer:read",
      "PUT /v1/customers/:id": "customer:write",
      "DELETE /v1/customers/:id": "customer:write",
      "POST /v1/customers/search": "customer:read",
      "GET /v1/customers/portal/:external_id": "customer:write",
      "GET /v1/customer/portal/info": "portal",
      "GET /v1/customer/portal/usage": "portal",
      "POST /v1/secrets/integrations/create/:provider": "integration:write",
      "GET /v1/secrets/integrations/by-provider/:provider": "integration:read",
      "GET /v1/secrets/integrations/linked": "integration:read",
      "DELETE /v1/secrets/integrations/:id": "integration:write",
      "POST /v1/webhooks/:provider/:tenant_id/:environment_id": "signature",
      "POST /v1/webhooks/github/secret-scanning": "signature",
      "POST /v1/secrets/leaked": "public",
      "GET /v1/webhooks/events": "integration:read",
    };
    const actual = Object.fromEntries(Object.keys(expected).map((route) => [route, access.get(route)]));
    expect(actual).toEqual(expected);
  });

  test("public and merely-authenticated routes are only those SPEC §1 and §2 allow", async () => {
    const access = accessOf(await routes());
    const withAccess = (value: string) =>
      [...access]
        .filter(([, a]) => a === value)
        .map(([route]) => route)
        .sort();
    // §1: /health, /swagger*, the dashboard's static files, login/signup and webhooks need no
    // credential; §7: nor do the CORS preflights of the portal routes (a preflight carries none);
    // §10: nor do the one-time setup and set-password links, whose token is in the body; §16:
    // nor does reporting leaked keys.
    const mayBePublic = (route: string) =>
      route === "GET /health" ||
      /^OPTIONS \/v1\/customer\/portal\/[a-z]+$/.test(route) ||
      /^GET \/swagger(\/|$)/.test(route) ||
      /^POST \/v1\/auth\/(login|signup|setup|set-password)$/.test(route) ||
      route === "POST /v1/secrets/leaked" ||
      // The dashboard's own sign-in and one-time link forms (their Origin is still checked).
      /^POST \/dashboard\/(sign-in|setup|set-password)$/.test(route) ||
      / \/v1\/webhooks\//.test(route) ||
      (route.startsWith("GET ") && !route.startsWith("GET /v1/"));
    const publicRoutes = withAccess("public");
    expect(publicRoutes).toContain("GET /health");
    expect(publicRoutes.filter((route) => !mayBePublic(route))).toEqual([]);
    // §2: only these API routes are open to every principal, publishable keys included.
    const authenticated = withAccess("authenticated").filter(
      (route) => !/ \/v1\/(auth|customer\/portal)\//.test(route),
    );
    expect(authenticated).toEqual(["GET /v1/rbac/roles", "GET /v1/rbac/roles/:id", "GET /v1/users/me"]);
  });

  test("a route's declaration is what is enforced: authenticated routes refuse no key, permission routes refuse a publishable key", async () => {
    const h = await createHarness();
    const pk = await publishableKey(h);
    // A private key whose roles lack the route's permission: event_reader for anything but
    // event:read, event_ingestor for event:read.
    const reader = await eventReaderKey(h);
    const ingestor = await serviceAccountKey(h, ["event_ingestor"]);
    for (const route of h.app.routes as unknown as RouteEntry[]) {
      const access = route.hooks?.detail?.[ACCESS_DETAIL_KEY];
      // A customer id starts with cust_: /v1/customers/{anything else} is an unknown route (404
      // before any key is asked for), so the customer routes get an id of the right shape.
      const missing = route.path.startsWith("/v1/customers/:") ? "cust_does-not-exist" : "does-not-exist";
      const path = normalize(route.path).replace(/:[A-Za-z_]+/g, missing);
      const body = route.method === "GET" || route.method === "DELETE" ? undefined : {};
      const anonymous = await h.call(route.method, path, { key: null, body });
      if (typeof access === "string" && DASHBOARD.test(access)) {
        // No session cookie: a page leads to sign-in, a change is refused (its Origin first);
        // an API key, of any kind, opens nothing here.
        const publishable = await h.call(route.method, path, { key: pk, body });
        for (const answer of [anonymous, publishable]) {
          if (route.method === "GET") {
            expect([route.path, answer.status, answer.headers.get("location")?.split("?")[0]]).toEqual([
              route.path,
              303,
              "/dashboard/sign-in",
            ]);
          } else expect([route.path, answer.status]).toEqual([route.path, 403]);
        }
        continue;
      }
      if (access === "public") {
        // Let in: whatever the empty request earns (200, 400, 404, signup's 403 while disabled…),
        // never a credential refusal, never a failure.
        expect({ route: route.path, refused: anonymous.status === 401 }).toEqual({ route: route.path, refused: false });
        expect({ route: route.path, failed: anonymous.status >= 500 }).toEqual({ route: route.path, failed: false });
        continue;
      }
      if (access === "forwarded") {
        // Forward-auth answers proxies only: app.handle has no trusted peer, so every caller,
        // whatever key it carries, is refused before any rule or key is looked at.
        for (const key of [null, pk, DEV_KEY]) {
          const answer = await h.call(route.method, path, { key, body });
          expect([route.method, route.path, answer.status, errorOf(answer).message]).toEqual([
            route.method,
            route.path,
            403,
            "Forward-auth answers only the proxies listed in forward_auth.trusted_proxies",
          ]);
        }
        continue;
      }
      if (access === "signature") {
        // No signature: refused; an API key, of any kind, is no signature.
        const path = normalize(route.path)
          .replace(":provider", "stripe")
          .replace(/:[A-Za-z_]+/g, missing);
        for (const key of [null, pk, DEV_KEY]) {
          const answer = await h.call(route.method, path, { key, body });
          expect([route.path, answer.status, errorOf(answer).message]).toEqual([
            route.path,
            401,
            "Invalid webhook signature",
          ]);
        }
        continue;
      }
      expect([route.path, anonymous.status]).toEqual([route.path, 401]);
      const publishable = await h.call(route.method, path, { key: pk, body });
      if (access === "portal") {
        // Portal routes read a session token only; no API key, of any kind, opens them.
        expect([route.path, publishable.status]).toEqual([route.path, 401]);
        expect(errorOf(publishable).message).toBe("Session token required");
      } else if (access === "authenticated") {
        expect({ route: route.path, refused: publishable.status === 401 || publishable.status === 403 }).toEqual({
          route: route.path,
          refused: false,
        });
        expect({ route: route.path, failed: publishable.status >= 500 }).toEqual({ route: route.path, failed: false });
      } else {
        expect([route.path, publishable.status]).toEqual([route.path, 403]);
        expect(errorOf(publishable).message).toBe("Publishable keys cannot access this resource");
        const lacking = await h.call(route.method, path, { key: access === "event:read" ? ingestor : reader, body });
        expect([route.path, lacking.status, errorOf(lacking).message]).toEqual([
          route.path,
          403,
          "Insufficient permissions",
        ]);
      }
    }
  });
});
