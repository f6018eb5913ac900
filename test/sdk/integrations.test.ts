// The official Flexprice client's `integrations` group against a real Tollgate process with a
// master key (SPEC §12): the values that come back, masked, and the refusals it meets.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Flexprice } from "@flexprice/sdk";
import { FlexPriceError } from "@flexprice/sdk/sdk/models";
import { createHmac } from "node:crypto";
import { DEV_KEY, type SdkServer, failure, serviceAccountKey, startSdkServer } from "../support/sdk";

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const STRIPE = {
  secret_key: "sk_test_51HxSdkRoundTripSecretValue7d3f",
  webhook_secret: "whsec_SdkRoundTripWebhookSecret00a1",
};

let s: SdkServer;
let dev: Flexprice;
let reader: Flexprice;

beforeAll(async () => {
  s = await startSdkServer({ TOLLGATE_SECRETS_ENCRYPTION_KEY: "3c".repeat(32) });
  dev = s.client();
  reader = s.client(await serviceAccountKey(dev, ["event_reader"]));
});

afterAll(async () => {
  await s.stop();
});

/** The HTTP status a call was refused with, as the SDK's typed error carries it. */
function statusOf(call: Promise<unknown>): Promise<number> {
  return call.then(
    () => Promise.reject(new Error("the call succeeded")),
    (e: unknown) => (e instanceof FlexPriceError ? e.statusCode : Promise.reject(e)),
  );
}

describe("integrations through the official SDK", () => {
  test("createOrUpdateIntegration, getIntegration, listLinkedIntegrations, deleteIntegration", async () => {
    const created = await dev.integrations.createOrUpdateIntegration("stripe", {
      name: "Stripe test",
      provider: "stripe",
      credentials: STRIPE,
    });
    expect(created).toMatchObject({
      name: "Stripe test",
      provider: "stripe",
      type: "integration",
      status: "published",
    });
    expect(created.id).toStartWith("sec_");
    expect(created.createdAt).toMatch(TIMESTAMP);
    expect(JSON.stringify(created)).not.toContain(STRIPE.secret_key);

    const read = await dev.integrations.getIntegration("stripe");
    expect(read.id).toBe(created.id);
    expect(read.name).toBe("Stripe test");

    const replaced = await dev.integrations.createOrUpdateIntegration("stripe", {
      name: "Stripe live",
      provider: "stripe",
      credentials: { secret_key: "sk_live_51HxSdkReplacedSecretValue1234" },
    });
    expect(replaced.id).toBe(created.id);
    expect(replaced.name).toBe("Stripe live");

    expect(await dev.integrations.listLinkedIntegrations()).toEqual({ providers: ["stripe"] });

    // The raw response: credentials masked, never whole.
    const raw = await fetch(`${s.server.baseUrl}/v1/secrets/integrations/by-provider/stripe`, {
      headers: { "x-api-key": DEV_KEY },
    });
    expect(((await raw.json()) as { credentials: unknown }).credentials).toEqual({ secret_key: "sk_live_…1234" });

    await dev.integrations.deleteIntegration(created.id as string);
    expect(await statusOf(dev.integrations.getIntegration("stripe"))).toBe(404);
    expect(await dev.integrations.listLinkedIntegrations()).toEqual({ providers: [] });
  });

  test("an event_reader key is refused (403); an unknown provider is 400", async () => {
    expect(await statusOf(reader.integrations.listLinkedIntegrations())).toBe(403);
    const unknown = await statusOf(
      dev.integrations.createOrUpdateIntegration("paypal", {
        name: "x",
        provider: "paypal" as "stripe",
        credentials: { a: "b" },
      }),
    );
    expect(unknown).toBe(400);
  });
});

describe("the SDK's webhooks group", () => {
  const TENANT = "00000000-0000-0000-0000-000000000000";

  test("handleStripeWebhook: a wrong signature is 401; the SDK's empty body, signed, is not a Stripe event (400)", async () => {
    const saved = await dev.integrations.createOrUpdateIntegration("stripe", {
      name: "Stripe",
      provider: "stripe",
      credentials: STRIPE,
    });
    // The SDK's secret model has no environment id; the raw response does.
    const raw = await fetch(`${s.server.baseUrl}/v1/secrets/integrations/by-provider/stripe`, {
      headers: { "x-api-key": DEV_KEY },
    });
    const env = ((await raw.json()) as { environment_id: string }).environment_id;
    const wrong = await failure(dev.webhooks.handleStripeWebhook(TENANT, env, `t=1,v1=${"0".repeat(64)}`));
    expect(wrong.statusCode).toBe(401);
    expect(JSON.parse(wrong.body).error.message).toBe("Invalid webhook signature");

    // The SDK sends no body (Stripe, not a client, is meant to call this route): a signature
    // over the empty body gets through the door, and the missing event is named.
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac("sha256", STRIPE.webhook_secret).update(`${t}.`).digest("hex");
    const empty = await failure(dev.webhooks.handleStripeWebhook(TENANT, env, `t=${t},v1=${v1}`));
    expect(empty.statusCode).toBe(400);
    expect(empty.message).toContain("id");

    const events = await fetch(`${s.server.baseUrl}/v1/webhooks/events`, { headers: { "x-api-key": DEV_KEY } });
    expect(((await events.json()) as { items: unknown[] }).items).toEqual([]);
    await dev.integrations.deleteIntegration(saved.id as string);
  });

  test("providers without a signature scheme in Tollgate are Route not found", async () => {
    // One call at a time: started together, a refusal that settles before the loop awaits it
    // is reported by Bun as unhandled, and the test fails on timing alone.
    const calls = [
      () => dev.webhooks.handleRazorpayWebhook(TENANT, "env", "sig"),
      () => dev.webhooks.handleHubspotWebhook(TENANT, "env", "sig"),
      () => dev.webhooks.handleChargebeeWebhook(TENANT, "env"),
      () => dev.webhooks.handleQuickbooksWebhook(TENANT, "env", "sig"),
      () => dev.webhooks.handleNomodWebhook(TENANT, "env"),
      () => dev.webhooks.handleMoyasarWebhook(TENANT, "env", "sig"),
    ];
    for (const call of calls) {
      const refused = await failure(call());
      expect(refused.statusCode).toBe(404);
      expect(JSON.parse(refused.body).error.message).toBe("Route not found");
    }
  });
});
