import { t } from "elysia";
import { AccessOutcome } from "../auth/model";

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
};

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
    ratelimits: t.Optional(t.Array(t.Unknown())),
    credits: t.Optional(t.Nullable(t.Unknown())),
  },
  { title: "VerifyKeyResponse" },
);
