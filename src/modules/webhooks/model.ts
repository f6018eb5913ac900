import { t } from "elysia";
import { ApiError } from "../../http/errors";
import { paginationFields } from "../../http/pagination";

/** Providers whose webhooks Tollgate can verify (Stripe's scheme first, SPEC §12). */
export const WEBHOOK_PROVIDERS = ["stripe"] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

export function isWebhookProvider(value: string): value is WebhookProvider {
  return (WEBHOOK_PROVIDERS as readonly string[]).includes(value);
}

/** Every way a delivery can fail its check; the server log names which, the caller never learns. */
export enum WebhookRefusal {
  SignatureMissing = "signature_missing",
  SignatureMalformed = "signature_malformed",
  TimestampOutsideTolerance = "timestamp_outside_tolerance",
  SignatureMismatch = "signature_mismatch",
  /** Unknown tenant or environment, no secret for the provider there, or no signing credential in it. */
  NoSigningSecret = "no_signing_secret",
}

/**
 * One answer for every refusal: which check failed would tell a caller whether a tenant, an
 * environment or a secret exists. Built once, so every refusal is the same object, byte for byte.
 */
export const WEBHOOK_REFUSED = new ApiError(401, "permission_denied", "Invalid webhook signature");
export const WEBHOOK_RESPONSES: Record<WebhookRefusal, ApiError> = {
  [WebhookRefusal.SignatureMissing]: WEBHOOK_REFUSED,
  [WebhookRefusal.SignatureMalformed]: WEBHOOK_REFUSED,
  [WebhookRefusal.TimestampOutsideTolerance]: WEBHOOK_REFUSED,
  [WebhookRefusal.SignatureMismatch]: WEBHOOK_REFUSED,
  [WebhookRefusal.NoSigningSecret]: WEBHOOK_REFUSED,
};

export interface WebhookEventRow {
  id: string;
  tenant_id: string;
  environment_id: string;
  provider: WebhookProvider;
  provider_event_id: string;
  event_type: string;
  /** The body as signed and received, as UTF-8 text; never re-serialised. */
  payload: string;
  signed_at: string;
  received_at: string;
}

export const WebhookParams = t.Object({
  provider: t.Union(
    WEBHOOK_PROVIDERS.map((p) => t.Literal(p)),
    { description: "The provider that signed the delivery" },
  ),
  tenant_id: t.String({ maxLength: 128 }),
  environment_id: t.String({ maxLength: 128 }),
});

/** What Tollgate reads of a Stripe event; the rest is stored as received. */
export const StripeEventBody = t.Object(
  {
    id: t.String({
      minLength: 1,
      maxLength: 255,
      description: "Stripe's event id (evt_…): deliveries are stored once per id",
    }),
    type: t.String({ minLength: 1, maxLength: 255, description: "Stripe's event type, e.g. invoice.paid" }),
  },
  { additionalProperties: true, title: "StripeEvent", description: "A Stripe event, exactly as Stripe signed it" },
);

export const DeliveryReceiptSchema = t.Object(
  {
    received: t.Literal(true),
    id: t.String({ description: "The stored delivery's id" }),
    duplicate: t.Boolean({ description: "True when this event id was already stored; nothing was added" }),
  },
  { title: "WebhookDeliveryReceipt" },
);

export const WebhookEventSchema = t.Object(
  {
    id: t.String(),
    provider: t.String(),
    provider_event_id: t.String(),
    type: t.String(),
    environment_id: t.String(),
    payload: t.Unknown({ description: "The event as the provider sent it" }),
    signed_at: t.String({ description: "The signature's timestamp" }),
    received_at: t.String(),
  },
  { title: "WebhookEvent" },
);

export const WebhookEventsQuery = t.Object(
  {
    provider: t.Optional(t.String({ maxLength: 64 })),
    type: t.Optional(t.String({ maxLength: 255 })),
    ...paginationFields,
  },
  { additionalProperties: false },
);
