import { type Static, t } from "elysia";
import { Int } from "../../http/schemas";

// Rate limits and credits (SPEC §14): what a key or a service account carries, as the API
// reads and answers it, and as the store keeps it (one `limits` row per owner and environment).

export const RATE_LIMIT_NAME_PATTERN = "^[a-z][a-z0-9_.-]{0,63}$";
/** At most this many named limits per owner. */
export const MAX_RATE_LIMITS = 20;
export const MIN_DURATION_MS = 1000;
export const MAX_DURATION_MS = 30 * 24 * 3600 * 1000;
/** Credits and limits above this are refused: far beyond any plan, and exact in a double. */
export const MAX_AMOUNT = 1_000_000_000_000;

export const LIMITS_MESSAGES = {
  duplicateName: (name: string) => `Rate limit '${name}' is named twice`,
  refillDayMonthlyOnly: "refill_day applies to a monthly refill only",
  refillNeedsRemaining: "Credits with a refill need a remaining count (null means unlimited, which a refill would end)",
  notServiceAccount: "Only service accounts carry rate limits and credits; a person's requests are not limited",
  archived: "Limits of an archived account or a revoked key cannot be changed",
} as const;

export const RateLimitInput = t.Object(
  {
    name: t.String({ pattern: RATE_LIMIT_NAME_PATTERN, error: "must be a lower-case name such as orders or api.read" }),
    limit: Int({ minimum: 1, maximum: MAX_AMOUNT }),
    duration_ms: Int({ minimum: MIN_DURATION_MS, maximum: MAX_DURATION_MS }),
    auto_apply: t.Optional(
      t.Boolean({ description: "Counted on every request of the key (default false: only when named)" }),
    ),
  },
  { additionalProperties: false },
);

export const RefillInput = t.Object(
  {
    interval: t.Union([t.Literal("daily"), t.Literal("monthly")]),
    amount: Int({ minimum: 0, maximum: MAX_AMOUNT }),
    refill_day: t.Optional(t.Nullable(Int({ minimum: 1, maximum: 31 }))),
  },
  { additionalProperties: false },
);

export const CreditsInput = t.Object(
  {
    remaining: t.Nullable(Int({ minimum: 0, maximum: MAX_AMOUNT }), { description: "null: unlimited" }),
    refill: t.Optional(t.Nullable(RefillInput)),
  },
  { additionalProperties: false },
);

export const RateLimitsInput = t.Array(RateLimitInput, { maxItems: MAX_RATE_LIMITS });

/** The body of PUT …/limits; a field present replaces that part, `credits: null` removes credits. */
export const LimitsBody = t.Object(
  {
    ratelimits: t.Optional(RateLimitsInput),
    credits: t.Optional(t.Nullable(CreditsInput)),
  },
  { additionalProperties: false },
);

export type LimitsInput = Static<typeof LimitsBody>;

export const RateLimitSchema = t.Object(
  { name: t.String(), limit: t.Integer(), duration_ms: t.Integer(), auto_apply: t.Boolean() },
  { title: "RateLimit" },
);

export const CreditsSchema = t.Object(
  {
    remaining: t.Nullable(t.Integer()),
    refill: t.Nullable(
      t.Object({
        interval: t.Union([t.Literal("daily"), t.Literal("monthly")]),
        amount: t.Integer(),
        refill_day: t.Nullable(t.Integer()),
      }),
    ),
  },
  { title: "Credits" },
);

/** The Tollgate extension fields of a key (and a service account) response. */
export const LimitsFields = {
  ratelimits: t.Array(RateLimitSchema, { description: "Tollgate extension: the owner's own named rate limits" }),
  credits: t.Nullable(CreditsSchema, { description: "Tollgate extension: usage credits; null: unlimited" }),
};

export type RateLimit = Static<typeof RateLimitSchema>;
export type Credits = Static<typeof CreditsSchema>;
export type Refill = NonNullable<Credits["refill"]>;

export interface Limits {
  ratelimits: RateLimit[];
  credits: Credits | null;
}

export const NO_LIMITS: Limits = { ratelimits: [], credits: null };

/** One row of `limits`: an owner's configuration and stored balance in one environment. */
export interface LimitsRow {
  tenant_id: string;
  environment_id: string;
  owner_id: string;
  ratelimits: string;
  has_credits: number;
  credits_remaining: number | null;
  refill_interval: Refill["interval"] | null;
  refill_amount: number | null;
  refill_day: number | null;
  refilled_at: string | null;
  credits_version: number;
  updated_at: string;
}

/** Where an owner's limits live: the owner and the tenant and environment they are kept in. */
export interface LimitsScope {
  tenantId: string;
  environmentId: string;
  ownerId: string;
}
