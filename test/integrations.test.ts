// Integration secrets (SPEC §12, issue 12 part A): sealed at rest with AES-256-GCM under a
// master key from config, masked on every read, one per provider per environment.
import { describe, expect, test } from "bun:test";
import Database from "better-sqlite3";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SecretBox, parseEncryptionKey } from "../src/modules/integrations/cipher";
import { rotateMasterKey } from "../src/modules/integrations/rotate";
import { maskCredential } from "../src/modules/integrations/service";
import {
  DEFAULT_TENANT,
  OTHER_TENANT_KEY,
  createHarness,
  DEV_KEY,
  createTwoTenantHarness,
  errorOf,
  type Harness,
} from "./support/harness";
import { environmentOf, issueTestKey } from "./support/keys";
import { SOURCE_CLI, runToEnd, startServer, storeEnv, withStoreOf } from "./support/process";
import { onSqlite } from "./support/test-store";
import { tempDir } from "./support/temp";

const KEY = "5f".repeat(32);
const OTHER_KEY = "a1".repeat(32);
const BASE = "/v1/secrets/integrations";
const STRIPE = {
  secret_key: "sk_live_51HxTollgateSecretValue00001d3f",
  publishable_key: "pk_live_51HxTollgatePublishable0002a9b",
  webhook_secret: "whsec_TollgateWebhookSigning0003c8e1",
};
const SECRET_VALUES = Object.values(STRIPE);

async function keyed(): Promise<Harness> {
  return await createHarness({ secrets: { encryption_key: KEY } });
}

function save(h: Harness, provider = "stripe", credentials: Record<string, string> = STRIPE, key?: string) {
  return h.call("POST", `${BASE}/create/${provider}`, { body: { name: `${provider} account`, credentials }, key });
}

/** A keyed harness holding a stripe and a razorpay secret. */
async function withTwoSecrets(): Promise<Harness> {
  const h = await keyed();
  await save(h, "stripe");
  await save(h, "razorpay", { key_id: "rzp_live_TollgateRazorpayKey77" });
  return h;
}

/** Moves a valid ciphertext into another row, as someone with write access to the file could. */
async function copyStripeCiphertextToRazorpay(db: Harness["context"]["db"]) {
  await db.run(
    "UPDATE integration_secrets SET credentials = (SELECT credentials FROM integration_secrets WHERE provider = 'stripe') WHERE provider = 'razorpay'",
  );
}

function expectNoClearValue(text: string, values = SECRET_VALUES) {
  for (const value of values) expect(text.includes(value)).toBe(false);
}

