import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { bodyLimitFor, parseJsonBytes, readBody } from "../../http/body";
import { routeNotFound } from "../../http/errors";
import { errorResponses } from "../../http/openapi";
import { ListSchema, pageOf } from "../../http/pagination";
import { ACCESS_DETAIL_KEY, authPlugin } from "../auth";
import {
  DeliveryReceiptSchema,
  StripeEventBody,
  WEBHOOK_REFUSED,
  WEBHOOK_RESPONSES,
  WebhookEventSchema,
  WebhookEventsQuery,
  WebhookParams,
  isWebhookProvider,
} from "./model";
import { type VerifiedDelivery, listDeliveries, recordDelivery, signatureHeaderOf, verifyDelivery } from "./service";

/** How a signed webhook route shows in the route table and the OpenAPI document. */
export const SIGNATURE_ACCESS = "signature";

// From the stage that checked the signature to the handler.
const deliveries = new WeakMap<Request, VerifiedDelivery>();

/**
 * `{ signedWebhook: true }`: the access declaration of a provider's webhook route. No API key;
 * the delivery is let in by its signature, made with the signing secret of the tenant and
 * environment its URL names. The body limit applies first (413 before any work), then the
 * signature is checked on the raw bytes as received, before anything parses them. Every refusal
 * is the same 401, and counts against the client address's budget of failed credential checks
 * like a bad API key.
 */
function signedWebhookAccess(app: AppContext) {
  const verify = async (request: Request, params: Record<string, string>): Promise<Uint8Array> => {
    const provider = params.provider ?? "";
    if (!isWebhookProvider(provider)) throw routeNotFound();
    const body = await readBody(request, bodyLimitFor(new URL(request.url).pathname));
    const scope = { tenantId: params.tenant_id ?? "", environmentId: params.environment_id ?? "" };
    const verdict = verifyDelivery(app.signingSecrets, {
      provider,
      scope,
      signature: request.headers.get(signatureHeaderOf(provider)),
      body,
      nowMs: Date.now(),
    });
    if (typeof verdict === "string") {
      app.logger.debug("webhook delivery refused", {
        provider,
        tenant_id: scope.tenantId,
        environment_id: scope.environmentId,
        reason: verdict,
      });
      throw app.authenticator.refused(WEBHOOK_RESPONSES[verdict], request);
    }
    deliveries.set(request, verdict);
    return body;
  };
  return new Elysia({ name: "signed-webhook-access" }).macro({
    signedWebhook: {
      detail: { [ACCESS_DETAIL_KEY]: SIGNATURE_ACCESS, security: [{ StripeSignature: [] }] } as Record<string, unknown>,
      // Elysia runs `parse` on every POST, with a body or without (test/sdk/integrations.test.ts
      // sends none).
      parse: async ({ request, params }: { request: Request; params: Record<string, string> }) =>
        parseJsonBytes(await verify(request, params)),
      resolve: ({ request }: { request: Request }) => {
        const delivery = deliveries.get(request);
        // Unreachable while `parse` runs first; should Elysia ever skip it, fail closed.
        if (!delivery) throw WEBHOOK_REFUSED;
        return { delivery };
      },
    },
  });
}

/** Provider webhooks (SPEC §12): signed deliveries in, and the list of what was received. */
export function webhooksController(app: AppContext) {
  return new Elysia({ prefix: "/v1/webhooks", tags: ["Webhooks"] })
    .use(authPlugin(app))
    .use(signedWebhookAccess(app))
    .get(
      "/events",
      ({ principal, query }) =>
        listDeliveries(
          app.reads,
          { tenantId: principal.tenantId, environmentId: principal.environmentId },
          { provider: query.provider, type: query.type },
          pageOf(query),
        ),
      {
        permission: "integration:read",
        query: WebhookEventsQuery,
        response: { 200: ListSchema(WebhookEventSchema, "WebhookEventList"), ...errorResponses(400, 401, 403) },
        detail: { summary: "Webhook deliveries received in this environment, newest first" },
      },
    )
    .post("/:provider/:tenant_id/:environment_id", ({ delivery, body }) => recordDelivery(app.db, delivery, body), {
      signedWebhook: true,
      params: WebhookParams,
      body: StripeEventBody,
      response: { 200: DeliveryReceiptSchema, ...errorResponses(400, 401, 404, 413, 503) },
      detail: {
        summary: "Receive a provider's webhook delivery (the URL to give Stripe)",
        description:
          "No API key: the delivery must carry a valid signature made with the environment's integration " +
          "webhook secret (for stripe, the credential webhook_secret; header Stripe-Signature, " +
          "t=…,v1=… over `t.body`, 5 minutes' tolerance). Any failure, including an unknown tenant or " +
          "environment, is the same 401 Invalid webhook signature. A delivery is stored once per event id; " +
          "a repeat is answered 200 with duplicate: true.",
      },
    });
}
