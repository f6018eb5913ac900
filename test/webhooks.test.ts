// Provider webhooks (SPEC §12, issue 12 part B): public routes let in by a signature made with
// the environment's integration webhook secret; every failure is the same 401.
import { describe, expect, spyOn, test } from "bun:test";
import { createHmac } from "node:crypto";
import { createTollgate } from "../src/app";
import { createLogger } from "../src/http/logging";
import { WebhookRefusal } from "../src/modules/webhooks/model";
import { checkStripeSignature } from "../src/modules/webhooks/stripe-signature";
import { DEFAULT_BODY_LIMIT } from "../src/http/body";
import {
  type CallOptions,
  callApp,
  DEFAULT_TENANT,
  DEV_KEY,
  OTHER_TENANT,
  OTHER_TENANT_KEY,
  createHarness,
  createTwoTenantHarness,
  errorOf,
  type Harness,
  errorBody,
} from "./support/harness";
import { environmentOf, issueTestKey } from "./support/keys";
import { startServer } from "./support/process";

const MASTER_KEY = "5f".repeat(32);
const DEV_SECRET = "whsec_TollgateDevelopmentSigning0003c8e1";
const PROD_SECRET = "whsec_TollgateProductionSigning0009ab42";

/**
 * Stripe's published scheme (docs.stripe.com/webhooks#verify-manually), computed here rather
 * than taken from the code under test: v1 = hex HMAC-SHA256, keyed with the whole `whsec_…`
 * text, of `<t>.<payload as sent>`.
 */
function stripeSignature(secret: string, payload: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${payload}`).digest("hex")}`;
}

/** A Stripe event as Stripe sends it: pretty-printed, its own key order, non-ASCII text as is. */
function stripeEvent(id = "evt_1TollgateInvoicePaid01", type = "invoice.paid"): string {
  return JSON.stringify(
    {
      id,
      object: "event",
      api_version: "2024-06-20",
      created: 1_763_900_000,
      data: { object: { id: "in_1Tollgate", object: "invoice", amount_paid: 2000, customer_name: "Zoë Ångström" } },
      livemode: false,
      pending_webhooks: 1,
      type,
    },
    null,
    2,
  );
}

async function keyed(): Promise<Harness> {
  return await createTwoTenantHarness({ secrets: { encryption_key: MASTER_KEY } });
}

/** Stores the stripe secret of the development (or production) environment of the dev key's tenant. */
async function saveStripe(
  h: Harness,
  webhookSecret = DEV_SECRET,
  environment: "development" | "production" = "development",
) {
  const env = await environmentOf(h, environment);
  const saved = await h.call("POST", "/v1/secrets/integrations/create/stripe", {
    headers: { "x-environment-id": env.id },
    body: {
      name: "stripe",
      credentials: { secret_key: "sk_test_51TollgateSecretKey000001", webhook_secret: webhookSecret },
    },
  });
  expect(saved.status).toBe(201);
  return env.id;
}

function deliver(
  h: Pick<Harness, "call">,
  path: { tenant?: string; environment: string; provider?: string },
  payload: string,
  signature: string | null,
) {
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
  if (signature !== null) headers["stripe-signature"] = signature;
  return h.call(
    "POST",
    `/v1/webhooks/${path.provider ?? "stripe"}/${path.tenant ?? DEFAULT_TENANT}/${path.environment}`,
    { key: null, rawBody: payload, headers },
  );
}

async function storedCount(h: Harness): Promise<number> {
  return ((await h.context.db.get("SELECT count(*) AS n FROM webhook_events")) as { n: number }).n;
}

async function auditCount(h: Harness): Promise<number> {
  return ((await h.context.db.get("SELECT count(*) AS n FROM audit_logs")) as { n: number }).n;
}

