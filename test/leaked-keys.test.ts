// Issue 30, SPEC §16: a leaked key kills itself. Anyone who finds one reports it to the public
// POST /v1/secrets/leaked and it is revoked at once, the answer revealing nothing about it;
// GitHub's secret scanning does the same through its signed partner endpoint; an operator
// holding one runs `tollgate keys leaked`; the key's owner sees it on API Keys until they
// acknowledge it. Through app.handle on the run's store engine, then real processes.
import { describe, expect, spyOn, test } from "bun:test";
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../src/config";
import { sha256Hex } from "../src/modules/auth/hash";
import { generateApiKey } from "../src/modules/auth/key-format";
import { DashboardClient } from "./support/dashboard-client";
import { DEV_KEY, errorBody, errorOf, type Harness } from "./support/harness";
import { issueTestKey } from "./support/keys";
import { runToEnd, SOURCE_CLI, type ServerProcess, startServer, storeEnv } from "./support/process";
import { addPerson, type SignInHarness, signInHarness } from "./support/sign-in";
import { tempDir } from "./support/temp";
import { onSqlite } from "./support/test-store";

const LEAKED = "/v1/secrets/leaked";
const GITHUB = "/v1/webhooks/github/secret-scanning";
const KEYS = "/v1/secrets/api/keys";
const ME = "/v1/users/me";
const REPORTER = "198.51.100.23";
const GITHUB_ADDRESS = "140.82.115.10";

/** A key pair standing in for GitHub's: the public half goes in config, the private half signs. */
function githubKeyPair(identifier = "4fe6b016179b74078ade7581abf4e84fb398c6fae4fb973972235b84fcd70ca3") {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    identifier,
    privateKey,
    config: {
      key_identifier: identifier,
      key: publicKey.export({ type: "spki", format: "pem" }).toString(),
      is_current: true,
    },
  };
}

/** GitHub's headers for a body: its key's identifier and an ECDSA P-256/SHA-256 signature, base64 DER. */
function githubHeaders(body: string, pair: { identifier: string; privateKey: KeyObject }) {
  return {
    "content-type": "application/json",
    "github-public-key-identifier": pair.identifier,
    "github-public-key-signature": sign("sha256", Buffer.from(body), {
      key: pair.privateKey,
      dsaEncoding: "der",
    }).toString("base64"),
  };
}

/** A match as GitHub's partner program sends it. */
function match(token: string, url = "https://github.com/octocat/hello/blob/0123abc/config.env") {
  return { token, type: "tollgate_api_key", url, source: "content" };
}

async function harness(
  leakedKeys: { max_reports_per_address?: number; github?: { public_keys?: unknown[]; revoke?: boolean } } = {},
) {
  const github = githubKeyPair();
  const h = await signInHarness({
    leaked_keys: {
      ...leakedKeys,
      github: { public_keys: [github.config], revoke: true, ...leakedKeys.github } as never,
    },
  } as never);
  return { h, github };
}

/** A key made through the API (the development key), its first request made so it is cached. */
async function liveKey(h: SignInHarness, name = "Billing worker", headers: Record<string, string> = {}) {
  const created = await h.call("POST", KEYS, { body: { name }, headers });
  expect(created.status).toBe(201);
  const key = created.body.api_key as string;
  expect((await h.call("GET", ME, { key })).status).toBe(200);
  return { key, id: created.body.id as string };
}

async function report(h: SignInHarness, keys: unknown, from = REPORTER) {
  return h.call("POST", LEAKED, { key: null, body: { keys }, from });
}

async function deliver(h: SignInHarness, body: string, headers: Record<string, string>, from = GITHUB_ADDRESS) {
  return h.call("POST", GITHUB, { key: null, rawBody: body, headers, from });
}

async function statusOf(h: SignInHarness, id: string) {
  return (await h.call("GET", `${KEYS}/${id}`)).body.status as string;
}

async function leakRows(h: SignInHarness, headers: Record<string, string> = {}) {
  const res = await h.call("GET", "/v1/audit-logs?action=secret.leaked", { headers });
  expect(res.status).toBe(200);
  return res.body.items as any[];
}

/** What a response says, headers included but its request id (a new one each time). */
function answerOf(res: { status: number; text: string; headers: Headers }) {
  const headers = [...res.headers].filter(([name]) => name !== "x-request-id");
  return { status: res.status, headers, text: res.text };
}

