import { t } from "elysia";
import { type Address, addressBodyFields, addressResponseFields } from "../../http/address";
import { ClearableEmail, ClearableText, Name, StringMap } from "../../http/schemas";

export interface TenantRow {
  id: string;
  name: string;
  /** JSON of StoredBillingDetails, or null when never set (or cleared). */
  billing_details: string | null;
  /** JSON object of strings. */
  metadata: string;
  created_at: string;
  updated_at: string;
}

/** As stored and as answered: every field present, null where unknown. */
export interface StoredBillingDetails {
  email: string | null;
  help_email: string | null;
  phone: string | null;
  address: Address;
}

const nullableText = () => t.Nullable(t.String());

export const AddressSchema = t.Object(addressResponseFields, { title: "Address" });

export const BillingDetailsSchema = t.Object(
  { email: nullableText(), help_email: nullableText(), phone: nullableText(), address: AddressSchema },
  { title: "TenantBillingDetails" },
);

export const TenantSchema = t.Object(
  {
    id: t.String(),
    name: t.String(),
    /** Always `published`: a tenant cannot be archived. */
    status: t.Literal("published"),
    billing_details: t.Nullable(BillingDetailsSchema),
    metadata: t.Record(t.String(), t.String()),
    created_at: t.String(),
    updated_at: t.String(),
  },
  { title: "Tenant" },
);

export const TENANT_MESSAGES = {
  notFound: "Tenant not found",
  nothingToUpdate: "name, billing_details or metadata is required",
} as const;

/** An empty string means "not set", as in Flexprice: each field given is stored trimmed, or null. */
export const AddressBody = t.Object(addressBodyFields, { additionalProperties: false });

export const BillingDetailsBody = t.Object(
  {
    email: ClearableEmail(),
    help_email: ClearableEmail(),
    phone: ClearableText(50),
    address: t.Optional(t.Nullable(AddressBody)),
  },
  { additionalProperties: false },
);

/** Like customers' metadata: string values, bounded so the row stays small. */
export const TENANT_METADATA_LIMITS = { maxKeys: 50, maxKeyLength: 40, maxValueLength: 500 } as const;

export const UpdateTenantBody = t.Object(
  {
    name: t.Optional(Name()),
    /** Replaces the billing details as a whole; null (or nothing but empty fields) clears them. */
    billing_details: t.Optional(t.Nullable(BillingDetailsBody)),
    /** Replaces the metadata as a whole. */
    metadata: t.Optional(
      StringMap(t.String({ maxLength: TENANT_METADATA_LIMITS.maxValueLength }), {
        maxKeys: TENANT_METADATA_LIMITS.maxKeys,
        maxKeyLength: TENANT_METADATA_LIMITS.maxKeyLength,
      }),
    ),
  },
  { additionalProperties: false },
);
