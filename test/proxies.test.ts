// SPEC §13, issue 24: Tollgate behind the real Caddy and nginx from Debian, with the README's
// configurations (docs/proxies/) as they are, guarding a real upstream. What a client sees
// through each proxy, and what the upstream is told.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { DEV_KEY } from "./support/harness";
import { type ServerProcess, startServer } from "./support/process";
import { describeWithProxy, type Echo, type Running, startCaddy, startNginx, startUpstream } from "./support/proxies";

const RULES = [
  { path: "/public", public: true },
  // SPEC §14: the key's "metered" limit counts these, and each costs 2 credits.
  { path: "/metered", permission: "orders:read", ratelimits: [{ name: "metered" }], cost: 2 },
  { path: "/orders", methods: ["GET"], permission: "orders:read" },
  { path: "/orders", permission: "orders:write" },
];
const ROLES = {
  orders_reader: { name: "Orders Reader", permissions: { orders: ["read"] } },
  key_verifier_too: { name: "Verifier", permissions: { secret: ["verify"] } },
};
const IDENTITY = [
  "x-tollgate-account-id",
  "x-tollgate-account-type",
  "x-tollgate-key-id",
  "x-tollgate-tenant-id",
  "x-tollgate-environment-id",
  "x-tollgate-roles",
];

