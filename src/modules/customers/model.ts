import { t } from "elysia";
import { paginationBodyFields, paginationFields } from "../../http/pagination";
import { EMAIL_PATTERN, Int, StringMap } from "../../http/schemas";

export const CUSTOMER_MESSAGES = {
  notFound: "Customer not found",
  duplicate: "A customer with this external_id already exists",
} as const;

export interface CustomerRow {
  id: string;
  tenant_id: string;
  environment_id: string;
  external_id: string;
  name: string | null;
  email: string | null;
  metadata: string;
  status: "published" | "deleted";
  created_at: string;
  updated_at: string;
}

export const CustomerSchema = t.Object(
  {
    id: t.String(),
    external_id: t.String(),
    name: t.Nullable(t.String()),
    email: t.Nullable(t.String()),
    metadata: t.Record(t.String(), t.String()),
    status: t.Union([t.Literal("published"), t.Literal("deleted")]),
    environment_id: t.String(),
    created_at: t.String(),
    updated_at: t.String(),
  },
  { title: "Customer" },
);

/** Like Stripe's metadata: string values, bounded so a customer row stays small. */
export const METADATA_MAX_KEYS = 50;
export const METADATA_MAX_KEY_LENGTH = 40;
export const METADATA_MAX_VALUE_LENGTH = 500;

const externalId = t.String({ minLength: 1, maxLength: 255, pattern: "\\S" });
const fields = {
  name: t.Optional(t.Nullable(t.String({ maxLength: 255 }))),
  email: t.Optional(t.Nullable(t.String({ maxLength: 320, pattern: EMAIL_PATTERN, error: "must be a valid email" }))),
  metadata: t.Optional(
    StringMap(t.String({ maxLength: METADATA_MAX_VALUE_LENGTH }), {
      maxKeyLength: METADATA_MAX_KEY_LENGTH,
      maxKeys: METADATA_MAX_KEYS,
    }),
  ),
};

export const CreateCustomerBody = t.Object({ external_id: externalId, ...fields }, { additionalProperties: false });

export const UpdateCustomerBody = t.Object(
  { external_id: t.Optional(externalId), ...fields },
  { additionalProperties: false },
);

const filters = {
  external_id: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
  email: t.Optional(t.String({ minLength: 1, maxLength: 320 })),
};

export const ListCustomersQuery = t.Object({ ...filters, ...paginationFields }, { additionalProperties: false });
export const SearchCustomersBody = t.Object({ ...filters, ...paginationBodyFields }, { additionalProperties: false });

export const PortalSessionSchema = t.Object(
  { url: t.String(), token: t.String(), expires_at: t.String() },
  { title: "PortalSession" },
);

export const PortalUsageSchema = t.Object(
  {
    customer_id: t.String(),
    external_id: t.String(),
    start_time: t.String(),
    end_time: t.String(),
    usage: t.Array(t.Object({ event_name: t.String(), count: Int() })),
  },
  { title: "PortalUsage" },
);