describe("POST /v1/secrets/leaked", () => {
  test("a live key is revoked at once: the very next request with it fails, though it was cached", async () => {
    const { h } = await harness();
    const { key, id } = await liveKey(h);
    const other = await liveKey(h, "Another worker");
    // Evicted by this server before it answers: on SQLite the next request would also see the
    // credential generation move, on PostgreSQL not before its next poll.
    const evicted = spyOn(h.context.keyCache, "invalidate");
    const res = await report(h, [key]);
    expect(evicted).toHaveBeenCalledWith([sha256Hex(key)]);
    evicted.mockRestore();
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ received: 1 });
    expect(errorOf(await h.call("GET", ME, { key }))).toEqual({
      message: "Invalid API key",
      internal_error: "permission_denied",
    });
    expect(await statusOf(h, id)).toBe("deleted");
    // Only the key reported.
    expect((await h.call("GET", ME, { key: other.key })).status).toBe(200);

    const [row, ...more] = await leakRows(h);
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      action: "secret.leaked",
      resource_type: "secret",
      resource_id: id,
      actor: { type: "system", id: null, name: "Leak report (POST /v1/secrets/leaked)" },
      credential_id: null,
      ip: REPORTER,
    });
    expect(row.changes.before.status).toBe("published");
    expect(row.changes.after.status).toBe("deleted");
    expect(row.changes.after.leak).toEqual({ source: "report", url: null, revoked: true });
    expect(JSON.stringify(row)).not.toContain(key);
  });

  test("the answer is the same, byte for byte, for live, revoked, unknown and malformed keys", async () => {
    const { h } = await harness({ max_reports_per_address: 100 });
    const live = await liveKey(h);
    const revoked = await liveKey(h, "Old worker");
    expect((await h.call("DELETE", `${KEYS}/${revoked.id}`)).status).toBe(204);
    const unknown = generateApiKey("sk", "test");
    const badChecksum = `${unknown.slice(0, -1)}${unknown.endsWith("0") ? "1" : "0"}`;
    const cases = {
      live: live.key,
      revoked: revoked.key,
      unknown,
      "bad checksum": badChecksum,
      "wrong shape": "sk_live_123",
      "not a key at all": "hello, world",
      empty: "",
    };
    const answers = new Map<string, unknown>();
    for (const [name, key] of Object.entries(cases)) answers.set(name, answerOf(await report(h, [key])));
    const first = answers.get("live") as ReturnType<typeof answerOf>;
    expect(first.status).toBe(202);
    expect(first.text).toBe('{"received":1}');
    for (const [name, answer] of answers) expect({ name, answer }).toEqual({ name, answer: first });
    // A report of several says only how many.
    const mixed = await report(h, [unknown, "x", revoked.key, unknown]);
    expect(answerOf(mixed)).toEqual({ ...first, text: '{"received":4}', headers: answerOf(mixed).headers });
    expect((await h.call("GET", ME, { key: live.key })).status).toBe(401);
  });

  test("a flood of keys that fail their checksum reads nothing from the store; a well-formed one reads once", async () => {
    const { h } = await harness();
    const transactions = spyOn(h.context.db, "transaction");
    const random = Array.from({ length: 100 }, (_, i) =>
      i % 2 === 0 ? `sk_live_${sha256Hex(String(i))}` : `pk_test_${"f".repeat(i)}`,
    );
    expect((await report(h, random)).status).toBe(202);
    expect(transactions).toHaveBeenCalledTimes(0);
    // The same unknown key twice: looked up once.
    const unknown = generateApiKey("pk", "live");
    expect((await report(h, [unknown, unknown, ...random.slice(0, 10)])).status).toBe(202);
    expect(transactions).toHaveBeenCalledTimes(1);
    transactions.mockRestore();
  });

  test("a body of the wrong shape is a 400 in the one envelope, and nothing is revoked", async () => {
    const { h } = await harness({ max_reports_per_address: 100 });
    const { key, id } = await liveKey(h);
    const bodies: [string, string][] = [
      ["keys is not an array", JSON.stringify({ keys: key })],
      ["more than 100 keys", JSON.stringify({ keys: [key, ...Array.from({ length: 100 }, (_, i) => `k${i}`)] })],
      ["a key that is not a string", JSON.stringify({ keys: [key, 42] })],
      ["no keys", JSON.stringify({})],
      ["a field it does not take", JSON.stringify({ keys: [key], note: "found in a log" })],
      ["a bare array", JSON.stringify([key])],
      ["not JSON", `{"keys": ["${key}"`],
    ];
    for (const [name, rawBody] of bodies) {
      const res = await h.call("POST", LEAKED, {
        key: null,
        rawBody,
        headers: { "content-type": "application/json" },
        from: REPORTER,
      });
      expect({ name, status: res.status, code: errorOf(res).internal_error }).toEqual({
        name,
        status: 400,
        code: "validation_error",
      });
    }
    expect(await statusOf(h, id)).toBe("published");
    expect((await h.call("GET", ME, { key })).status).toBe(200);
    expect(await leakRows(h)).toEqual([]);
  });

  test("reports are limited per client address: past the limit 429 with Retry-After, nothing revoked", async () => {
    const { h } = await harness({ max_reports_per_address: 3 });
    const { key, id } = await liveKey(h);
    for (let i = 0; i < 3; i++) expect((await report(h, [generateApiKey("sk", "test")])).status).toBe(202);
    const refused = await report(h, [key]);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(refused.body).toEqual(
      errorBody(429, "too_many_requests", "Too many leaked-key reports from this address", {
        retry_after_seconds: Number(refused.headers.get("retry-after")),
        max_reports: 3,
        window_seconds: 60,
      }),
    );
    expect(await statusOf(h, id)).toBe("published");
    // IPv6 counts by /64, as failed credential checks do; another address has its own budget.
    expect((await report(h, [key], "2001:db8::1")).status).toBe(202);
    expect(await statusOf(h, id)).toBe("deleted");
    // The window ends: the first address may report again.
    h.clock.t += 61_000;
    expect((await report(h, [generateApiKey("sk", "test")])).status).toBe(202);
  });

  test("the route is public, and a key sent with the report is not needed nor used", async () => {
    const { h } = await harness();
    const { key } = await liveKey(h);
    const res = await h.call("POST", LEAKED, { key, body: { keys: [key] }, from: REPORTER });
    expect(res.status).toBe(202);
    expect((await h.call("GET", ME, { key })).status).toBe(401);
    const [row] = await leakRows(h);
    expect(row.credential_id).toBeNull();
  });
});