describe("integration secrets through the API", () => {
  test("create, read masked, list linked, replace (audited as an update), delete", async () => {
    const h = await keyed();
    const created = await save(h);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "stripe account",
      type: "integration",
      provider: "stripe",
      status: "published",
      display_id: null,
      roles: [],
      user_type: "user",
      expires_at: null,
      last_used_at: null,
      credentials: {
        secret_key: "sk_live_…1d3f",
        publishable_key: "pk_live_…2a9b",
        webhook_secret: "whsec_…c8e1",
      },
    });
    const id = created.body.id as string;
    expect(id).toStartWith("sec_");

    const read = await h.call("GET", `${BASE}/by-provider/stripe`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expect((await h.call("GET", `${BASE}/linked`)).body).toEqual({ providers: ["stripe"] });

    // Server-side, the webhook signing secret is held whole, for the webhook routes.
    const env = await environmentOf(h, "development");
    const scope = { tenantId: DEFAULT_TENANT, environmentId: env.id };
    const signing = (provider: "stripe" | "razorpay") => h.context.signingSecrets.lookup(scope, provider);
    expect(signing("stripe")).toEqual({ value: STRIPE.webhook_secret, found: true });
    // Absent: a random stand-in, never empty (a signature made with "" must not verify).
    expect(signing("razorpay")).toMatchObject({ found: false, value: expect.stringMatching(/^whsec_.{30,}$/) });

    const replacement = { secret_key: "sk_live_51HxReplacedSecretValue9999beef" };
    const replaced = await h.call("POST", `${BASE}/create/stripe`, {
      body: { name: "renamed", credentials: replacement, provider: "stripe" },
    });
    expect(replaced.status).toBe(201);
    expect(replaced.body).toMatchObject({ id, name: "renamed", credentials: { secret_key: "sk_live_…beef" } });
    // The replacement has no webhook_secret: deliveries are no longer let in.
    expect(signing("stripe").found).toBe(false);

    await save(h, "razorpay", { key_id: "rzp_live_TollgateRazorpayKey77" });
    expect((await h.call("GET", `${BASE}/linked`)).body).toEqual({ providers: ["razorpay", "stripe"] });

    const deleted = await h.call("DELETE", `${BASE}/${id}`);
    expect(deleted.status).toBe(204);
    expect((await h.call("GET", `${BASE}/by-provider/stripe`)).status).toBe(404);
    expect((await h.call("DELETE", `${BASE}/${id}`)).status).toBe(404);
    expect((await h.call("GET", `${BASE}/linked`)).body).toEqual({ providers: ["razorpay"] });

    const audit = (await h.context.db.all(
      "SELECT action, resource_id, changes FROM audit_logs WHERE resource_type = 'integration' ORDER BY created_at, id",
    )) as { action: string; resource_id: string; changes: string }[];
    expect(audit.map((row) => row.action)).toEqual([
      "integration.create",
      "integration.update",
      "integration.create",
      "integration.delete",
    ]);
    expect(JSON.parse(audit[1]!.changes)).toEqual({
      before: {
        id,
        name: "stripe account",
        provider: "stripe",
        credential_names: ["publishable_key", "secret_key", "webhook_secret"],
      },
      after: { id, name: "renamed", provider: "stripe", credential_names: ["secret_key"] },
    });
    const auditText = JSON.stringify(await h.context.db.all("SELECT * FROM audit_logs"));
    expectNoClearValue(auditText, [...SECRET_VALUES, replacement.secret_key, "rzp_live_TollgateRazorpayKey77"]);
    expectNoClearValue(JSON.stringify(h.logs), [...SECRET_VALUES, replacement.secret_key]);
    await h.close();
  });

  test("credential names outside the rule, and oversized values, are refused and nothing is stored", async () => {
    const h = await keyed();
    for (const [credentials, field] of [
      [{ "bad name!": "value-long-enough-0001" }, "credentials"],
      [{ ["n".repeat(65)]: "value-long-enough-0001" }, "credentials"],
      [{ secret_key: "v".repeat(8193) }, "credentials.secret_key"],
    ] as const) {
      const res = await save(h, "stripe", credentials);
      expect(res.status).toBe(400);
      expect(errorOf(res).internal_error).toBe("validation_error");
      expect(Object.keys(errorOf(res).details)).toEqual([field]);
    }
    expect(await h.context.db.get("SELECT count(*) AS n FROM integration_secrets")).toEqual({ n: 0 });
  });

  test("refusals: unknown provider, body provider differing from the path, empty credentials", async () => {
    const h = await keyed();
    const unknown = await save(h, "paypal");
    expect(unknown.status).toBe(400);
    expect(errorOf(unknown).message).toContain("provider must be one of flexprice, stripe");
    expect((await h.call("GET", `${BASE}/by-provider/paypal`)).status).toBe(400);
    const mismatch = await h.call("POST", `${BASE}/create/stripe`, {
      body: { name: "x", credentials: STRIPE, provider: "razorpay" },
    });
    expect(mismatch.status).toBe(400);
    expect((await save(h, "stripe", {})).status).toBe(400);
    expect((await h.call("GET", `${BASE}/by-provider/stripe`)).status).toBe(404);
    await h.close();
  });

  test("masking keeps a short type prefix and the last 4 characters, nothing of a short value", () => {
    expect(maskCredential("sk_live_51HxTollgateSecretValue00001d3f")).toBe("sk_live_…1d3f");
    expect(maskCredential("abcdefghijklmnop")).toBe("…mnop");
    expect(maskCredential("short")).toBe("…");
    expect(maskCredential("sk_abcdefgh")).toBe("…");
  });

  test("without a master key: every route answers 400 naming the setting", async () => {
    const h = await createHarness();
    for (const [method, path, body] of [
      ["POST", `${BASE}/create/stripe`, { name: "x", credentials: STRIPE }],
      ["GET", `${BASE}/by-provider/stripe`, undefined],
      ["GET", `${BASE}/linked`, undefined],
      ["DELETE", `${BASE}/sec_1`, undefined],
    ] as const) {
      const res = await h.call(method, path, { body });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(errorOf(res).message).toContain("secrets.encryption_key (TOLLGATE_SECRETS_ENCRYPTION_KEY)");
    }
    await h.close();
  });

  test("an event_reader key gets 403; another tenant's secret is 404 to it", async () => {
    const h = await createTwoTenantHarness({ secrets: { encryption_key: KEY } });
    const reader = (await issueTestKey(h, { roles: ["event_reader"] })).apiKey;
    expect((await h.call("GET", `${BASE}/linked`, { key: reader })).status).toBe(403);
    expect((await save(h, "stripe", STRIPE, reader)).status).toBe(403);

    const created = await save(h);
    expect(created.status).toBe(201);
    const other = { key: OTHER_TENANT_KEY };
    expect((await h.call("GET", `${BASE}/by-provider/stripe`, other)).status).toBe(404);
    expect((await h.call("GET", `${BASE}/linked`, other)).body).toEqual({ providers: [] });
    expect((await h.call("DELETE", `${BASE}/${created.body.id}`, other)).status).toBe(404);
    expect((await h.call("GET", `${BASE}/by-provider/stripe`)).status).toBe(200);
    await h.close();
  });
});

