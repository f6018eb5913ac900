// Stripe's webhook signature (docs.stripe.com/webhooks#verify-manually). The Stripe-Signature
// header reads `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`; each v1 is HMAC-SHA256, keyed with the
// endpoint's signing secret (`whsec_…`, used as the text it is), of `<t>.<raw body>`. Stripe sends
// more than one v1 while a secret is being rolled; any one matching is enough. Other schemes
// (v0, a test scheme) are ignored. The header is read as stripe-node reads it: the last `t`
// counts, and what is signed is that timestamp as a whole number of seconds.
import { createHmac, timingSafeEqual } from "node:crypto";
import { WebhookRefusal } from "./model";

export const STRIPE_SIGNATURE_HEADER = "stripe-signature";
/**
 * How far the signed timestamp may be from now, in whole seconds: Stripe's libraries' default.
 * Unlike them, a timestamp this far in the future is refused too: a delivery signed ahead of
 * time would otherwise stay replayable for longer than the tolerance.
 */
export const STRIPE_TOLERANCE_SECONDS = 300;

const TIMESTAMP = /^0*[0-9]{1,12}$/;

interface SignatureHeader {
  /** Unix seconds; null when the header has no well-formed `t`. */
  timestamp: number | null;
  signatures: Buffer[];
}

function parseHeader(header: string): SignatureHeader {
  let timestamp: number | null = null;
  const signatures: Buffer[] = [];
  for (const item of header.split(",")) {
    const at = item.indexOf("=");
    if (at < 0) continue;
    const scheme = item.slice(0, at).trim();
    const value = item.slice(at + 1).trim();
    if (scheme === "t") timestamp = TIMESTAMP.test(value) ? Number(value) : null;
    else if (scheme === "v1") signatures.push(Buffer.from(value, "utf8"));
  }
  return { timestamp, signatures };
}

export type SignatureCheck = { valid: true; signedAt: Date } | { valid: false; refusal: WebhookRefusal };

/**
 * Checks a delivery. The HMAC is computed and compared with every v1 whatever the header holds,
 * and the verdict taken only at the end: a missing or stale header costs what a wrong signature
 * costs. Comparisons are constant-time; only the length of a v1, which the caller chose, shows.
 */
export function checkStripeSignature(
  secret: string,
  header: string | null,
  body: Uint8Array,
  nowMs: number,
): SignatureCheck {
  const { timestamp, signatures } = parseHeader(header ?? "");
  const expected = Buffer.from(
    createHmac("sha256", secret)
      .update(`${timestamp ?? ""}.`)
      .update(body)
      .digest("hex"),
    "utf8",
  );
  let matched = false;
  for (const candidate of signatures) {
    const equal = candidate.length === expected.length && timingSafeEqual(candidate, expected);
    matched = matched || equal;
  }
  if (header === null) return { valid: false, refusal: WebhookRefusal.SignatureMissing };
  if (timestamp === null || signatures.length === 0)
    return { valid: false, refusal: WebhookRefusal.SignatureMalformed };
  if (Math.abs(Math.floor(nowMs / 1000) - timestamp) > STRIPE_TOLERANCE_SECONDS) {
    return { valid: false, refusal: WebhookRefusal.TimestampOutsideTolerance };
  }
  if (!matched) return { valid: false, refusal: WebhookRefusal.SignatureMismatch };
  return { valid: true, signedAt: new Date(timestamp * 1000) };
}