describe("POST /v1/webhooks/github/secret-scanning", () => {
  test("a signed delivery revokes the live keys it names and answers GitHub's feedback array", async () => {
    const { h, github } = await harness();
    const live = await liveKey(h);
    const revoked = await liveKey(h, "Old worker");
    expect((await h.call("DELETE", `${KEYS}/${revoked.id}`)).status).toBe(204);
    const unknown = generateApiKey("sk", "live");
    const matches = [
      match(live.key),
      match(unknown),
      match("sk_live_not-even-close", ""),
      match(revoked.key, "javascript:alert(1)"),
    ];
    const body = JSON.stringify(matches);
    const res = await deliver(h, body, githubHeaders(body, github));
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      { token_hash: sha256Hex(live.key), token_type: "tollgate_api_key", label: "true_positive" },
      { token_hash: sha256Hex(unknown), token_type: "tollgate_api_key", label: "false_positive" },
      { token_hash: sha256Hex("sk_live_not-even-close"), token_type: "tollgate_api_key", label: "false_positive" },
      { token_hash: sha256Hex(revoked.key), token_type: "tollgate_api_key", label: "true_positive" },
    ]);
    expect((await h.call("GET", ME, { key: live.key })).status).toBe(401);
    expect(await statusOf(h, live.id)).toBe("deleted");
    const [row, ...more] = await leakRows(h);
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      resource_id: live.id,
      actor: { type: "system", id: null, name: "GitHub secret scanning" },
      ip: GITHUB_ADDRESS,
    });
    expect(row.changes.after.leak).toEqual({ source: "github", url: matches[0]?.url, revoked: true });
  });

  test("a forged, unsigned, unknown-key, malformed or tampered delivery is 401 and changes nothing", async () => {
    const { h, github } = await harness();
    const { key, id } = await liveKey(h);
    const body = JSON.stringify([match(key)]);
    const signed = githubHeaders(body, github);
    const impostor = githubKeyPair(github.identifier);
    const stranger = githubKeyPair("0000000000000000000000000000000000000000000000000000000000000000");
    const tampered = JSON.stringify([match(key, "https://github.com/elsewhere")]);
    const deliveries: [string, string, Record<string, string>][] = [
      ["unsigned", body, { "content-type": "application/json" }],
      ["signed by another key under GitHub's identifier", body, githubHeaders(body, impostor)],
      ["signed by a key config does not list", body, githubHeaders(body, stranger)],
      ["no identifier", body, { ...signed, "github-public-key-identifier": "" }],
      ["a signature that is not base64", body, { ...signed, "github-public-key-signature": "not base64!" }],
      ["a signature that is not DER", body, { ...signed, "github-public-key-signature": "AAAA" }],
      ["a body changed after signing", tampered, signed],
      ["an empty body", "", signed],
    ];
    for (const [name, rawBody, headers] of deliveries) {
      const res = await deliver(h, rawBody, headers);
      expect({ name, status: res.status, body: res.body }).toEqual({
        name,
        status: 401,
        body: errorBody(401, "permission_denied", "Invalid webhook signature"),
      });
    }
    expect(await statusOf(h, id)).toBe("published");
    expect((await h.call("GET", ME, { key })).status).toBe(200);
    expect(await leakRows(h)).toEqual([]);
    // Each refusal counted against the address like a bad key; the log says why, at debug.
    const reasons = h.logs.filter((l) => l.msg === "github secret scanning delivery refused").map((l) => l.reason);
    expect(new Set(reasons)).toEqual(
      new Set(["signature_missing", "signature_mismatch", "unknown_key_identifier", "signature_malformed"]),
    );
  });

  test("a signed delivery of the wrong shape is a 400 and changes nothing", async () => {
    const { h, github } = await harness();
    const { key, id } = await liveKey(h);
    for (const body of [
      JSON.stringify({ token: key, type: "tollgate_api_key" }),
      JSON.stringify([{ type: "tollgate_api_key", url: "" }]),
      JSON.stringify([{ token: key }]),
      JSON.stringify([{ token: 7, type: "tollgate_api_key" }]),
      `[{"token": "${key}"`,
    ]) {
      const res = await deliver(h, body, githubHeaders(body, github));
      expect({ body, status: res.status, code: errorOf(res).internal_error }).toEqual({
        body,
        status: 400,
        code: "validation_error",
      });
    }
    expect(await statusOf(h, id)).toBe("published");
    expect(await leakRows(h)).toEqual([]);
  });

  test("with leaked_keys.github.revoke off, a true positive is only reported: it keeps working, its owner is told", async () => {
    const { h, github } = await harness({ github: { revoke: false } });
    const { key, id } = await liveKey(h);
    const body = JSON.stringify([match(key)]);
    const res = await deliver(h, body, githubHeaders(body, github));
    expect(res.body).toEqual([{ token_hash: sha256Hex(key), token_type: "tollgate_api_key", label: "true_positive" }]);
    expect((await h.call("GET", ME, { key })).status).toBe(200);
    expect(await statusOf(h, id)).toBe("published");
    const [row] = await leakRows(h);
    expect(row.changes.after.status).toBe("published");
    expect(row.changes.after.leak).toEqual({ source: "github", url: match(key).url, revoked: false });

    await addPerson(h, "owner@example.com", "a long passphrase, really", "Owner");
    const browser = new DashboardClient(h);
    await browser.signIn("owner@example.com", "a long passphrase, really");
    const page = (await browser.get("/dashboard/api-keys")).text;
    expect(page).toContain("A key was reported leaked");
    expect(page).toContain("by GitHub secret scanning, found at");
    expect(page).toContain("It still works:");
  });
});

