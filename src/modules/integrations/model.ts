import { t } from "elysia";

/** The providers the official SDK's `SecretProvider` enum names (esm/sdk/models/secret-provider.js). */
export const PROVIDERS = [
  "flexprice",
  "stripe",
  "s3",
  "hubspot",
  "razorpay",
  "chargebee",
  "quickbooks",
  "nomod",
  "moyasar",
] as const;
export type Provider = (typeof PROVIDERS)[number];

export function isProvider(value: string): value is Provider {
  return (PROVIDERS as readonly string[]).includes(value);
}

export interface IntegrationSecretRow {
  id: string;
  tenant_id: string;
  environment_id: string;
  provider: Provider;
  name: string;
  /** Sealed JSON object of the credentials (cipher.ts); never in clear. */
  credentials: string;
  created_by: string | null;
  created_by_type: "user" | "service_account" | null;
  created_at: string;
  updated_at: string;
}

export const INTEGRATION_MESSAGES = {
  notFound: "Integration secret not found",
  unreadable: "Integration secret could not be decrypted; see the server log",
  unknownProvider: `provider must be one of ${PROVIDERS.join(", ")}`,
} as const;

export const ProviderParams = t.Object({ provider: t.String({ maxLength: 64 }) });
export const IdParams = t.Object({ id: t.String({ maxLength: 128 }) });

const CREDENTIAL_NAME = "^[A-Za-z0-9_.-]{1,64}$";

export const CreateIntegrationBody = t.Object(
  {
    name: t.String({ minLength: 1, maxLength: 255 }),
    credentials: t.Record(t.String({ pattern: CREDENTIAL_NAME }), t.String({ minLength: 1, maxLength: 8192 }), {
      // Without it, TypeBox only checks the names that match the pattern and lets others through
      // (see StringMap in http/schemas.ts).
      additionalProperties: false,
      keyError: "names must be 1 to 64 characters of A-Z, a-z, 0-9, _, . and -",
      minProperties: 1,
      maxProperties: 32,
      description: "Credential name → value (for stripe: secret_key, publishable_key, webhook_secret).",
    }),
    // The SDK sends the provider in the body too; when present it must match the path.
    provider: t.Optional(t.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

/** The SDK's DtoSecretResponse, every field present, plus the masked credentials. */
export const IntegrationSecretSchema = t.Object(
  {
    id: t.String(),
    name: t.String(),
    type: t.Literal("integration"),
    provider: t.String(),
    display_id: t.Nullable(t.String()),
    roles: t.Array(t.String()),
    user_type: t.Nullable(t.Union([t.Literal("user"), t.Literal("service_account")])),
    status: t.Literal("published"),
    expires_at: t.Nullable(t.String()),
    last_used_at: t.Nullable(t.String()),
    environment_id: t.String(),
    credentials: t.Record(t.String(), t.String(), {
      description: "Each credential masked to its last 4 characters (sk_live_…7d3f); never whole.",
    }),
    created_at: t.String(),
    updated_at: t.String(),
  },
  { title: "IntegrationSecretResponse" },
);

export const LinkedIntegrationsSchema = t.Object(
  { providers: t.Array(t.String()) },
  { title: "LinkedIntegrationsResponse" },
);