describe("a delivery signed with the environment's webhook secret", () => {
  test("is accepted (200), stored as received, and listed at GET /v1/webhooks/events", async () => {
    const h = await keyed();
    const env = await saveStripe(h);
    const payload = stripeEvent();
    const audited = await auditCount(h);

    const res = await deliver(h, { environment: env }, payload, stripeSignature(DEV_SECRET, payload));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: true, id: expect.stringMatching(/^whevt_/), duplicate: false });

    // The raw bytes as received, not re-serialised JSON (the pretty-printing and "Zoë" survive).
    const row = (await h.context.db.get("SELECT * FROM webhook_events")) as Record<string, string>;
    expect(row).toMatchObject({
      tenant_id: DEFAULT_TENANT,
      environment_id: env,
      provider: "stripe",
      provider_event_id: "evt_1TollgateInvoicePaid01",
      event_type: "invoice.paid",
      payload,
    });
    // Nothing in the audit log per delivery: the stored row is the record.
    expect(await auditCount(h)).toBe(audited);

    const list = await h.call("GET", "/v1/webhooks/events");
    expect(list.status).toBe(200);
    expect(list.body).toEqual({
      items: [
        {
          id: res.body.id,
          provider: "stripe",
          provider_event_id: "evt_1TollgateInvoicePaid01",
          type: "invoice.paid",
          environment_id: env,
          payload: JSON.parse(payload),
          signed_at: expect.any(String),
          received_at: expect.any(String),
        },
      ],
      pagination: { total: 1, limit: 50, offset: 0 },
    });
  });

  test("any one of several v1 signatures is enough (Stripe signs with two while a secret is rolled)", async () => {
    const h = await keyed();
    const env = await saveStripe(h);
    const payload = stripeEvent();
    const t = Math.floor(Date.now() / 1000);
    const valid = stripeSignature(DEV_SECRET, payload, t).split(",")[1];
    const stale = stripeSignature("whsec_TheSecretBeforeTheRoll0000", payload, t).split(",")[1];
    const res = await deliver(h, { environment: env }, payload, `t=${t},${stale},v0=abc,${valid}`);
    expect(res.status).toBe(200);
  });

  test("a replayed event id is stored once: the repeat is 200, duplicate, nothing added", async () => {
    const h = await keyed();
    const env = await saveStripe(h);
    const payload = stripeEvent();
    const first = await deliver(h, { environment: env }, payload, stripeSignature(DEV_SECRET, payload));
    // The same delivery again (a replay within the tolerance), and Stripe's retry with a new signature.
    const replay = await deliver(h, { environment: env }, payload, stripeSignature(DEV_SECRET, payload));
    const retry = await deliver(
      h,
      { environment: env },
      payload,
      stripeSignature(DEV_SECRET, payload, Math.floor(Date.now() / 1000) - 60),
    );
    expect(first.body.duplicate).toBe(false);
    for (const again of [replay, retry]) {
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ received: true, id: first.body.id, duplicate: true });
    }
    expect(await storedCount(h)).toBe(1);

    // Another event id is another row.
    const next = stripeEvent("evt_1TollgateSecondEvent02", "customer.created");
    expect((await deliver(h, { environment: env }, next, stripeSignature(DEV_SECRET, next))).body.duplicate).toBe(
      false,
    );
    expect(await storedCount(h)).toBe(2);
  });

  test("a signed body that is not a Stripe event is a 400 naming the field, and nothing is stored", async () => {
    const h = await keyed();
    const env = await saveStripe(h);
    for (const payload of [JSON.stringify({ object: "event", type: "x" }), "", "not json"]) {
      const res = await deliver(h, { environment: env }, payload, stripeSignature(DEV_SECRET, payload));
      expect({ payload, status: res.status }).toEqual({ payload, status: 400 });
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
    const noId = await deliver(h, { environment: env }, '{"type":"x"}', stripeSignature(DEV_SECRET, '{"type":"x"}'));
    expect(errorOf(noId).details).toHaveProperty("id");
    expect(await storedCount(h)).toBe(0);
  });
});

