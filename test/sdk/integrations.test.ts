// The official Flexprice client's `integrations` group against a real Tollgate process with a
// master key (SPEC §12): the values that come back, masked, and the refusals it meets.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Flexprice } from "@flexprice/sdk";
import { FlexPriceError } from "@flexprice/sdk/sdk/models";
import { DEV_KEY, type SdkServer, serviceAccountKey, startSdkServer } from "../support/sdk";

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
