// SPEC §13: GET /v1/auth/forward, judged in-process (test/proxies.test.ts runs real Caddy and
// nginx in front of it). The proxy's address is injected as the peer; the forwarded request is
// described by the X-Forwarded-* (or X-Original-*) headers a proxy sends.
import { describe, expect, test } from "bun:test";
import { createTollgate } from "../src/app";
import { type Config, DEFAULT_CONFIG } from "../src/config";
import { MEMORY_DATABASE, openDatabase, SqliteStore } from "../src/db";
import { createLogger } from "../src/http/logging";
import { callApp, DEV_KEY, errorOf } from "./support/harness";

const PEER = "x-test-peer";
const PROXY = "127.0.0.1";

const RULES: Config["forward_auth"]["rules"] = [
  { path: "/public", public: true },
  { path: "/orders/**", methods: ["GET", "HEAD"], permission: "orders:read" },
  { path: "/orders", permission: "orders:write" },
  { host: "admin.example.com", path: "/", permission: "admin:access" },
  { path: "/reports/*/summary", permission: "reports:read" },
];

async function forwardHarness(rules = RULES) {
  const config = structuredClone(DEFAULT_CONFIG);
  config.forward_auth.rules = rules;
  config.rbac.roles = {
    orders_reader: { name: "Orders Reader", description: "", permissions: { orders: ["read"], reports: ["read"] } },
  };
  const tollgate = await createTollgate({
    config,
    store: new SqliteStore(openDatabase(MEMORY_DATABASE)),
    logger: createLogger("silent"),
    clientAddress: (request) => request.headers.get(PEER),
  });
  const call = (method: string, path: string, options: Parameters<typeof callApp>[3] = {}) =>
    callApp(tollgate.app, method, path, options);
  /** Asks about a forwarded request, as a proxy at `peer` would. */
  const ask = (
    uri: string,
    options: { key?: string | null; method?: string; headers?: Record<string, string>; peer?: string } = {},
  ) =>
    call("GET", "/v1/auth/forward", {
      key: options.key === undefined ? null : options.key,
      headers: {
        [PEER]: options.peer ?? PROXY,
        "x-forwarded-method": options.method ?? "GET",
        "x-forwarded-uri": uri,
        "x-forwarded-host": "api.example.com",
        ...options.headers,
      },
    });
  return { ...tollgate, call, ask };
}

async function readerKey(h: Awaited<ReturnType<typeof forwardHarness>>) {
  const account = await h.call("POST", "/v1/users", {
    body: { type: "service_account", name: "orders", roles: ["orders_reader"] },
  });
  const key = await h.call("POST", "/v1/secrets/api/keys", {
    body: { name: "k", service_account_id: account.body.id },
  });
  expect(key.status).toBe(201);
  return { key: key.body.api_key as string, keyId: key.body.id as string, accountId: account.body.id as string };
}

const IDENTITY = [
  "x-tollgate-account-id",
  "x-tollgate-account-type",
  "x-tollgate-key-id",
  "x-tollgate-tenant-id",
  "x-tollgate-environment-id",
  "x-tollgate-roles",
];

describe("forward-auth: the rules decide, deny by default", () => {
  test("allowed: 200, empty body, the caller's identity in every X-Tollgate-* header", async () => {
    const h = await forwardHarness();
    const reader = await readerKey(h);
    const res = await h.ask("/orders/42?expand=lines", { key: reader.key });
    expect(res.status).toBe(200);
    expect(res.text).toBe("");
    expect(Object.fromEntries(IDENTITY.map((name) => [name, res.headers.get(name)]))).toEqual({
      "x-tollgate-account-id": reader.accountId,
      "x-tollgate-account-type": "service_account",
      "x-tollgate-key-id": reader.keyId,
      "x-tollgate-tenant-id": "00000000-0000-0000-0000-000000000000",
      "x-tollgate-environment-id": expect.stringMatching(/^env_/),
      "x-tollgate-roles": "orders_reader",
    });
  });

  test("no key on a guarded rule: 401 with WWW-Authenticate and the envelope; its code and message also as headers", async () => {
    const h = await forwardHarness();
    const res = await h.ask("/orders/42");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="tollgate"');
    expect(res.headers.get("x-tollgate-code")).toBe("permission_denied");
    expect(res.headers.get("x-tollgate-message")).toBe("API key required");
    expect(errorOf(res)).toEqual({ message: "API key required", internal_error: "permission_denied" });
    for (const name of IDENTITY) expect(res.headers.get(name)).toBeNull();
  });

  test("a key without the rule's permission: 403; the first matching rule decides (methods, host, glob)", async () => {
    const h = await forwardHarness();
    const { key } = await readerKey(h);
    // POST /orders/42 is not rule 2 (GET, HEAD) but rule 3 (orders:write).
    const write = await h.ask("/orders/42", { key, method: "POST" });
    expect(write.status).toBe(403);
    expect(errorOf(write)).toEqual({
      message: "Insufficient permissions",
      internal_error: "permission_denied",
      details: { required: "orders:write", roles: ["orders_reader"] },
    });
    expect((await h.ask("/anything", { key, headers: { "x-forwarded-host": "admin.example.com" } })).status).toBe(403);
    expect((await h.ask("/reports/2026/summary", { key })).status).toBe(200);
    expect((await h.ask("/reports/2026/11/summary", { key })).status).toBe(403);
  });

  test("no rule matches: 403 'No forward-auth rule allows this request', even with a super key", async () => {
    const h = await forwardHarness();
    const res = await h.ask("/elsewhere", { key: DEV_KEY });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toBe("No forward-auth rule allows this request");
    // A prefix ends at a segment: /publicity is not /public.
    expect((await h.ask("/publicity")).status).toBe(403);
    await expect((await forwardHarness([])).ask("/public").then((r) => r.status)).resolves.toBe(403);
  });

  test("a public rule passes with no key; every identity header is present and empty", async () => {
    const h = await forwardHarness();
    const res = await h.ask("/public/docs");
    expect(res.status).toBe(200);
    for (const name of IDENTITY) expect(res.headers.get(name)).toBe("");
  });

  test("the key may come as Authorization: Bearer; a revoked one fails on the very next request", async () => {
    const h = await forwardHarness();
    const reader = await readerKey(h);
    const bearer = { authorization: `Bearer ${reader.key}` };
    expect((await h.ask("/orders/1", { headers: bearer })).status).toBe(200);
    expect((await h.call("DELETE", `/v1/secrets/api/keys/${reader.keyId}`)).status).toBe(204);
    const after = await h.ask("/orders/1", { headers: bearer });
    expect(after.status).toBe(401);
    expect(after.body.error.message).toBe("Invalid API key");
  });

  test("nginx's X-Original-URI / -Method / -Host are read alike; without a method header, the request's own", async () => {
    const h = await forwardHarness();
    const { key } = await readerKey(h);
    const nginx = (method: string, uri: string) =>
      h.call(method, "/v1/auth/forward", {
        key,
        headers: { [PEER]: PROXY, "x-original-uri": uri, "x-original-host": "api.example.com" },
      });
    expect((await nginx("GET", "/orders/1")).status).toBe(200);
    expect((await nginx("DELETE", "/orders/1")).status).toBe(403);
  });
});