describe("encryption at rest", () => {
  test("a ciphertext copied into another row does not decrypt: logged, 500 without the value", async () => {
    const h = await withTwoSecrets();
    const db = h.context.db;
    await copyStripeCiphertextToRazorpay(db);
    const res = await h.call("GET", `${BASE}/by-provider/razorpay`);
    expect(res.status).toBe(500);
    expect(errorOf(res).message).toBe("Integration secret could not be decrypted; see the server log");
    expectNoClearValue(res.text);
    const logged = h.logs.find((line) => line.msg === "integration secret does not decrypt");
    expect(logged).toMatchObject({ reason: "Sealed value does not authenticate for this row" });
    expectNoClearValue(JSON.stringify(h.logs));
    // The untouched row still opens.
    expect((await h.call("GET", `${BASE}/by-provider/stripe`)).status).toBe(200);
    await h.close();
  });

  test("the cipher: random nonce per value, bound to id, tenant and environment, key id prefix", () => {
    const box = new SecretBox(parseEncryptionKey(KEY) as Buffer);
    const to = { secretId: "sec_1", tenantId: "t", environmentId: "e" };
    const a = box.seal("value", to);
    const b = box.seal("value", to);
    expect(a).not.toBe(b);
    expect(a.split(".")[0]).toBe("v1");
    expect(a.split(".")[1]).toBe(box.keyId);
    expect(box.open(a, to)).toBe("value");
    for (const other of [
      { ...to, secretId: "sec_2" },
      { ...to, tenantId: "u" },
      { ...to, environmentId: "f" },
    ]) {
      expect(() => box.open(a, other)).toThrow("does not authenticate");
    }
    const other = new SecretBox(parseEncryptionKey(OTHER_KEY) as Buffer);
    expect(() => other.open(a, to)).toThrow("another master key");
    const base64 = Buffer.from(KEY, "hex").toString("base64");
    expect(new SecretBox(parseEncryptionKey(base64) as Buffer).open(a, to)).toBe("value");
    expect(parseEncryptionKey("5f".repeat(31))).toBeNull();
    expect(parseEncryptionKey(Buffer.alloc(31).toString("base64"))).toBeNull();
  });
});

