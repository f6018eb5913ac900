import { t } from "elysia";
import type { RoleCatalog } from "../rbac/service";
import { paginationFields } from "../../http/pagination";
import type { KeyCache } from "../auth/key-cache";
import type { KeyType, UserType } from "../auth/model";
import type { VerifiedKey } from "../auth/service";
import type { Store } from "../../db";
import { Int, Name, Timestamp } from "../../http/schemas";
import { CreditsInput, LimitsFields, RateLimitsInput } from "../limits/model";

export type SecretStatus = "published" | "archived" | "deleted";

/**
 * A key's status as people read it, in the dashboard and the CLI alike: the API's `published`
 * is an active key, `deleted` a revoked one, and `archived` a key that is disabled because its
 * account was archived. The API keeps Flexprice's words.
 */
export const KEY_STATUS_WORDS: Record<SecretStatus, "active" | "revoked" | "disabled"> = {
  published: "active",
  deleted: "revoked",
  archived: "disabled",
};

export interface SecretRow {
  id: string;
  tenant_id: string;
  environment_id: string;
  user_id: string;
  created_by: string | null;
  name: string;
  description: string | null;
  type: KeyType;
  provider: string;
  key_hash: string;
  display_id: string;
  roles: string;
  status: SecretStatus;
  expires_at: string | null;
  last_used_at: string | null;
  /** The key that replaced this one in a rotation; a key is replaced at most once. */
  replaced_by: string | null;
  created_at: string;
  updated_at: string;
}

/** What every verb that changes keys works on: the store, and the cache it must keep honest. */
export interface KeyDeps {
  db: Store;
  keyCache: KeyCache<VerifiedKey>;
  /** The roles a key may copy: built-in and config's. */
  roles: RoleCatalog;
}

export const SECRET_MESSAGES = {
  notFound: "API key not found",
  serviceAccountNotFound: "Service account not found",
  integration: "Integration secrets are a separate resource; type must be 'private_key' or 'publishable_key'",
  expiresInPast: "expires_at must be in the future",
  onBehalf: "Only user accounts and super_admin keys can create keys for a service account",
  notRotatable: "Expired or deleted keys cannot be rotated",
  alreadyRotated: "API key has already been rotated; rotate its replacement instead",
  archivedOwner: "Keys of an archived account cannot be rotated",
} as const;

export const SecretSchema = t.Object(
  {
    id: t.String(),
    name: t.String(),
    description: t.Nullable(t.String()),
    type: t.Union([t.Literal("private_key"), t.Literal("publishable_key")]),
    provider: t.String(),
    display_id: t.String(),
    roles: t.Array(t.String()),
    user_type: t.Union([t.Literal("user"), t.Literal("service_account")]),
    user_id: t.String(),
    service_account_name: t.Nullable(t.String()),
    environment_id: t.String(),
    expires_at: t.Nullable(t.String()),
    last_used_at: t.Nullable(t.String()),
    status: t.Union([t.Literal("published"), t.Literal("archived"), t.Literal("deleted")]),
    created_at: t.String(),
    updated_at: t.String(),
    ...LimitsFields,
  },
  { title: "SecretResponse" },
);

export const CreatedKeySchema = t.Object(
  {
    api_key: t.String({ description: "The key itself. Shown in this response only; store it now." }),
    secret: SecretSchema,
    id: t.String(),
    name: t.String(),
    roles: t.Array(t.String()),
    created_at: t.String(),
  },
  { title: "CreateAPIKeyResponse" },
);

export const CreateKeyBody = t.Object(
  {
    name: Name(),
    type: t.Optional(
      t.Union([t.Literal("private_key"), t.Literal("publishable_key"), t.Literal("integration")], {
        error: "Type must be 'private_key' or 'publishable_key'",
      }),
    ),
    expires_at: t.Optional(t.Nullable(Timestamp())),
    service_account_id: t.Optional(t.String({ minLength: 1, maxLength: 64 })),
    description: t.Optional(t.Nullable(t.String({ maxLength: 1000 }))),
    // Tollgate extensions (SPEC §14); Flexprice clients never send them.
    ratelimits: t.Optional(RateLimitsInput),
    credits: t.Optional(t.Nullable(CreditsInput)),
  },
  { additionalProperties: false },
);

export const ListKeysQuery = t.Object(
  {
    type: t.Optional(t.Union([t.Literal("private_key"), t.Literal("publishable_key")])),
    status: t.Optional(t.Union([t.Literal("published"), t.Literal("archived"), t.Literal("deleted")])),
    ...paginationFields,
  },
  { additionalProperties: false },
);

export const MAX_GRACE_SECONDS = 7 * 24 * 3600;

export const RotateKeyBody = t.Object(
  { grace_period_seconds: t.Optional(Int({ minimum: 0, maximum: MAX_GRACE_SECONDS })) },
  { additionalProperties: false },
);

export type SecretWithOwnerRow = SecretRow & {
  owner_type: UserType;
  owner_name: string;
  owner_status: "published" | "archived";
};