describe("forward-auth: what the upstream will serve is what is judged", () => {
  const guarded = [
    "/public/../orders/1",
    "/public/%2e%2e/orders/1",
    "/%6frders/1",
    "//orders/1",
    "/./orders/1",
    "/orders;x=1/1",
  ];
  for (const uri of guarded) {
    test(`${uri} is judged as /orders/1 (needs a key)`, async () => {
      const h = await forwardHarness();
      expect((await h.ask(uri)).status).toBe(401);
    });
  }

  for (const uri of [
    "/public%2F..%2Forders/1",
    "/public/..%5Corders",
    "/public\\..\\orders",
    "/public/%00",
    "orders/1",
    "/bad%zz",
  ]) {
    test(`${JSON.stringify(uri)} cannot be judged: 403`, async () => {
      const h = await forwardHarness();
      const res = await h.ask(uri);
      expect(res.status).toBe(403);
      expect(res.body.error.message).toStartWith("The forwarded request cannot be judged");
    });
  }

  test("no X-Forwarded-Uri nor X-Original-URI: 403, not a guess", async () => {
    const h = await forwardHarness();
    const res = await h.call("GET", "/v1/auth/forward", { key: DEV_KEY, headers: { [PEER]: PROXY } });
    expect(res.status).toBe(403);
  });
});

describe("forward-auth: who may ask", () => {
  test("a peer outside forward_auth.trusted_proxies is refused whatever it forwards", async () => {
    const h = await forwardHarness();
    for (const peer of ["10.1.2.3", "192.168.0.1"]) {
      const res = await h.ask("/public", { peer });
      expect(res.status).toBe(403);
      expect(res.body.error.message).toBe(
        "Forward-auth answers only the proxies listed in forward_auth.trusted_proxies",
      );
    }
    expect((await h.ask("/public", { peer: "::1" })).status).toBe(200);
    expect((await h.ask("/public", { peer: "::ffff:127.0.0.1" })).status).toBe(200);
  });

  test("a Host the server does not serve is still answered: the proxy passes the original one on", async () => {
    const h = await forwardHarness();
    const res = await h.ask("/public", { headers: { host: "api.example.com" } });
    expect(res.status).toBe(200);
  });
});

describe("forward-auth: failed keys are counted per client behind the proxy, and nginx never sees a 429", () => {
  test("31 bad keys from one X-Forwarded-For: 429 with Retry-After; another client behind the same proxy is not limited", async () => {
    const h = await forwardHarness();
    const from = (client: string, key: string, query = "") =>
      h.call("GET", `/v1/auth/forward${query}`, {
        key,
        headers: { [PEER]: PROXY, "x-forwarded-uri": "/orders/1", "x-forwarded-for": `203.0.113.9, ${client}` },
      });
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++)
      statuses.push((await from("198.51.100.7", `sk_test_${"0".repeat(63)}${i % 10}`)).status);
    expect(statuses.slice(0, 30)).toEqual(Array(30).fill(401));
    const limited = await from("198.51.100.7", "bad key");
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await from("198.51.100.8", "bad key")).status).toBe(401);
    // nginx mode: the same refusal as a 403 carrying the real status, for nginx to turn back.
    const nginx = await from("198.51.100.7", "bad key", "?mode=nginx");
    expect(nginx.status).toBe(403);
    expect(nginx.headers.get("x-tollgate-status")).toBe("429");
    expect(Number(nginx.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(nginx.body.error.message).toBe("Too many failed authentication attempts");
    // 401 and 403 stay what they are in nginx mode (nginx passes both on).
    expect((await from("198.51.100.9", "bad key", "?mode=nginx")).status).toBe(401);
  });
});