describe("the Stripe-Signature header, read as stripe-node reads it", () => {
  const secret = DEV_SECRET;
  const body = new TextEncoder().encode(stripeEvent());
  const now = 1_763_900_000;
  const v1 = (t: number | string) => createHmac("sha256", secret).update(`${t}.`).update(body).digest("hex");
  const check = (header: string, nowSeconds = now) => checkStripeSignature(secret, header, body, nowSeconds * 1000);

  test("the tolerance is 300 whole seconds, either way", () => {
    expect(check(`t=${now - 300},v1=${v1(now - 300)}`).valid).toBe(true);
    // 300.999 s old is still 300 whole seconds.
    expect(checkStripeSignature(secret, `t=${now - 300},v1=${v1(now - 300)}`, body, now * 1000 + 999).valid).toBe(true);
    expect(check(`t=${now - 301},v1=${v1(now - 301)}`)).toEqual({
      valid: false,
      refusal: WebhookRefusal.TimestampOutsideTolerance,
    });
    expect(check(`t=${now + 300},v1=${v1(now + 300)}`).valid).toBe(true);
    expect(check(`t=${now + 301},v1=${v1(now + 301)}`).valid).toBe(false);
  });

  test("the last t counts; the signed timestamp is the whole number; spaces and other schemes are ignored", () => {
    expect(check(`t=1,t=${now},v1=${v1(now)}`).valid).toBe(true);
    expect(check(`t=${now},t=1,v1=${v1(now)}`).valid).toBe(false);
    expect(check(`t=000${now},v1=${v1(now)}`).valid).toBe(true);
    expect(check(`t=${now}, v0=${v1(now)}, v1=${v1(now)}`).valid).toBe(true);
    // Two Stripe-Signature headers arrive joined by ", ".
    expect(check(`t=${now},v1=${"0".repeat(64)}, t=${now},v1=${v1(now)}`).valid).toBe(true);
  });

  test("refused: a t that is not a whole number, uppercase hex, a v1 with anything after it", () => {
    for (const header of [
      `t=${now}.5,v1=${v1(now)}`,
      `t=-${now},v1=${v1(now)}`,
      `t=${now},v1=${v1(now).toUpperCase()}`,
      `t=${now},V1=${v1(now)}`,
      `t=${now},v1=${v1(now)}=`,
      `t=${now},v1=${v1(now)}00`,
    ]) {
      expect({ header, valid: check(header).valid }).toEqual({ header, valid: false });
    }
  });

  test("refused: an empty v1, a truncated one, one of the wrong length (a v1 is compared whole)", () => {
    const signature = v1(now);
    for (const header of [
      `t=${now},v1=`,
      `t=${now},v1=${signature.slice(0, 1)}`,
      `t=${now},v1=${signature.slice(0, 32)}`,
      `t=${now},v1=${signature.slice(0, 63)}`,
      `t=${now},v1=${signature.slice(1)}`,
      `t=${now},v1=${"0".repeat(63)}`,
      `t=${now},v1=${"0".repeat(65)}`,
      `t=${now},v1=,v1=${"0".repeat(64)}`,
    ]) {
      expect({ header, verdict: check(header) }).toEqual({
        header,
        verdict: { valid: false, refusal: WebhookRefusal.SignatureMismatch },
      });
    }
  });
});