describe("the owner sees a leak on API Keys until they acknowledge it", () => {
  const EMAIL = "owner@example.com";
  const PASSWORD = "a long passphrase, really";

  async function signedIn(h: SignInHarness, role?: string) {
    const person = await addPerson(h, EMAIL, PASSWORD, "Owner");
    if (role) {
      const changed = await h.call("PUT", `/v1/users/${person.id}/roles`, { body: { roles: [role] } });
      expect(changed.status).toBe(200);
    }
    const browser = new DashboardClient(h);
    expect((await browser.signIn(EMAIL, PASSWORD)).status).toBe(303);
    return browser;
  }

  test("a banner names the leaked key, when and how; Acknowledge (CSRF and Origin checked) clears it, audited", async () => {
    const { h } = await harness();
    const browser = await signedIn(h);
    const { key, id } = await liveKey(h, "Nightly <export>");
    const display = (await h.call("GET", `${KEYS}/${id}`)).body.display_id as string;
    expect((await browser.get("/dashboard/api-keys")).text).not.toContain("reported leaked");
    expect((await report(h, [key])).status).toBe(202);

    const page = (await browser.get("/dashboard/api-keys")).text;
    expect(page).toContain("A key was reported leaked");
    expect(page).toContain("<strong>Nightly &lt;export&gt;</strong>");
    expect(page).toContain(display);
    expect(page).toContain("by someone who found it");
    expect(page).toContain("It was revoked at once: it no longer works.");
    expect(page).toContain(`action="/dashboard/api-keys/${id}/acknowledge-leak"`);

    // Another site's form, and one without the page's CSRF token: refused, nothing changed.
    const forged = await browser.request("POST", `/dashboard/api-keys/${id}/acknowledge-leak`, { csrf: "nope" });
    expect(forged.status).toBe(403);
    const token = /name="csrf" value="([^"]+)"/.exec(page)?.[1] as string;
    const response = await h.app.handle(
      new Request(`http://localhost/dashboard/api-keys/${id}/acknowledge-leak`, {
        method: "POST",
        headers: {
          cookie: [...browser.cookies].map(([k, v]) => `${k}=${v}`).join("; "),
          "content-type": "application/x-www-form-urlencoded",
          origin: "https://evil.example",
        },
        body: new URLSearchParams({ csrf: token }).toString(),
      }),
    );
    expect(response.status).toBe(403);
    expect((await browser.get("/dashboard/api-keys")).text).toContain("A key was reported leaked");

    const done = await browser.submit("/dashboard/api-keys", `/dashboard/api-keys/${id}/acknowledge-leak`);
    expect(done.status).toBe(303);
    expect(done.location).toBe("/dashboard/api-keys?notice=acknowledged");
    const after = (await browser.get("/dashboard/api-keys?notice=acknowledged")).text;
    expect(after).not.toContain("reported leaked");
    expect(after).toContain("Leak acknowledged");

    const audit = await h.call("GET", "/v1/audit-logs?action=secret.leak_acknowledged");
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({ resource_id: id, actor: { type: "user", name: "Owner" } });
    expect(audit.body.items[0].changes.after.leak_acknowledged_at).toMatch(/Z$/);
    expect(audit.body.items[0].changes.before.leak_acknowledged_at).toBeNull();
    // Twice (another tab): nothing more happens.
    expect((await browser.submit("/dashboard/api-keys", `/dashboard/api-keys/${id}/acknowledge-leak`)).status).toBe(
      303,
    );
    expect((await h.call("GET", "/v1/audit-logs?action=secret.leak_acknowledged")).body.items).toHaveLength(1);
  });

  test("a key never reported leaked cannot be acknowledged: the API's words, nothing changed", async () => {
    const { h } = await harness();
    const browser = await signedIn(h);
    const { id } = await liveKey(h);
    const refused = await browser.submit("/dashboard/api-keys", `/dashboard/api-keys/${id}/acknowledge-leak`);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("API key was not reported leaked");
    expect((await h.call("GET", "/v1/audit-logs?action=secret.leak_acknowledged")).body.items).toEqual([]);
  });

  test("a leak in another environment is counted by name; an all_reader sees its own leaks without Acknowledge", async () => {
    const { h } = await harness();
    const admin = await signedIn(h);
    const environments = (await h.call("GET", "/v1/environments")).body.items as { id: string; type: string }[];
    const production = environments.find((e) => e.type === "production")?.id as string;
    const dev = await liveKey(h, "Dev worker");
    const prod = await liveKey(h, "Prod worker", { "x-environment-id": production });
    expect(prod.key.startsWith("sk_live_")).toBe(true);
    const reader = await addPerson(h, "reader@example.com", PASSWORD, "Reader");
    expect((await h.call("PUT", `/v1/users/${reader.id}/roles`, { body: { roles: ["all_reader"] } })).status).toBe(200);
    const readers = await issueTestKey(h as unknown as Harness, { userId: reader.id, roles: ["all_reader"] });
    expect((await report(h, [dev.key, prod.key, readers.apiKey])).status).toBe(202);

    const page = (await admin.get("/dashboard/api-keys")).text;
    expect(page).toContain("2 keys were reported leaked");
    expect(page).toContain("<strong>Dev worker</strong>");
    expect(page).toContain("Production: 1 leaked key to acknowledge.");
    expect(page).not.toContain("Prod worker");
    expect(page.match(/acknowledge-leak"/g)).toHaveLength(2);

    // Someone who sees only their own keys is told of those only, and may not acknowledge.
    const browser = new DashboardClient(h);
    await browser.signIn("reader@example.com", PASSWORD);
    const own = (await browser.get("/dashboard/api-keys")).text;
    expect(own).toContain("A key was reported leaked");
    expect(own).toContain("<strong>test key</strong>");
    expect(own).not.toContain("Dev worker");
    expect(own).not.toContain("Production:");
    expect(own).not.toContain("acknowledge-leak");
    const refused = await browser.submit(
      "/dashboard/api-keys",
      `/dashboard/api-keys/${readers.secret.id}/acknowledge-leak`,
    );
    expect(refused.status).toBe(403);
  });
});