describe("a real process", () => {
  test("the database file holds no credential in clear; a wrong or malformed master key stops the start", async () => {
    const dir = tempDir("integrations-");
    const server = await startServer({ dir, env: { TOLLGATE_SECRETS_ENCRYPTION_KEY: KEY } });
    const headers = { "x-api-key": DEV_KEY };
    const res = await fetch(`${server.baseUrl}${BASE}/create/stripe`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ name: "stripe", credentials: STRIPE }),
    });
    expect(res.status).toBe(201);
    expectNoClearValue(await res.text());
    expect(await server.stop("SIGTERM")).toBe(0);
    expectNoClearValue(server.lines.join("\n"));
    if (onSqlite) {
      // Checkpoint the WAL into the file, then scan the file's raw bytes.
      const store = new Database(join(dir, "tollgate.db"));
      store.pragma("wal_checkpoint(TRUNCATE)");
      store.close();
      const fileText = readFileSync(join(dir, "tollgate.db")).toString("latin1");
      expectNoClearValue(fileText);
      expect(fileText).toContain("v1.");
    } else {
      // PostgreSQL's files are the server's: what it stores is what a dump would show.
      const stored = await withStoreOf(dir, (store) => store.all("SELECT * FROM integration_secrets"));
      expectNoClearValue(JSON.stringify(stored));
      expect(JSON.stringify(stored)).toContain("v1.");
    }

    const wrong = await runToEnd([...SOURCE_CLI, "serve"], {
      cwd: dir,
      env: {
        ...process.env,
        TOLLGATE_SERVER_PORT: "0",
        ...(await storeEnv(dir)),
        TOLLGATE_SECRETS_ENCRYPTION_KEY: OTHER_KEY,
      },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(
      "secrets.encryption_key (TOLLGATE_SECRETS_ENCRYPTION_KEY) is not the key the integration secrets in this database were encrypted with",
    );

    const malformed = await runToEnd([...SOURCE_CLI, "serve"], {
      cwd: dir,
      env: {
        ...process.env,
        ...(await storeEnv(dir)),
        TOLLGATE_SECRETS_ENCRYPTION_KEY: "nope",
      },
    });
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain(
      "Invalid config: secrets.encryption_key (TOLLGATE_SECRETS_ENCRYPTION_KEY) must be 32 bytes",
    );
    expect(malformed.stderr).not.toContain("nope");

    // The right key still starts and reads the secret.
    const again = await startServer({ dir, env: { TOLLGATE_SECRETS_ENCRYPTION_KEY: KEY } });
    const read = await fetch(`${again.baseUrl}${BASE}/by-provider/stripe`, { headers });
    expect(((await read.json()) as { credentials: Record<string, string> }).credentials.secret_key).toBe(
      "sk_live_…1d3f",
    );
    expect(await again.stop("SIGTERM")).toBe(0);
  }, 30_000);

  test("tollgate secrets generate-key prints a new 32-byte key that the server accepts", async () => {
    const first = await runToEnd([...SOURCE_CLI, "secrets", "generate-key"]);
    const second = await runToEnd([...SOURCE_CLI, "secrets", "generate-key"]);
    expect(first.code).toBe(0);
    const key = first.stdout.trim();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(second.stdout.trim()).not.toBe(key);
    expect(parseEncryptionKey(key)).not.toBeNull();
  }, 20_000);
});