describe("every failure is the same 401 Invalid webhook signature", () => {
  /** Each refusal the issue names, and the ones beside them, against one keyed store. */
  async function refusals(h: Harness) {
    const dev = await saveStripe(h);
    const prod = await saveStripe(h, PROD_SECRET, "production");
    const otherEnv = (await environmentOf(h, "development", OTHER_TENANT)).id;
    const payload = stripeEvent();
    const now = Math.floor(Date.now() / 1000);
    // Every signature made up front, so what a case costs the server is all that runs in it.
    const signed = stripeSignature(DEV_SECRET, payload, now);
    const stale = stripeSignature(DEV_SECRET, payload, now - 301);
    const future = stripeSignature(DEV_SECRET, payload, now + 301);
    const otherEnvironments = stripeSignature(PROD_SECRET, payload, now);
    const emptySecret = stripeSignature("", payload, now);
    return {
      "changed body": () => deliver(h, { environment: dev }, payload.replace("2000", "2001"), signed),
      "body re-serialised": () => deliver(h, { environment: dev }, JSON.stringify(JSON.parse(payload)), signed),
      "stale timestamp (301 s)": () => deliver(h, { environment: dev }, payload, stale),
      "timestamp from the future (301 s)": () => deliver(h, { environment: dev }, payload, future),
      "signature for another environment": () => deliver(h, { environment: dev }, payload, otherEnvironments),
      "this environment's signature sent to another": () => deliver(h, { environment: prod }, payload, signed),
      "unknown tenant": () => deliver(h, { tenant: "tenant-nobody", environment: dev }, payload, signed),
      "unknown environment": () => deliver(h, { environment: "env_01NOSUCHENVIRONMENT0000" }, payload, signed),
      "a tenant with no secret": () => deliver(h, { tenant: OTHER_TENANT, environment: otherEnv }, payload, signed),
      "no header": () => deliver(h, { environment: dev }, payload, null),
      "empty header": () => deliver(h, { environment: dev }, payload, ""),
      "no timestamp": () => deliver(h, { environment: dev }, payload, signed.replace(/^t=\d+,/, "")),
      "no v1": () => deliver(h, { environment: dev }, payload, `t=${now}`),
      "v0 only": () => deliver(h, { environment: dev }, payload, signed.replace("v1=", "v0=")),
      "signature of the right length, wrong": () =>
        deliver(h, { environment: dev }, payload, `t=${now},v1=${"0".repeat(64)}`),
      "empty v1": () => deliver(h, { environment: dev }, payload, `t=${now},v1=`),
      "truncated v1": () => deliver(h, { environment: dev }, payload, signed.slice(0, -32)),
      "v1 one character short": () => deliver(h, { environment: dev }, payload, signed.slice(0, -1)),
      "signed with an empty secret": () => deliver(h, { environment: dev }, payload, emptySecret),
    };
  }

  test("changed body, stale timestamp, another environment's signature, unknown tenant, no header, …", async () => {
    const h = await keyed();
    const cases = await refusals(h);
    const answers: Record<string, { status: number; text: string; type: string | null }> = {};
    for (const [name, send] of Object.entries(cases)) {
      const res = await send();
      answers[name] = { status: res.status, text: res.text, type: res.headers.get("content-type") };
    }
    const expected = {
      status: 401,
      text: JSON.stringify(errorBody(401, "permission_denied", "Invalid webhook signature")),
      type: "application/json",
    };
    expect(answers).toEqual(Object.fromEntries(Object.keys(cases).map((name) => [name, expected])));
    expect(await storedCount(h)).toBe(0);
  });

  test("every refusal does the same work: one signing-secret lookup in memory, no decryption, one HMAC", async () => {
    const h = await keyed();
    const cases = await refusals(h);
    const box = h.context.integrationSecrets;
    if (!box) throw new Error("the harness has a master key");
    const opens = spyOn(box, "open");
    const lookups = spyOn(h.context.signingSecrets, "lookup");
    const crypto = await import("node:crypto");
    const hmacs = spyOn(crypto, "createHmac");
    const work: Record<string, { lookups: number; decryptions: number; hmacs: number }> = {};
    for (const [name, send] of Object.entries(cases)) {
      for (const spy of [opens, lookups, hmacs]) spy.mockClear();
      expect((await send()).status).toBe(401);
      work[name] = {
        lookups: lookups.mock.calls.length,
        decryptions: opens.mock.calls.length,
        hmacs: hmacs.mock.calls.length,
      };
    }
    for (const spy of [opens, lookups, hmacs]) spy.mockRestore();
    const same = { lookups: 1, decryptions: 0, hmacs: 1 };
    expect(work).toEqual(Object.fromEntries(Object.keys(cases).map((name) => [name, same])));
  });

  test("an environment's signing secret follows its integration secret: replaced, then deleted", async () => {
    const h = await keyed();
    const env = await saveStripe(h);
    const payload = stripeEvent();
    const rolled = "whsec_TollgateRolledSigningSecret0777";
    await saveStripe(h, rolled);
    expect((await deliver(h, { environment: env }, payload, stripeSignature(DEV_SECRET, payload))).status).toBe(401);
    expect((await deliver(h, { environment: env }, payload, stripeSignature(rolled, payload))).status).toBe(200);
    const id = (await h.call("GET", "/v1/secrets/integrations/by-provider/stripe")).body.id;
    expect((await h.call("DELETE", `/v1/secrets/integrations/${id}`)).status).toBe(204);
    const next = stripeEvent("evt_1AfterDeletion");
    expect((await deliver(h, { environment: env }, next, stripeSignature(rolled, next))).status).toBe(401);
  });

  test("the stand-in secret used for an environment without one never lets a delivery in", async () => {
    const h = await keyed();
    const payload = stripeEvent();
    const nobody = { tenantId: "tenant-nobody", environmentId: "env_nobody" };
    const standIn = h.context.signingSecrets.lookup(nobody, "stripe");
    expect(standIn.found).toBe(false);
    const res = await deliver(
      h,
      { tenant: nobody.tenantId, environment: nobody.environmentId },
      payload,
      stripeSignature(standIn.value, payload),
    );
    expect(res.status).toBe(401);
    expect(await storedCount(h)).toBe(0);
  });

  test("without a master key every delivery is refused the same way", async () => {
    const h = await createHarness();
    const env = (await environmentOf(h, "development")).id;
    const payload = stripeEvent();
    const res = await deliver(h, { environment: env }, payload, stripeSignature(DEV_SECRET, payload));
    expect(res.status).toBe(401);
    expect(errorOf(res).message).toBe("Invalid webhook signature");
  });

  test("at start, signing secrets are loaded; one that does not decrypt is logged once without its value and refused", async () => {
    const h = await keyed();
    const dev = await saveStripe(h);
    await saveStripe(h, PROD_SECRET, "production");
    // Move a sealed value to a row it was not sealed for, as someone writing to the file could.
    await h.context.db.run(
      "UPDATE integration_secrets SET credentials = (SELECT credentials FROM integration_secrets WHERE environment_id != @dev) WHERE environment_id = @dev",
      { dev },
    );
    const logs: Record<string, unknown>[] = [];
    const restarted = await createTollgate({
      config: h.context.config,
      store: h.context.db,
      logger: createLogger("debug", { sink: (line) => logs.push(JSON.parse(line)) }),
    });
    const server = {
      call: (method: string, path: string, options?: CallOptions) => callApp(restarted.app, method, path, options),
    };
    const payload = stripeEvent();
    for (const secret of [DEV_SECRET, PROD_SECRET]) {
      const res = await deliver(server, { environment: dev }, payload, stripeSignature(secret, payload));
      expect(res.status).toBe(401);
      expect(errorOf(res).message).toBe("Invalid webhook signature");
    }
    // The row that still opens was loaded at start: its deliveries get in.
    const prod = (await environmentOf(h, "production")).id;
    expect((await deliver(server, { environment: prod }, payload, stripeSignature(PROD_SECRET, payload))).status).toBe(
      200,
    );
    expect(logs.filter((line) => line.msg === "integration secret does not decrypt")).toEqual([
      expect.objectContaining({ level: "error", environment_id: dev }),
    ]);
    expect(JSON.stringify(logs).includes(DEV_SECRET) || JSON.stringify(logs).includes(PROD_SECRET)).toBe(false);
  });

  test("the reason is in the server's debug log, never in the answer", async () => {
    const h = await keyed();
    const env = await saveStripe(h);
    const payload = stripeEvent();
    await deliver(h, { environment: env }, payload, stripeSignature(DEV_SECRET, payload, 1));
    expect(h.logs.find((line) => line.msg === "webhook delivery refused")).toMatchObject({
      level: "debug",
      provider: "stripe",
      environment_id: env,
      reason: "timestamp_outside_tolerance",
    });
  });
});

