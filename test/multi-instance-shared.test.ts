// SPEC.md §15, shared state: what two Tollgate instances on one PostgreSQL database must agree
// on besides credentials. Each prints its own setup link at start, and any of them works until
// one is used; an integration's webhook signing secret saved or replaced through one instance
// checks deliveries on the other within milliseconds (migration 018's notification), and one
// deleted stops being accepted there.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { PostgresStore } from "../src/db";
import { createLogger } from "../src/http/logging";
import { CredentialChangeWatch } from "../src/modules/auth/change-watch";
import { DEV_KEY } from "./support/harness";
import { type ServerProcess, startServer } from "./support/process";
import { tempDir } from "./support/temp";
import { newPostgresDatabase, onSqlite } from "./support/test-store";

const MASTER_KEY = "7a".repeat(32);
const DEFAULT_TENANT = "00000000-0000-0000-0000-000000000000";
/** Far above what is measured (milliseconds): the bound holds on a busy shared machine. */
const BOUND_MS = 1_000;
const SETUP_LINK = /\/dashboard\/setup\?token=(tgp_[0-9a-f]{64})/;

function stripeSignature(secret: string, payload: string): string {
  const t = Math.floor(Date.now() / 1000);
  return `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${payload}`).digest("hex")}`;
}

async function call(server: ServerProcess, method: string, path: string, body?: unknown, key: string | null = DEV_KEY) {
  const headers: Record<string, string> = {};
  if (key !== null) headers["x-api-key"] = key;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe.if(!onSqlite)("two instances on one PostgreSQL share what is not a credential", () => {
  let first: ServerProcess;
  let second: ServerProcess;
  let environmentId: string;

  beforeAll(async () => {
    const dir = tempDir("multi-shared-");
    // The deliveries below are refused many times from one address: no per-address limit.
    const env = { TOLLGATE_SECRETS_ENCRYPTION_KEY: MASTER_KEY, TOLLGATE_AUTH_FAILED_ATTEMPTS_MAX_FAILURES: "0" };
    first = await startServer({ dir, env });
    second = await startServer({ dir, env });
    const environments = await call(first, "GET", "/v1/environments");
    environmentId = environments.body.items.find((e: { type: string }) => e.type === "development").id;
  });

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
  });

  test("each instance prints its own setup link and either works, on either instance, until one is used", async () => {
    const linkOf = (server: ServerProcess) => SETUP_LINK.exec(server.stderrLines.join("\n"))?.[1] as string;
    const [firstLink, secondLink] = [linkOf(first), linkOf(second)];
    expect(firstLink).toBeDefined();
    expect(secondLink).toBeDefined();
    expect(firstLink).not.toBe(secondLink);
    const setup = (server: ServerProcess, token: string, email: string) =>
      call(server, "POST", "/v1/auth/setup", { token, email, password: "correct horse battery" }, null);
    // The link printed first, used on the other instance: the second start did not retire it.
    const done = await setup(second, firstLink, "owner@example.com");
    expect(done.status).toBe(200);
    const late = await setup(first, secondLink, "late@example.com");
    expect(late.status).toBe(401);
    expect(late.body.error.message).toBe("Invalid or expired setup link");
  });

  test("a webhook signing secret saved, replaced or deleted through one instance is what the other checks with", async () => {
    const payload = JSON.stringify({ id: "evt_1TollgateShared", object: "event", type: "invoice.paid" });
    let delivery = 0;
    const deliver = (server: ServerProcess, secret: string) => {
      const body = payload.replace("Shared", `Shared${delivery++}`);
      return fetch(`${server.baseUrl}/v1/webhooks/stripe/${DEFAULT_TENANT}/${environmentId}`, {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": stripeSignature(secret, body) },
        body,
      }).then((res) => res.status);
    };
    const save = async (server: ServerProcess, webhookSecret: string) => {
      const res = await call(server, "POST", "/v1/secrets/integrations/create/stripe", {
        name: "stripe",
        credentials: { secret_key: "sk_test_51TollgateSharedSecretKey01", webhook_secret: webhookSecret },
      });
      expect(res.status).toBe(201);
      expect(res.body.environment_id).toBe(environmentId);
      return res.body.id as string;
    };
    /** Deliveries to `server` until one answers `status`; fails past the bound. */
    const until = async (server: ServerProcess, secret: string, status: number) => {
      const since = performance.now();
      let answered = await deliver(server, secret);
      while (answered !== status) {
        expect([200, 401]).toContain(answered);
        expect(performance.now() - since).toBeLessThan(BOUND_MS);
        answered = await deliver(server, secret);
      }
      return performance.now() - since;
    };

    const old = "whsec_TollgateSharedSigningOld000001";
    const replaced = "whsec_TollgateSharedSigningNew000002";
    expect(await deliver(second, old)).toBe(401);
    await save(first, old);
    await until(second, old, 200);

    await save(first, replaced);
    await until(second, old, 401);
    expect(await deliver(second, replaced)).toBe(200);
    expect(await deliver(second, old)).toBe(401);

    // And back the other way: replaced on the second, heard by the first.
    const id = await save(second, old);
    await until(first, replaced, 401);
    expect(await deliver(first, old)).toBe(200);

    expect((await call(second, "DELETE", `/v1/secrets/integrations/${id}`)).status).toBe(204);
    await until(first, old, 401);
  });
});

describe.if(!onSqlite)("the poll behind the notifications", () => {
  test("a change to integration secrets no notification told of is read at the next poll; a reload that failed is tried again", async () => {
    const url = await newPostgresDatabase();
    const listener = new PostgresStore(url, { max: 1 });
    const writer = new PostgresStore(url, { max: 1 });
    const reloads: string[] = [];
    const watch = await CredentialChangeWatch.start(
      listener,
      {
        keys: () => {},
        sessions: () => {},
        integrationSecrets: async () => {
          reloads.push(reloads.length === 0 ? "failed" : "loaded");
          if (reloads.length === 1) throw new Error("the store did not answer");
        },
      },
      createLogger("silent"),
      // Not listening: only the poll can tell.
      { listen: false, pollMs: 20 },
    );
    try {
      await Bun.sleep(100);
      expect(reloads).toEqual([]);
      // A statement trigger: it moves the counter even when no row changes.
      await writer.run("UPDATE integration_secrets SET name = name WHERE false");
      const deadline = performance.now() + 10_000;
      while (reloads.length < 2) {
        expect(performance.now()).toBeLessThan(deadline);
        await Bun.sleep(10);
      }
      await Bun.sleep(100);
      // Loaded once it succeeded, and not again while nothing changes.
      expect(reloads).toEqual(["failed", "loaded"]);
    } finally {
      await watch.close();
      await Promise.all([listener.close(), writer.close()]);
    }
  });
});
