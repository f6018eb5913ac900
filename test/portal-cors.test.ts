// CORS for the customer portal routes (SPEC §7): a portal page hosted on another origin calls
// /v1/customer/portal/* from the customer's browser. Only those routes answer cross-origin, only
// for customer_portal.allowed_origins. A browser's own enforcement is tested in
// test/browser/portal.test.ts; here, the headers, and the config that decides them.
import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../src/config";
import { type CallResult, createHarness, type Harness } from "./support/harness";
import { tempDir } from "./support/temp";

const ALLOWED = "https://billing.example.test";
const OTHER = "https://evil.example.test";
const PORTAL_ROUTES = ["/v1/customer/portal/info", "/v1/customer/portal/usage"];

function preflight(h: Harness, path: string, origin: string, method = "GET", headers = "x-session-token") {
  return h.call("OPTIONS", path, {
    key: null,
    headers: { Origin: origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers },
  });
}

/** Every Access-Control-* header of a response. */
function corsHeaders(res: CallResult): Record<string, string> {
  return Object.fromEntries([...res.headers].filter(([name]) => name.startsWith("access-control-")));
}

function varies(res: CallResult): string[] {
  return (res.headers.get("vary") ?? "").split(",").map((v) => v.trim().toLowerCase());
}

async function sessionToken(h: Harness): Promise<string> {
  expect((await h.call("POST", "/v1/customers", { body: { external_id: "acme", name: "Acme" } })).status).toBe(201);
  return (await h.call("GET", "/v1/customers/portal/acme")).body.token;
}

describe("preflights on the portal routes", () => {
  test("an allowed origin may GET with X-Session-Token", async () => {
    const h = await createHarness({ customer_portal: { allowed_origins: [ALLOWED] } });
    for (const path of PORTAL_ROUTES) {
      const res = await preflight(h, path, ALLOWED);
      expect({ path, status: res.status, body: res.text }).toEqual({ path, status: 204, body: "" });
      expect(corsHeaders(res)).toEqual({
        "access-control-allow-origin": ALLOWED,
        "access-control-allow-methods": "GET",
        "access-control-allow-headers": "X-Session-Token",
        "access-control-max-age": "600",
      });
      expect(varies(res)).toContain("origin");
    }
  });

  test("any other origin gets no allow headers, so the browser blocks the call", async () => {
    const h = await createHarness({ customer_portal: { allowed_origins: [ALLOWED] } });
    for (const origin of [OTHER, "null", `${ALLOWED}:8443`, "http://billing.example.test", `${ALLOWED}.evil.test`]) {
      const res = await preflight(h, "/v1/customer/portal/info", origin);
      expect({ origin, cors: corsHeaders(res) }).toEqual({ origin, cors: {} });
      expect(varies(res)).toContain("origin");
    }
  });

  test("a preflight is a request like any other: one log line, under its route", async () => {
    const h = await createHarness({ customer_portal: { allowed_origins: [ALLOWED] } });
    await preflight(h, "/v1/customer/portal/usage", OTHER);
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.logs.filter((entry) => entry.msg === "request")).toEqual([
      expect.objectContaining({ method: "OPTIONS", route: "/v1/customer/portal/usage", status: 204 }),
    ]);
  });

  test("only GET and X-Session-Token are offered, whatever is asked", async () => {
    const h = await createHarness({ customer_portal: { allowed_origins: [ALLOWED] } });
    const res = await preflight(h, "/v1/customer/portal/info", ALLOWED, "DELETE", "x-api-key, authorization");
    expect(res.headers.get("access-control-allow-methods")).toBe("GET");
    expect(res.headers.get("access-control-allow-headers")).toBe("X-Session-Token");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });
});