describe("the route around the signature", () => {
  test("the body limit applies before any work: 413 without reading the body or looking up a secret", async () => {
    const h = await keyed();
    const env = await saveStripe(h);
    const box = h.context.integrationSecrets;
    if (!box) throw new Error("the harness has a master key");
    const opens = spyOn(box, "open");
    const watch = { read: false };
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          watch.read = true;
          controller.enqueue(new Uint8Array(16));
          controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    const res = await h.app.handle(
      new Request(`http://localhost/v1/webhooks/stripe/${DEFAULT_TENANT}/${env}`, {
        method: "POST",
        body,
        headers: { "content-length": String(DEFAULT_BODY_LIMIT + 1), "stripe-signature": "t=1,v1=00" },
      }),
    );
    expect(res.status).toBe(413);
    expect(watch.read).toBe(false);
    expect(opens).not.toHaveBeenCalled();
    opens.mockRestore();

    // Streamed without a declared length: cut off at the limit, still 413.
    const big = "x".repeat(DEFAULT_BODY_LIMIT + 1);
    const streamed = await h.app.handle(
      new Request(`http://localhost/v1/webhooks/stripe/${DEFAULT_TENANT}/${env}`, {
        method: "POST",
        body: new Blob([big]).stream(),
        headers: { "stripe-signature": stripeSignature(DEV_SECRET, big) },
      }),
    );
    expect(streamed.status).toBe(413);
    expect(await storedCount(h)).toBe(0);
  });

  test("a provider without a webhook scheme, or another method, is Route not found", async () => {
    const h = await keyed();
    const env = await saveStripe(h);
    const payload = stripeEvent();
    const razorpay = await deliver(
      h,
      { provider: "razorpay", environment: env },
      payload,
      stripeSignature(DEV_SECRET, payload),
    );
    expect(razorpay.status).toBe(404);
    expect(errorOf(razorpay).message).toBe("Route not found");
    const get = await h.call("GET", `/v1/webhooks/stripe/${DEFAULT_TENANT}/${env}`, { key: null });
    expect(get.status).toBe(404);
  });

  test("the body is read as bytes whatever Content-Type says", async () => {
    const h = await keyed();
    const env = await saveStripe(h);
    const url = `/v1/webhooks/stripe/${DEFAULT_TENANT}/${env}`;
    for (const [i, type] of ["application/json", "text/plain", "application/x-www-form-urlencoded"].entries()) {
      const payload = stripeEvent(`evt_1ContentType${i}`);
      const headers = { "stripe-signature": stripeSignature(DEV_SECRET, payload), "content-type": type };
      const res = await h.app.handle(new Request(`http://localhost${url}`, { method: "POST", headers, body: payload }));
      expect({ type, status: res.status }).toEqual({ type, status: 200 });
    }
    expect(await storedCount(h)).toBe(3);
  });

  test("an API key is neither needed nor enough", async () => {
    const h = await keyed();
    const env = await saveStripe(h);
    const payload = stripeEvent();
    const withKey = await h.call("POST", `/v1/webhooks/stripe/${DEFAULT_TENANT}/${env}`, { rawBody: payload });
    expect(withKey.status).toBe(401);
    expect(errorOf(withKey).message).toBe("Invalid webhook signature");
  });
});

