import type { Static } from "elysia";
import { type Queries } from "../../db";
import type { Scope } from "../../db/scope";
import { ADDRESS_FIELDS } from "../../http/address";
import { validationError } from "../../http/errors";
import { isTimeZone, METADATA_MAX_KEYS } from "../../http/schemas";
import type { CreateCustomerBody, CustomerRow } from "./model";

// What a create or an update makes of the customer's fields, and the columns both write.

/** Every column of a customer row, in the table's order. */
export const COLUMNS = [
  "id",
  "tenant_id",
  "environment_id",
  "external_id",
  "name",
  "email",
  "contact",
  "timezone",
  "onboarding_workflow_name",
  "skip_onboarding_workflow",
  "metadata",
  "status",
  ...ADDRESS_FIELDS,
  "parent_customer_id",
  "created_by",
  "updated_by",
  "created_at",
  "updated_at",
] as const;

/** Whether a live customer other than `exceptId` holds the external id. */
export async function externalIdTaken(
  db: Queries,
  scope: Scope,
  externalId: string,
  exceptId: string | null,
): Promise<boolean> {
  return (
    (await db.value(
      `SELECT 1 FROM customers WHERE tenant_id = ? AND environment_id = ? AND external_id = ? AND status = 'published'
       AND id IS DISTINCT FROM ?`,
      scope.tenantId,
      scope.environmentId,
      externalId,
      exceptId,
    )) !== undefined
  );
}

/** The customer's optional text fields: name, email, contact, the onboarding workflow's name and the address. */
const OPTIONAL_FIELDS = ["name", "email", "contact", "onboarding_workflow_name", ...ADDRESS_FIELDS] as const;
type OptionalField = (typeof OPTIONAL_FIELDS)[number];

/**
 * The optional fields after the request: a field sent replaces what is stored; an empty string
 * or null clears it (stored as null, as Flexprice's empty string means "not set").
 */
export function optionalFieldsOf(
  input: Partial<Record<OptionalField, string | null>>,
  before: Partial<CustomerRow> = {},
) {
  const out = {} as Record<OptionalField, string | null>;
  for (const field of OPTIONAL_FIELDS) {
    const sent = input[field];
    out[field] = sent === undefined ? (before[field] ?? null) : sent === "" ? null : sent;
  }
  return out;
}

type Mapping = NonNullable<Static<typeof CreateCustomerBody>["integration_entity_mapping"]>;

/**
 * `integration_entity_mapping`, as far as Tollgate can honour it: Flexprice records the
 * customer's id at the provider and writes it into the customer's metadata as
 * `<provider>_customer_id`; Tollgate keeps that metadata (it calls no provider).
 */
export function withMappings(metadata: Record<string, string>, mappings: Mapping | undefined): Record<string, string> {
  if (!mappings || mappings.length === 0) return metadata;
  const seen = new Set<string>();
  const out = { ...metadata };
  for (const [i, mapping] of mappings.entries()) {
    if (seen.has(mapping.provider)) {
      const rule = `lists ${mapping.provider} more than once`;
      throw validationError(`integration_entity_mapping ${rule}`, {
        [`integration_entity_mapping[${i}].provider`]: rule,
      });
    }
    seen.add(mapping.provider);
    out[`${mapping.provider}_customer_id`] = mapping.id;
  }
  if (Object.keys(out).length > METADATA_MAX_KEYS) {
    const rule = `must have at most ${METADATA_MAX_KEYS} keys, counting the <provider>_customer_id keys integration_entity_mapping adds`;
    throw validationError(`metadata ${rule}`, { metadata: rule });
  }
  return out;
}

/** The customer's time zone after the request: the one sent (an IANA name), else what it was, else UTC. */
export function timezoneOf(sent: string | undefined, before: string | undefined = undefined): string {
  if (sent === undefined) return before ?? "UTC";
  if (!isTimeZone(sent)) {
    const rule = "must be an IANA time zone name, such as Europe/Paris or America/New_York";
    throw validationError(`timezone ${rule}`, { timezone: rule });
  }
  return sent;
}