describe("portal responses to a cross-origin page", () => {
  test("from an allowed origin: readable (the data, and a 401 the page must show), Vary: Origin", async () => {
    const h = await createHarness({ customer_portal: { allowed_origins: [ALLOWED] } });
    const token = await sessionToken(h);
    for (const path of PORTAL_ROUTES) {
      const ok = await h.call("GET", path, { key: null, headers: { Origin: ALLOWED, "X-Session-Token": token } });
      expect({ path, status: ok.status }).toEqual({ path, status: 200 });
      expect(ok.headers.get("access-control-allow-origin")).toBe(ALLOWED);
      expect(ok.headers.get("access-control-expose-headers")).toBe("Retry-After, X-Request-ID");
      expect(varies(ok)).toContain("origin");
    }
    const expired = await h.call("GET", "/v1/customer/portal/info", {
      key: null,
      headers: { Origin: ALLOWED, "X-Session-Token": "garbage" },
    });
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toBe("Invalid or expired session token");
    expect(expired.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(varies(expired)).toContain("origin");
  });

  test("from another origin, or with no Origin at all: no CORS headers, the same answer otherwise", async () => {
    const h = await createHarness({ customer_portal: { allowed_origins: [ALLOWED] } });
    const token = await sessionToken(h);
    for (const headers of [{ Origin: OTHER }, {}] as Record<string, string>[]) {
      const res = await h.call("GET", "/v1/customer/portal/info", {
        key: null,
        headers: { ...headers, "X-Session-Token": token },
      });
      expect(res.status).toBe(200);
      expect(res.body.external_id).toBe("acme");
      expect(corsHeaders(res)).toEqual({});
      expect(varies(res)).toContain("origin");
    }
  });
});

describe("no other route answers cross-origin", () => {
  test("a preflight to /v1/users/me, to a customer route or to the page gets no CORS headers", async () => {
    const h = await createHarness({ customer_portal: { allowed_origins: [ALLOWED] } });
    for (const path of ["/v1/users/me", "/v1/customers/portal/acme", "/v1/customers", "/portal", "/health"]) {
      const res = await preflight(h, path, ALLOWED, "GET", "x-api-key");
      expect({ path, cors: corsHeaders(res), status: res.status }).toEqual({ path, cors: {}, status: 404 });
    }
  });

  test("a GET with an allowed Origin elsewhere gets no Access-Control-Allow-Origin", async () => {
    const h = await createHarness({ customer_portal: { allowed_origins: [ALLOWED] } });
    for (const path of ["/v1/users/me", "/v1/customers", "/health", "/portal"]) {
      const res = await h.call("GET", path, { headers: { Origin: ALLOWED } });
      expect({ path, status: res.status, cors: corsHeaders(res) }).toEqual({ path, status: 200, cors: {} });
    }
  });
});

describe("which origins: customer_portal.allowed_origins", () => {
  async function allows(h: Harness, origin: string): Promise<boolean> {
    const res = await preflight(h, "/v1/customer/portal/info", origin);
    return res.headers.get("access-control-allow-origin") === origin;
  }

  test("by default, the origin of customer_portal.url", async () => {
    const h = await createHarness({ customer_portal: { url: "https://billing.example.test/account/portal" } });
    expect(await allows(h, ALLOWED)).toBe(true);
    expect(await allows(h, OTHER)).toBe(false);
  });

  test("with the default url (Tollgate's own page, same origin), none: no cross-origin caller at all", async () => {
    const h = await createHarness();
    for (const origin of ["http://127.0.0.1:8080", "http://localhost:3000", OTHER]) {
      expect({ origin, allowed: await allows(h, origin) }).toEqual({ origin, allowed: false });
    }
  });

  test("a list replaces the default: exactly the origins it names", async () => {
    const h = await createHarness({
      customer_portal: {
        url: "https://billing.example.test/portal",
        allowed_origins: ["https://a.example.test", "http://127.0.0.1:3000"],
      },
    });
    expect(await allows(h, "https://a.example.test")).toBe(true);
    expect(await allows(h, "http://127.0.0.1:3000")).toBe(true);
    expect(await allows(h, ALLOWED)).toBe(false);
  });
});

describe("config: customer_portal.url and allowed_origins", () => {
  const load = (env: Record<string, string>) => loadConfig({ env, cwd: tempDir("config-") });

  function errorFor(env: Record<string, string>): string {
    try {
      load(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error("no error");
  }

  test("defaults: no url (Tollgate's own page) and no list (the url's origin)", () => {
    const { customer_portal } = load({});
    expect(customer_portal.url).toBe("");
    expect(customer_portal.allowed_origins).toEqual([]);
  });

  test("TOLLGATE_CUSTOMER_PORTAL_ALLOWED_ORIGINS takes a JSON list or a comma-separated one", () => {
    const list = ["https://a.example.test", "http://localhost:3000"];
    expect(
      load({ TOLLGATE_CUSTOMER_PORTAL_ALLOWED_ORIGINS: JSON.stringify(list) }).customer_portal.allowed_origins,
    ).toEqual(list);
    expect(
      load({ TOLLGATE_CUSTOMER_PORTAL_ALLOWED_ORIGINS: " https://a.example.test, http://localhost:3000 " })
        .customer_portal.allowed_origins,
    ).toEqual(list);
    expect(load({ TOLLGATE_CUSTOMER_PORTAL_ALLOWED_ORIGINS: "" }).customer_portal.allowed_origins).toEqual([]);
    expect(load({ TOLLGATE_CUSTOMER_PORTAL_URL: "https://b.example.test/p" }).customer_portal.url).toBe(
      "https://b.example.test/p",
    );
  });

  test("an origin is scheme://host[:port], nothing more, and the message shows the fix", () => {
    const bad: [string, string][] = [
      ["https://a.example.test/", ' (did you mean "https://a.example.test"?)'],
      ["https://a.example.test/portal", ' (did you mean "https://a.example.test"?)'],
      ["https://A.Example.test", ' (did you mean "https://a.example.test"?)'],
      ["https://a.example.test:443", ' (did you mean "https://a.example.test"?)'],
      ["a.example.test", ""],
      ["*", ""],
      ["null", ""],
      ["ftp://a.example.test", ""],
    ];
    for (const [origin, hint] of bad) {
      const message = errorFor({ TOLLGATE_CUSTOMER_PORTAL_ALLOWED_ORIGINS: JSON.stringify([origin]) });
      expect(message).toBe(
        `Invalid config: customer_portal.allowed_origins: "${origin}" is not an origin: give http(s)://host[:port], without a path, such as https://billing.example.com${hint}`,
      );
    }
    expect(errorFor({ TOLLGATE_CUSTOMER_PORTAL_ALLOWED_ORIGINS: '{"a": 1}' })).toContain(
      "customer_portal.allowed_origins",
    );
  });
});
