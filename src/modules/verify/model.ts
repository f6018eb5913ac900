import { t } from "elysia";
import { AccessOutcome } from "../auth/model";
import { Int } from "../../http/schemas";
import { RATE_LIMIT_NAME_PATTERN } from "../limits/model";

/** What a verification found (SPEC §13), as Unkey names its codes. */
export enum VerifyCode {
  Valid = "VALID",
  NotFound = "NOT_FOUND",
  Expired = "EXPIRED",
  Disabled = "DISABLED",
  InsufficientPermissions = "INSUFFICIENT_PERMISSIONS",
  RateLimited = "RATE_LIMITED",
  UsageExceeded = "USAGE_EXCEEDED",
}

/**
 * The outcome of checking a key, as a verification reports it. A key that is unknown, malformed,
 * revoked, of an archived account, or of another tenant or environment is NOT_FOUND alike: the
 * caller learns nothing about keys it does not own.
 */
export const VERIFY_CODES: Partial<Record<AccessOutcome, VerifyCode>> = {
  [AccessOutcome.KeyMissing]: VerifyCode.NotFound,
  [AccessOutcome.KeyInvalid]: VerifyCode.NotFound,
  [AccessOutcome.KeyExpired]: VerifyCode.Expired,
  [AccessOutcome.KeyInactive]: VerifyCode.Disabled,
  [AccessOutcome.PermissionMissing]: VerifyCode.InsufficientPermissions,
  [AccessOutcome.RateLimited]: VerifyCode.RateLimited,
  [AccessOutcome.UsageExceeded]: VerifyCode.UsageExceeded,
};

/** The most one verification may spend of a limit or of credits. */
export const MAX_COST = 1_000_000;

/** `entity:action`, in the names of Tollgate's roles and the operator's. */
export const PERMISSION_PATTERN = "^[a-z][a-z0-9_.-]{0,63}:[a-z][a-z0-9_.-]{0,63}$";

export const VerifyKeyBody = t.Object(
  {
    key: t.String({ minLength: 1, maxLength: 512, description: "The key a caller presented to your service" }),
    permissions: t.Optional(
      t.Array(t.String({ pattern: PERMISSION_PATTERN }), {
        maxItems: 100,
        description: "Every one of these must be allowed by the key's roles (entity:action)",
      }),
    ),
    ratelimits: t.Optional(
      t.Array(
        t.Object(
          {
            name: t.String({ pattern: RATE_LIMIT_NAME_PATTERN }),
            cost: t.Optional(Int({ minimum: 0, maximum: MAX_COST })),
          },
          { additionalProperties: false },
        ),
        {
          maxItems: 20,
          description:
            "The key's named rate limits this request counts against (cost default 1); its auto-applied ones count anyway. A name the key has no limit of is not limited.",
        },
      ),
    ),
    credits: t.Optional(
      t.Object(
        { cost: t.Optional(Int({ minimum: 0, maximum: MAX_COST })) },
        {
          additionalProperties: false,
          description: "Credits this request spends when the key has credits (default 1)",
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const VerifyKeyResponse = t.Object(
  {
    valid: t.Boolean(),
    code: t.Enum(VerifyCode),
    key_id: t.Optional(t.String()),
    account: t.Optional(
      t.Object({
        id: t.String(),
        type: t.Union([t.Literal("user"), t.Literal("service_account")]),
        name: t.Nullable(t.String()),
      }),
    ),
    tenant_id: t.Optional(t.String()),
    environment_id: t.Optional(t.String()),
    roles: t.Optional(t.Array(t.String())),
    permissions: t.Optional(t.Array(t.String())),
    expires_at: t.Optional(t.Nullable(t.String())),
    ratelimits: t.Optional(
      t.Array(
        t.Object({
          name: t.String(),
          limit: t.Integer(),
          remaining: t.Integer(),
          reset: t.Integer({ description: "When the window next has room, ms since the epoch" }),
          duration_ms: t.Integer(),
        }),
      ),
    ),
    credits: t.Optional(t.Nullable(t.Object({ remaining: t.Nullable(t.Integer()) }))),
  },
  { title: "VerifyKeyResponse" },
);