describe("configuration of GitHub's keys", () => {
  test("TOLLGATE_LEAKED_KEYS_GITHUB_PUBLIC_KEYS takes the meta API's public_keys array; revoke defaults to true", () => {
    const pair = githubKeyPair();
    const config = loadConfig({
      cwd: "/nonexistent",
      env: { TOLLGATE_LEAKED_KEYS_GITHUB_PUBLIC_KEYS: JSON.stringify([pair.config]) },
    });
    expect(config.leaked_keys.github.public_keys).toEqual([pair.config]);
    expect(config.leaked_keys.github.revoke).toBe(true);
    expect(
      loadConfig({ cwd: "/nonexistent", env: { TOLLGATE_LEAKED_KEYS_GITHUB_REVOKE: "false" } }).leaked_keys.github
        .revoke,
    ).toBe(false);
  });

  test("a key that is not ECDSA P-256 in PEM, or an identifier listed twice, stops the start", () => {
    const pair = githubKeyPair();
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" });
    const load = (keys: unknown[]) =>
      loadConfig({ cwd: "/nonexistent", env: { TOLLGATE_LEAKED_KEYS_GITHUB_PUBLIC_KEYS: JSON.stringify(keys) } });
    expect(() => load([{ key_identifier: "a", key: "-----BEGIN PUBLIC KEY-----\nnope" }])).toThrow(
      new ConfigError(
        "Invalid config: leaked_keys.github.public_keys[0].key is not a public key in PEM (-----BEGIN PUBLIC KEY-----); copy the keys from https://api.github.com/meta/public_keys/secret_scanning",
      ),
    );
    expect(() => load([{ key_identifier: "a", key: rsa.toString() }])).toThrow(
      "leaked_keys.github.public_keys[0].key is not an ECDSA P-256 key, which GitHub signs with",
    );
    expect(() => load([pair.config, pair.config])).toThrow(
      `leaked_keys.github.public_keys[1].key_identifier: "${pair.identifier}" is listed twice`,
    );
  });
});