describe("GET /v1/webhooks/events", () => {
  async function twoDeliveries(h: Harness) {
    const env = await saveStripe(h);
    for (const [id, type] of [
      ["evt_1A", "invoice.paid"],
      ["evt_1B", "customer.created"],
    ] as const) {
      const payload = stripeEvent(id, type);
      expect((await deliver(h, { environment: env }, payload, stripeSignature(DEV_SECRET, payload))).status).toBe(200);
    }
    return env;
  }

  test("newest first, filtered by type and provider, paginated", async () => {
    const h = await keyed();
    await twoDeliveries(h);
    const all = await h.call("GET", "/v1/webhooks/events");
    expect(all.body.items.map((e: { provider_event_id: string }) => e.provider_event_id)).toEqual(["evt_1B", "evt_1A"]);
    const paid = await h.call("GET", "/v1/webhooks/events?type=invoice.paid&provider=stripe");
    expect(paid.status).toBe(200);
    expect(paid.body.items.map((e: { provider_event_id: string }) => e.provider_event_id)).toEqual(["evt_1A"]);
    const second = await h.call("GET", "/v1/webhooks/events?limit=1&offset=1");
    expect(second.body).toMatchObject({ pagination: { total: 2, limit: 1, offset: 1 } });
    expect(second.body.items[0].provider_event_id).toBe("evt_1A");
    const bad = await h.call("GET", "/v1/webhooks/events?provider=paypal");
    expect(bad.status).toBe(400);
    expect(errorOf(bad).details).toHaveProperty("provider");
    const unknown = await h.call("GET", "/v1/webhooks/events?colour=red");
    expect(unknown.status).toBe(400);
  });

  test("needs integration:read; another environment or tenant sees none of them", async () => {
    const h = await keyed();
    await twoDeliveries(h);
    const ingestor = (await issueTestKey(h, { roles: ["event_ingestor"] })).apiKey;
    const refused = await h.call("GET", "/v1/webhooks/events", { key: ingestor });
    expect(refused.status).toBe(403);
    const none = await h.call("GET", "/v1/webhooks/events", { key: null });
    expect(none.status).toBe(401);
    expect(errorOf(none).message).toBe("API key required");

    const production = (await environmentOf(h, "production")).id;
    const prod = await h.call("GET", "/v1/webhooks/events", { headers: { "x-environment-id": production } });
    expect(prod.status).toBe(200);
    expect(prod.body).toEqual({ items: [], pagination: { total: 0, limit: 50, offset: 0 } });
    const other = await h.call("GET", "/v1/webhooks/events", { key: OTHER_TENANT_KEY });
    expect(other.status).toBe(200);
    expect(other.body.items).toEqual([]);
  });
});

