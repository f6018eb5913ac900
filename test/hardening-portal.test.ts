// Issue 9, item 14: portal session tokens. Verification caps a token's lifetime at the
// configured TTL; a customer's sessions can be revoked ("sign out everywhere"); a generated
// signing key lives in a key file beside the store, never in the store in clear.
import { describe, expect, setSystemTime, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import { ulid } from "ulid";
import { createTollgate, type Tollgate } from "../src/app";
import { type Config, DEFAULT_CONFIG } from "../src/config";
import { openDatabase, SqliteStore } from "../src/db";
import { migrate } from "../src/db/sqlite/open";
import { createLogger } from "../src/http/logging";
import { PortalTokens } from "../src/modules/auth/portal-tokens";
import {
  type CallResult,
  callApp,
  createHarness,
  createTwoTenantHarness,
  DEFAULT_TENANT,
  errorOf,
  type Harness,
  OTHER_TENANT_KEY,
} from "./support/harness";
import { environmentOf } from "./support/keys";
import { tempDir } from "./support/temp";

const SIGNING_KEY = "hardening-portal-test-signing-key-0123456789abcdef";
const LEGACY_SETTING = "customer_portal.signing_key";
const HOUR = 3600;

interface Customer {
  id: string;
  external_id: string;
  environment_id: string;
}

async function createCustomer(h: Pick<Harness, "call">, externalId: string, key?: string): Promise<Customer> {
  const res = await h.call("POST", "/v1/customers", { key, body: { external_id: externalId } });
  expect(res.status).toBe(201);
  return res.body;
}

async function session(h: Pick<Harness, "call">, externalId = "acme"): Promise<string> {
  const res = await h.call("GET", `/v1/customers/portal/${externalId}`);
  expect(res.status).toBe(200);
  return res.body.token;
}

const info = (h: Pick<Harness, "call">, token: string) =>
  h.call("GET", "/v1/customer/portal/info", { key: null, headers: { "X-Session-Token": token } });

function expectInvalidSession(res: CallResult) {
  expect(res.status).toBe(401);
  expect(errorOf(res)).toMatchObject({
    message: "Invalid or expired session token",
    internal_error: "permission_denied",
  });
}

/** A token made as Tollgate makes them, with a key the test knows, so one claim can vary at a time. */
async function forge(
  key: string | Uint8Array,
  customer: Customer,
  claims: { iat?: number | null; exp?: number; jti?: string | null; tenantId?: string } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    tid: claims.tenantId ?? DEFAULT_TENANT,
    env: customer.environment_id,
    ext: customer.external_id,
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("tollgate")
    .setAudience("tollgate:customer-portal")
    .setSubject(customer.id)
    .setExpirationTime(claims.exp ?? now + HOUR);
  if (claims.iat !== null) jwt.setIssuedAt(claims.iat ?? now);
  if (claims.jti !== null) jwt.setJti(claims.jti ?? ulid());
  return jwt.sign(typeof key === "string" ? new TextEncoder().encode(key) : key);
}

describe("the lifetime cap", () => {
  const harness = async (ttl = HOUR) =>
    await createHarness({ customer_portal: { signing_key: SIGNING_KEY, session_ttl_seconds: ttl } });

  test("a correctly signed token living exactly the TTL is accepted (the forging is right)", async () => {
    const h = await harness();
    const acme = await createCustomer(h, "acme");
    const res = await info(h, await forge(SIGNING_KEY, acme));
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(acme.id);
  });

  test("a token with a 7-day exp under a 1-hour TTL: 401", async () => {
    const h = await harness();
    const acme = await createCustomer(h, "acme");
    const now = Math.floor(Date.now() / 1000);
    expectInvalidSession(await info(h, await forge(SIGNING_KEY, acme, { exp: now + 7 * 24 * HOUR })));
    expectInvalidSession(await info(h, await forge(SIGNING_KEY, acme, { exp: now + HOUR + 1 })));
  });

  test("issued longer ago than the TTL, though its exp is still ahead: 401", async () => {
    const h = await harness();
    const acme = await createCustomer(h, "acme");
    const now = Math.floor(Date.now() / 1000);
    expectInvalidSession(await info(h, await forge(SIGNING_KEY, acme, { iat: now - 2 * HOUR, exp: now + 60 })));
  });

  test("issued in the future: 401", async () => {
    const h = await harness();
    const acme = await createCustomer(h, "acme");
    const now = Math.floor(Date.now() / 1000);
    expectInvalidSession(await info(h, await forge(SIGNING_KEY, acme, { iat: now + 600, exp: now + 600 + 60 })));
  });

  test("without iat or without a session id (jti): 401", async () => {
    const h = await harness();
    const acme = await createCustomer(h, "acme");
    expectInvalidSession(await info(h, await forge(SIGNING_KEY, acme, { iat: null })));
    expectInvalidSession(await info(h, await forge(SIGNING_KEY, acme, { jti: null })));
  });

  test("a genuine token issued under a longer TTL is capped by the TTL configured now", async () => {
    const week = await harness(7 * 24 * HOUR);
    const hour = await harness(HOUR);
    const acme = await createCustomer(week, "acme");
    const token = await session(week);
    expect((await info(week, token)).status).toBe(200);
    // Same signing key, shorter TTL: refused as a session, before any customer lookup.
    expectInvalidSession(await info(hour, token));
    expect(acme.id).toBeTruthy();
  });
});

describe("DELETE /v1/customers/{id}/portal-sessions", () => {
  const revoke = (h: Harness, id: string, options: { key?: string | null; headers?: Record<string, string> } = {}) =>
    h.call("DELETE", `/v1/customers/${id}/portal-sessions`, options);

  test("204; every token issued before fails, new ones work; other customers are untouched", async () => {
    const h = await createHarness();
    const acme = await createCustomer(h, "acme");
    const globex = await createCustomer(h, "globex");
    const early = await session(h);
    const globexToken = await session(h, "globex");
    const revoked = await revoke(h, acme.id);
    expect(revoked.status).toBe(204);
    expect(revoked.text).toBe("");
    expectInvalidSession(await info(h, early));
    expectInvalidSession(
      await h.call("GET", "/v1/customer/portal/usage", { key: null, headers: { "X-Session-Token": early } }),
    );
    expect((await info(h, globexToken)).body.id).toBe(globex.id);
    const fresh = await session(h);
    expect((await info(h, fresh)).body.id).toBe(acme.id);
    // Revoking again ends that one too.
    expect((await revoke(h, acme.id)).status).toBe(204);
    expectInvalidSession(await info(h, fresh));
    expect((await info(h, await session(h))).status).toBe(200);
  });

  test("within one millisecond: a token issued before the revocation fails, one issued after it works", async () => {
    const h = await createHarness();
    const acme = await createCustomer(h, "acme");
    // The clock stands still: the tokens and the revocation share their second and millisecond.
    setSystemTime(new Date());
    try {
      const before = await session(h);
      expect((await revoke(h, acme.id)).status).toBe(204);
      const after = await session(h);
      const iat = (token: string) =>
        JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString("utf8")).iat;
      expect(iat(before)).toBe(iat(after));
      expectInvalidSession(await info(h, before));
      expect((await info(h, after)).body.id).toBe(acme.id);
    } finally {
      setSystemTime();
    }
  });

  test("audited like other customer changes: one customer.portal_sessions_revoked row, no token in it", async () => {
    const h = await createHarness();
    const acme = await createCustomer(h, "acme");
    const token = await session(h);
    expect((await revoke(h, acme.id)).status).toBe(204);
    const rows = (await h.context.db.all(
      "SELECT action, resource_type, changes FROM audit_logs WHERE resource_id = ? ORDER BY created_at, id",
      acme.id,
    )) as { action: string; resource_type: string; changes: string }[];
    expect(rows.map((r) => r.action)).toEqual([
      "customer.created",
      "customer.portal_session_created",
      "customer.portal_sessions_revoked",
    ]);
    const last = rows[2] as { resource_type: string; changes: string };
    expect(last.resource_type).toBe("customer");
    expect(JSON.parse(last.changes).after.sessions_revoked_at).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z$/);
    expect(last.changes).not.toContain(token);
  });

  test("another tenant's or environment's customer: 404, and its sessions keep working", async () => {
    const h = await createTwoTenantHarness();
    const acme = await createCustomer(h, "acme");
    const token = await session(h);
    for (const res of [
      await revoke(h, acme.id, { key: OTHER_TENANT_KEY }),
      await revoke(h, acme.id, { headers: { "X-Environment-ID": (await environmentOf(h, "production")).id } }),
    ]) {
      expect(res.status).toBe(404);
      expect(errorOf(res).internal_error).toBe("not_found");
    }
    expect((await info(h, token)).status).toBe(200);
  });

  test("unknown or deleted customer: 404", async () => {
    const h = await createHarness();
    expect((await revoke(h, "cust_01ARZ3NDEKTSV4RRFFQ69G5FAV")).status).toBe(404);
    const acme = await createCustomer(h, "acme");
    expect((await h.call("DELETE", `/v1/customers/${acme.id}`)).status).toBe(204);
    expect((await revoke(h, acme.id)).status).toBe(404);
  });

  test("needs customer:write: no key 401; a reader, an ingestor and a publishable key 403", async () => {
    const h = await createHarness();
    const acme = await createCustomer(h, "acme");
    const token = await session(h);
    expect((await revoke(h, acme.id, { key: null })).status).toBe(401);
    const pk = await h.call("POST", "/v1/secrets/api/keys", { body: { name: "pk", type: "publishable_key" } });
    for (const roles of [["event_reader"], ["event_ingestor"]]) {
      const account = await h.call("POST", "/v1/users", { body: { type: "service_account", name: "svc", roles } });
      const key = await h.call("POST", "/v1/secrets/api/keys", {
        body: { name: "svc", service_account_id: account.body.id },
      });
      expect((await revoke(h, acme.id, { key: key.body.api_key })).status).toBe(403);
    }
    expect((await revoke(h, acme.id, { key: pk.body.api_key })).status).toBe(403);
    expect((await info(h, token)).status).toBe(200);
  });

  test("a revocation outlives a restart of the server", async () => {
    const dir = tempDir("portal-revoke-");
    const config = fileConfig(join(dir, "tollgate.db"));
    let tollgate = await start(config);
    const acme = await createCustomer(client(tollgate), "acme");
    const token = await session(client(tollgate));
    expect((await client(tollgate).call("DELETE", `/v1/customers/${acme.id}/portal-sessions`)).status).toBe(204);
    await tollgate.close();
    tollgate = await start(config);
    try {
      expectInvalidSession(await info(client(tollgate), token));
      expect((await info(client(tollgate), await session(client(tollgate)))).status).toBe(200);
    } finally {
      await tollgate.close();
    }
  });
});