describe("the README's pattern for secret scanners", () => {
  const readme = readFileSync(join(import.meta.dir, "..", "README.md"), "utf8");
  // The block under "Secret scanners" in the "Leaked keys" section.
  const pattern = /\*\*Secret scanners\*\*[\s\S]*?```\n(.+)\n```/.exec(readme)?.[1] as string;

  test("finds every generated key in text, and nothing that is only close to one", () => {
    expect(pattern).toBe(String.raw`\b[sp]k_(live|test)_[0-9a-f]{64}\b`);
    const scanner = new RegExp(pattern, "g");
    const keys = (["sk", "pk"] as const).flatMap((kind) =>
      (["live", "test"] as const).flatMap((mode) => Array.from({ length: 50 }, () => generateApiKey(kind, mode))),
    );
    const text = keys.map((key, i) => (i % 2 ? `API_KEY=${key}\n` : `"${key}", `)).join("");
    expect([...text.matchAll(scanner)].map((found) => found[0])).toEqual(keys);
    const key = keys[0] as string;
    for (const near of [`x${key}`, `${key}0`, key.toUpperCase(), key.slice(0, -1), key.replace("sk_", "ak_")]) {
      expect({ near, found: near.match(scanner) }).toEqual({ near, found: null });
    }
  });
});