describe("over a real server", () => {
  test("Stripe's delivery over loopback; refused deliveries count against the address like bad keys", async () => {
    const server = await startServer({
      env: {
        TOLLGATE_SECRETS_ENCRYPTION_KEY: MASTER_KEY,
        TOLLGATE_AUTH_FAILED_ATTEMPTS_MAX_FAILURES: "3",
      },
    });
    try {
      const devKey = { "x-api-key": DEV_KEY };
      const saved = await fetch(`${server.baseUrl}/v1/secrets/integrations/create/stripe`, {
        method: "POST",
        headers: { ...devKey, "content-type": "application/json" },
        body: JSON.stringify({ name: "stripe", credentials: { webhook_secret: DEV_SECRET } }),
      });
      expect(saved.status).toBe(201);
      const env = ((await saved.json()) as { environment_id: string }).environment_id;
      const url = `${server.baseUrl}/v1/webhooks/stripe/${DEFAULT_TENANT}/${env}`;
      const payload = stripeEvent();
      const send = (signature: string) =>
        fetch(url, { method: "POST", headers: { "stripe-signature": signature }, body: payload });

      const accepted = await send(stripeSignature(DEV_SECRET, payload));
      expect(accepted.status).toBe(200);
      expect(await accepted.json()).toMatchObject({ received: true, duplicate: false });

      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await send(stripeSignature(PROD_SECRET, payload))).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      // A valid delivery from the same address still gets in, as a valid key would.
      const stillAccepted = await send(stripeSignature(DEV_SECRET, payload));
      expect(stillAccepted.status).toBe(200);
      expect(await stillAccepted.json()).toMatchObject({ duplicate: true });

      const list = await fetch(`${server.baseUrl}/v1/webhooks/events`, { headers: devKey });
      expect(list.status).toBe(200);
      expect(((await list.json()) as { pagination: { total: number } }).pagination.total).toBe(1);
    } finally {
      await server.stop();
    }
  });
});