describe("rotating the master key", () => {
  test("one transaction: a row that does not open leaves every row as it was", async () => {
    const h = await withTwoSecrets();
    const db = h.context.db;
    const before = await db.all("SELECT id, credentials FROM integration_secrets ORDER BY id");
    const from = new SecretBox(parseEncryptionKey(KEY) as Buffer);
    const to = new SecretBox(parseEncryptionKey(OTHER_KEY) as Buffer);
    await copyStripeCiphertextToRazorpay(db);
    const tampered = await db.all("SELECT id, credentials FROM integration_secrets ORDER BY id");
    await expect(rotateMasterKey(db, from, to)).rejects.toThrow("does not open under the old key");
    expect(await db.all("SELECT id, credentials FROM integration_secrets ORDER BY id")).toEqual(tampered);
    expect(tampered).not.toEqual(before);
    await h.close();
  });

  test("tollgate secrets rotate-key --from-env OLD: refused beside a running server, then re-encrypts every row", async () => {
    const dir = tempDir("rotate-");
    const server = await startServer({ dir, env: { TOLLGATE_SECRETS_ENCRYPTION_KEY: KEY } });
    for (const [provider, credentials] of [
      ["stripe", STRIPE],
      ["razorpay", { key_id: "rzp_live_TollgateRazorpayKey77" }],
    ] as const) {
      const res = await fetch(`${server.baseUrl}${BASE}/create/${provider}`, {
        method: "POST",
        headers: { "x-api-key": DEV_KEY, "content-type": "application/json" },
        body: JSON.stringify({ name: provider, credentials }),
      });
      expect(res.status).toBe(201);
    }
    const env = {
      ...process.env,
      ...(await storeEnv(dir)),
      TOLLGATE_SECRETS_ENCRYPTION_KEY: OTHER_KEY,
      OLD_TOLLGATE_KEY: KEY,
    };
    const rotate = () => runToEnd([...SOURCE_CLI, "secrets", "rotate-key", "--from-env", "OLD_TOLLGATE_KEY"], { env });
    // The SQLite file's lock tells the CLI a server holds it; on PostgreSQL, the server's connections.
    const busy = await rotate();
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain(
      onSqlite
        ? "A server is running on"
        : `Tollgate is running on this database (tollgate-${server.proc.pid}, tollgate-listen-${server.proc.pid} in pg_stat_activity): stop every instance first`,
    );
    expect(await server.stop("SIGTERM")).toBe(0);

    const unset = await runToEnd([...SOURCE_CLI, "secrets", "rotate-key", "--from-env", "NO_SUCH_VARIABLE_SET"], {
      env,
    });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain("The variable NO_SUCH_VARIABLE_SET (--from-env) is not set.");

    const done = await rotate();
    expect({ code: done.code, stdout: done.stdout.trim() }).toEqual({
      code: 0,
      stdout: "Re-encrypted 2 integration secrets under the new key.",
    });
    const again = await rotate();
    expect(again.stdout.trim()).toBe("Re-encrypted 0 integration secrets under the new key (2 already under it).");

    const old = await runToEnd([...SOURCE_CLI, "serve"], {
      cwd: dir,
      env: { ...env, TOLLGATE_SERVER_PORT: "0", TOLLGATE_SECRETS_ENCRYPTION_KEY: KEY },
    });
    expect(old.code).toBe(1);
    expect(old.stderr).toContain("is not the key the integration secrets in this database were encrypted with");

    const rotated = await startServer({ dir, env: { TOLLGATE_SECRETS_ENCRYPTION_KEY: OTHER_KEY } });
    const read = await fetch(`${rotated.baseUrl}${BASE}/by-provider/stripe`, { headers: { "x-api-key": DEV_KEY } });
    expect(((await read.json()) as { credentials: Record<string, string> }).credentials).toEqual({
      secret_key: "sk_live_…1d3f",
      publishable_key: "pk_live_…2a9b",
      webhook_secret: "whsec_…c8e1",
    });
    expect(await rotated.stop("SIGTERM")).toBe(0);
  }, 30_000);
});