describe("real processes", () => {
  test("on a running server, the public endpoint, GitHub's and the CLI each revoke: the next request fails", async () => {
    const github = githubKeyPair();
    let server: ServerProcess | undefined;
    try {
      server = await startServer({
        env: { TOLLGATE_LEAKED_KEYS_GITHUB_PUBLIC_KEYS: JSON.stringify([github.config]) },
      });
      const base = server.baseUrl;
      const call = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, init);
      const newKey = async (name: string) => {
        const res = await call(KEYS, {
          method: "POST",
          headers: { "x-api-key": DEV_KEY, "content-type": "application/json" },
          body: JSON.stringify({ name }),
        });
        expect(res.status).toBe(201);
        const key = ((await res.json()) as { api_key: string }).api_key;
        expect((await call(ME, { headers: { "x-api-key": key } })).status).toBe(200);
        return key;
      };
      const works = async (key: string) => (await call(ME, { headers: { "x-api-key": key } })).status;

      const reported = await newKey("Found in a log");
      const res = await call(LEAKED, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ keys: [reported] }),
      });
      expect(res.status).toBe(202);
      expect(await res.text()).toBe('{"received":1}');
      expect(await works(reported)).toBe(401);

      const scanned = await newKey("Committed by mistake");
      const body = JSON.stringify([match(scanned)]);
      const delivered = await call(GITHUB, { method: "POST", headers: githubHeaders(body, github), body });
      expect(delivered.status).toBe(200);
      expect(((await delivered.json()) as any[])[0].label).toBe("true_positive");
      expect(await works(scanned)).toBe(401);

      const forgedKey = await newKey("Not leaked");
      const forgedBody = JSON.stringify([match(forgedKey)]);
      const forged = await call(GITHUB, {
        method: "POST",
        headers: githubHeaders(forgedBody, githubKeyPair(github.identifier)),
        body: forgedBody,
      });
      expect(forged.status).toBe(401);
      expect(await works(forgedKey)).toBe(200);

      // The CLI beside the server: the server sees the credential generation move (on SQLite on
      // its next request; on PostgreSQL when the change's notification arrives, a moment later).
      const env = { ...process.env, ...(await storeEnv(server.dir)) };
      const cli = await runToEnd([...SOURCE_CLI, "keys", "leaked", forgedKey], { env });
      expect(cli.code).toBe(0);
      expect(cli.stdout).toMatch(
        /^Revoked sec_\w+ \(sk_test_\w{4}\*\*\*\w{4}, "Not leaked"\) of tenant .*, as leaked\./,
      );
      if (!onSqlite)
        for (let waited = 0; waited < 2000 && (await works(forgedKey)) !== 401; waited += 20) await Bun.sleep(20);
      expect(await works(forgedKey)).toBe(401);
      const again = await runToEnd([...SOURCE_CLI, "keys", "leaked", forgedKey], { env });
      expect(again.code).toBe(0);
      expect(again.stdout).toContain("was revoked already; nothing changed.");

      const audit = await call("/v1/audit-logs?action=secret.leaked", { headers: { "x-api-key": DEV_KEY } });
      const names = ((await audit.json()) as { items: any[] }).items.map((row) => [row.actor.name, row.ip]);
      expect(names).toEqual([
        ["tollgate keys leaked", null],
        ["GitHub secret scanning", "127.0.0.1"],
        ["Leak report (POST /v1/secrets/leaked)", "127.0.0.1"],
      ]);
    } finally {
      await server?.stop();
    }
  });

  test("tollgate keys leaked: a malformed key is a usage error, an unknown one a failure, nothing written", async () => {
    const env = { ...process.env, ...(await storeEnv(tempDir("leaked-cli-"))) };
    const malformed = await runToEnd([...SOURCE_CLI, "keys", "leaked", "sk_live_123"], { env });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain("That is not a Tollgate key");
    const unknown = await runToEnd([...SOURCE_CLI, "keys", "leaked", generateApiKey("sk", "live")], { env });
    expect(unknown).toEqual({
      code: 1,
      stdout: "",
      stderr: "No API key in this database is that key; nothing changed.\n",
    });
  });
});