function fileConfig(path: string): Config {
  const config = structuredClone(DEFAULT_CONFIG);
  config.database.path = path;
  return config;
}

async function start(config: Config): Promise<Tollgate> {
  return await createTollgate({ config, logger: createLogger("silent") });
}

function client(tollgate: Tollgate): Pick<Harness, "call"> {
  return { call: (method, path, options) => callApp(tollgate.app, method, path, options) };
}

/** Every byte of the store: the database, its WAL and its shared-memory index. */
function storeBytes(path: string): Buffer {
  const parts = ["", "-wal", "-shm", "-journal"].flatMap((suffix) => {
    try {
      return [readFileSync(path + suffix)];
    } catch {
      return [];
    }
  });
  return Buffer.concat(parts);
}

/** The key in every encoding someone might store it in. */
function encodings(key: Buffer): string[] {
  return [key.toString("hex"), key.toString("base64"), key.toString("base64url"), key.toString("latin1")];
}

describe("the generated signing key", () => {
  test("with no signing_key and a file store: a 0600 key file of 32 random bytes beside it, nothing in the store", async () => {
    const dir = tempDir("portal-key-");
    const path = join(dir, "tollgate.db");
    const config = fileConfig(path);
    let tollgate = await start(config);
    await createCustomer(client(tollgate), "acme");
    const token = await session(client(tollgate));
    expect((await info(client(tollgate), token)).status).toBe(200);
    const stored = (await tollgate.context.db.get("SELECT count(*) AS n FROM settings")) as { n: number };
    expect(stored.n).toBe(0);
    await tollgate.close();

    const keyFile = `${path}.portal-key`;
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile);
    expect(key.length).toBe(32);
    const bytes = storeBytes(path);
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.includes(key)).toBe(false);
    for (const form of encodings(key)) expect(bytes.includes(Buffer.from(form))).toBe(false);

    // The key outlives a restart, and so do the tokens signed with it.
    tollgate = await start(config);
    try {
      expect((await info(client(tollgate), token)).status).toBe(200);
      expect(readFileSync(keyFile).equals(key)).toBe(true);
    } finally {
      await tollgate.close();
    }
  });

  test("a store that holds the old generated key in clear: moved to the key file, gone from the store, tokens keep working", async () => {
    const dir = tempDir("portal-legacy-");
    const path = join(dir, "tollgate.db");
    const legacy = "hW1Qm0e3f0m8mJfX4bq2c7uCk8yq0Zr7gV9nT2sL5aQ";
    const db = openDatabase(path);
    migrate(db);
    db.prepare("INSERT INTO settings (key, value, created_at) VALUES (?, ?, ?)").run(
      LEGACY_SETTING,
      legacy,
      new Date().toISOString(),
    );
    db.close();
    expect(storeBytes(path).includes(Buffer.from(legacy))).toBe(true);

    const tollgate = await start(fileConfig(path));
    let key: Buffer;
    try {
      const acme = await createCustomer(client(tollgate), "acme");
      // A token signed with the old key (as the old version signed them) still opens the portal.
      const old = await forge(legacy, acme);
      expect((await info(client(tollgate), old)).status).toBe(200);
      const left = (await tollgate.context.db.get("SELECT count(*) AS n FROM settings")) as { n: number };
      expect(left.n).toBe(0);
      key = readFileSync(`${path}.portal-key`);
      expect(statSync(`${path}.portal-key`).mode & 0o777).toBe(0o600);
      expect(key.toString("utf8")).toBe(legacy);
    } finally {
      await tollgate.close();
    }
    expect(storeBytes(path).includes(Buffer.from(legacy))).toBe(false);
  });

  test("a damaged key file is refused with a message naming it", async () => {
    const dir = tempDir("portal-bad-key-");
    const path = join(dir, "tollgate.db");
    writeFileSync(`${path}.portal-key`, "short", { mode: 0o600 });
    const db = openDatabase(path);
    try {
      migrate(db);
      await expect(PortalTokens.open(new SqliteStore(db), "", HOUR)).rejects.toThrow(`${path}.portal-key`);
    } finally {
      db.close();
    }
  });

  test("an in-memory store: a key of its own, never written to the store", async () => {
    const h = await createHarness();
    const other = await createHarness();
    await createCustomer(h, "acme");
    await createCustomer(other, "acme");
    const token = await session(h);
    expect((await info(h, token)).status).toBe(200);
    expectInvalidSession(await info(other, token));
    const stored = (await h.context.db.get("SELECT count(*) AS n FROM settings")) as { n: number };
    expect(stored.n).toBe(0);
  });

  test("a configured signing_key is used, and the store keeps no generated one", async () => {
    const h = await createHarness({ customer_portal: { signing_key: SIGNING_KEY } });
    const acme = await createCustomer(h, "acme");
    expect((await info(h, await forge(SIGNING_KEY, acme))).status).toBe(200);
    const stored = (await h.context.db.get("SELECT count(*) AS n FROM settings")) as { n: number };
    expect(stored.n).toBe(0);
  });
});