for (const proxy of ["caddy", "nginx"] as const) {
  describeWithProxy(proxy, `forward-auth through the real ${proxy}`, () => {
    let tollgate: ServerProcess;
    let upstream: Running;
    let front: Running;
    const through = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${front.port}${path}`, init);
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${tollgate.baseUrl}${path}`, {
        ...init,
        headers: { "X-API-Key": DEV_KEY, "Content-Type": "application/json", ...init.headers },
      });

    /** A service account holding `roles` and a key for it (with `limits`), made through Tollgate's API. */
    async function keyWith(roles: string[], limits: Record<string, unknown> = {}) {
      const account = await (
        await api("/v1/users", {
          method: "POST",
          body: JSON.stringify({ type: "service_account", name: "svc", roles }),
        })
      ).json();
      const key = await (
        await api("/v1/secrets/api/keys", {
          method: "POST",
          body: JSON.stringify({ name: "k", service_account_id: (account as { id: string }).id, ...limits }),
        })
      ).json();
      return key as { id: string; api_key: string };
    }

    beforeAll(async () => {
      tollgate = await startServer({
        env: {
          TOLLGATE_FORWARD_AUTH_RULES: JSON.stringify(RULES),
          TOLLGATE_RBAC_ROLES: JSON.stringify(ROLES),
        },
      });
      upstream = startUpstream();
      front =
        proxy === "caddy"
          ? await startCaddy(tollgate.port, upstream.port)
          : await startNginx(tollgate.port, upstream.port);
    });

    afterAll(async () => {
      await front?.stop();
      await upstream?.stop();
      expect(await tollgate.stop()).toBe(0);
    });

    test("no key: 401 with WWW-Authenticate and Tollgate's message; the upstream is never reached", async () => {
      const res = await through("/orders/1");
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="tollgate"');
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message).toBe("API key required");
    });

    test("a key without the rule's permission: 403 Insufficient permissions", async () => {
      const { api_key } = await keyWith(["orders_reader"]);
      const res = await through("/orders/1", { method: "POST", headers: { "X-API-Key": api_key } });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { message: string } }).error.message).toBe("Insufficient permissions");
    });

    test("a good key: the upstream sees Tollgate's identity headers, never the client's forged ones", async () => {
      const key = await keyWith(["orders_reader"]);
      const res = await through("/orders/1?x=1", {
        headers: {
          "X-API-Key": key.api_key,
          "X-Tollgate-Account-Id": "forged",
          "X-Tollgate-Roles": "super_admin",
          "X-Tollgate-Tenant-Id": "someone-else",
        },
      });
      expect(res.status).toBe(200);
      const seen = (await res.json()) as Echo;
      expect(seen.path).toBe("/orders/1?x=1");
      expect(seen.headers["x-tollgate-key-id"]).toBe(key.id);
      expect(seen.headers["x-tollgate-roles"]).toBe("orders_reader");
      expect(seen.headers["x-tollgate-account-type"]).toBe("service_account");
      expect(seen.headers["x-tollgate-tenant-id"]).toBe("00000000-0000-0000-0000-000000000000");
      expect(seen.headers["x-tollgate-account-id"]).toStartWith("usr_");
      expect(JSON.stringify(seen.headers)).not.toContain("forged");
      expect(JSON.stringify(seen.headers)).not.toContain("someone-else");
    });

    test("a key revoked through the API: the very next request through the proxy is 401", async () => {
      const key = await keyWith(["orders_reader"]);
      const headers = { "X-API-Key": key.api_key };
      expect((await through("/orders/1", { headers })).status).toBe(200);
      expect((await api(`/v1/secrets/api/keys/${key.id}`, { method: "DELETE" })).status).toBe(204);
      const after = await through("/orders/1", { headers });
      expect(after.status).toBe(401);
      expect(((await after.json()) as { error: { message: string } }).error.message).toBe("Invalid API key");
    });

    test("a public rule passes without a key, and a forged identity header still does not reach the upstream as one", async () => {
      const res = await through("/public/docs", {
        headers: { "X-Tollgate-Account-Id": "forged", "X-Tollgate-Roles": "super_admin" },
      });
      expect(res.status).toBe(200);
      const seen = (await res.json()) as Echo;
      for (const name of IDENTITY) expect([name, seen.headers[name] ?? ""]).toEqual([name, ""]);
    });

    test("a path no rule covers is refused, even with the development key", async () => {
      const res = await through("/admin", { headers: { "X-API-Key": DEV_KEY } });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
        "No forward-auth rule allows this request",
      );
    });

    test("a traversal from a public path is judged as the path the upstream serves", async () => {
      expect((await through("/public/%2e%2e/orders/1")).status).toBe(401);
    });

    test("over its rate limit: the client gets 429 Rate limit exceeded with Retry-After and the RateLimit headers", async () => {
      const { api_key } = await keyWith(["orders_reader"], {
        ratelimits: [{ name: "metered", limit: 2, duration_ms: 60_000 }],
      });
      const headers = { "X-API-Key": api_key };
      for (const left of [1, 0]) {
        const res = await through("/metered/1", { headers });
        expect(res.status).toBe(200);
        expect(res.headers.get("ratelimit-policy")).toBe('"metered";q=2;w=60');
        expect(res.headers.get("ratelimit")).toMatch(new RegExp(`^"metered";r=${left};t=(59|60)$`));
      }
      const refused = await through("/metered/1", { headers });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(refused.headers.get("ratelimit")).toMatch(/^"metered";r=0;t=\d+$/);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toBe("Rate limit exceeded");
    });

    test("out of credits: 429 Usage limit exceeded; a key without limits gets no RateLimit headers", async () => {
      const { api_key } = await keyWith(["orders_reader"], { credits: { remaining: 3 } });
      const headers = { "X-API-Key": api_key };
      const allowed = await through("/metered/1", { headers });
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get("ratelimit")).toBeNull();
      const refused = await through("/metered/1", { headers });
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toBe("Usage limit exceeded");
    });

    // Last: it uses up the failure budget of the loopback client behind the proxy.
    test("too many bad keys: the client gets 429 with Retry-After (nginx too, never its 500)", async () => {
      let last: Response | undefined;
      for (let i = 0; i < 40; i++) {
        last = await through("/orders/1", { headers: { "X-API-Key": `sk_test_${String(i).padStart(64, "0")}` } });
        if (last.status === 429) break;
        expect(last.status).toBe(401);
      }
      expect(last?.status).toBe(429);
      expect(Number(last?.headers.get("retry-after"))).toBeGreaterThan(0);
      const body = (await last?.json()) as { error: { message: string } };
      expect(body.error.message).toBe("Too many failed authentication attempts");
      // A valid key from the same client still passes: only failures are limited.
      const key = await keyWith(["orders_reader"]);
      expect((await through("/orders/1", { headers: { "X-API-Key": key.api_key } })).status).toBe(200);
    });
  });
}
