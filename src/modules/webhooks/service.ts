// Provider webhooks (SPEC §12): a delivery is let in by its signature, made with the signing
// secret of the environment its URL names, and stored once per provider event id. No HTTP here.
import type { Scope } from "../../db/scope";
import { type Queries, type PageReader } from "../../db";
import { newId, nowIso } from "../../db/ids";
import { validationError } from "../../http/errors";
import { type ListResult, type Page, listOf } from "../../http/pagination";
import type { SigningSecrets } from "../integrations/signing";
import {
  WEBHOOK_PROVIDERS,
  type WebhookEventRow,
  type WebhookProvider,
  WebhookRefusal,
  isWebhookProvider,
} from "./model";
import { STRIPE_SIGNATURE_HEADER, type SignatureCheck, checkStripeSignature } from "./stripe-signature";

/** How a provider signs its deliveries. */
interface WebhookScheme {
  /** The request header carrying the signature. */
  header: string;
  check(secret: string, header: string | null, body: Uint8Array, nowMs: number): SignatureCheck;
}

const SCHEMES: Record<WebhookProvider, WebhookScheme> = {
  stripe: { header: STRIPE_SIGNATURE_HEADER, check: checkStripeSignature },
};

export function signatureHeaderOf(provider: WebhookProvider): string {
  return SCHEMES[provider].header;
}

/** A delivery as it arrived: where its URL points, its signature header, its raw body. */
export interface Delivery {
  provider: WebhookProvider;
  scope: Scope;
  signature: string | null;
  body: Uint8Array;
  nowMs: number;
}

export interface VerifiedDelivery {
  provider: WebhookProvider;
  scope: Scope;
  body: Uint8Array;
  signedAt: string;
}

/**
 * Lets a delivery in or names why not. Every delivery costs the same work: one lookup of the
 * environment's signing secret in memory (a stand-in when there is none), one HMAC over the body
 * and a comparison with every signature sent. An unknown tenant, an unknown environment and one
 * without a secret are therefore refused exactly like a wrong signature, in the same time.
 */
export function verifyDelivery(signing: SigningSecrets, delivery: Delivery): VerifiedDelivery | WebhookRefusal {
  const scheme = SCHEMES[delivery.provider];
  const secret = signing.lookup(delivery.scope, delivery.provider);
  const check = scheme.check(secret.value, delivery.signature, delivery.body, delivery.nowMs);
  if (!secret.found) return WebhookRefusal.NoSigningSecret;
  if (!check.valid) return check.refusal;
  return {
    provider: delivery.provider,
    scope: delivery.scope,
    body: delivery.body,
    signedAt: check.signedAt.toISOString(),
  };
}

export interface DeliveryReceipt {
  received: true;
  id: string;
  duplicate: boolean;
}

const utf8 = new TextDecoder("utf-8");

/**
 * Stores a verified delivery once per provider event id. A provider retries until it gets a
 * 2xx, and a captured delivery can be replayed within the signature's tolerance: both find the
 * row already there, are answered 200 with `duplicate: true`, and change nothing.
 */
export async function recordDelivery(
  db: Queries,
  delivery: VerifiedDelivery,
  event: { id: string; type: string },
): Promise<DeliveryReceipt> {
  const row: WebhookEventRow = {
    id: newId("whevt"),
    tenant_id: delivery.scope.tenantId,
    environment_id: delivery.scope.environmentId,
    provider: delivery.provider,
    provider_event_id: event.id,
    event_type: event.type,
    payload: utf8.decode(delivery.body),
    signed_at: delivery.signedAt,
    received_at: nowIso(),
  };
  const inserted = await db.run(
    `INSERT INTO webhook_events (id, tenant_id, environment_id, provider, provider_event_id, event_type, payload,
       signed_at, received_at)
     VALUES (@id, @tenant_id, @environment_id, @provider, @provider_event_id, @event_type, @payload, @signed_at,
       @received_at)
     ON CONFLICT (tenant_id, environment_id, provider, provider_event_id) DO NOTHING`,
    row,
  );
  if (inserted === 1) return { received: true, id: row.id, duplicate: false };
  const stored = (await db.get(
    `SELECT id FROM webhook_events
     WHERE tenant_id = @tenant_id AND environment_id = @environment_id AND provider = @provider
       AND provider_event_id = @provider_event_id`,
    row,
  )) as { id: string };
  return { received: true, id: stored.id, duplicate: true };
}

export interface WebhookEventView {
  id: string;
  provider: string;
  provider_event_id: string;
  type: string;
  environment_id: string;
  payload: unknown;
  signed_at: string;
  received_at: string;
}

function toView(row: WebhookEventRow): WebhookEventView {
  return {
    id: row.id,
    provider: row.provider,
    provider_event_id: row.provider_event_id,
    type: row.event_type,
    environment_id: row.environment_id,
    payload: JSON.parse(row.payload),
    signed_at: row.signed_at,
    received_at: row.received_at,
  };
}

const PROVIDER_RULE = `must be one of ${WEBHOOK_PROVIDERS.join(", ")}`;

/** The stored deliveries of one environment, newest first. */
export async function listDeliveries(
  pages: PageReader,
  scope: Scope,
  filter: { provider?: string; type?: string },
  page: Page,
): Promise<ListResult<WebhookEventView>> {
  if (filter.provider !== undefined && !isWebhookProvider(filter.provider)) {
    throw validationError(`provider ${PROVIDER_RULE}`, { provider: PROVIDER_RULE });
  }
  // Only the filters given, each a plain equality, so the planner can search an index on it.
  const where = ["tenant_id = @tenantId", "environment_id = @environmentId"];
  const params: Record<string, unknown> = { ...scope };
  if (filter.provider !== undefined) {
    where.push("provider = @provider");
    params.provider = filter.provider;
  }
  if (filter.type !== undefined) {
    where.push("event_type = @type");
    params.type = filter.type;
  }
  const { rows, total } = await pages.page<WebhookEventRow>(scope.tenantId, {
    from: "webhook_events",
    where: where.join(" AND "),
    orderBy: "received_at DESC, id DESC",
    params,
    page,
  });
  return listOf(rows.map(toView), total, page);
}
