import { t } from "elysia";
import { type Address, addressBodyFields, addressResponseFields } from "../../http/address";
import { searchBodyFields } from "../../http/filters";
import { paginationBodyFields, paginationFields } from "../../http/pagination";
import { ClearableEmail, ClearableText, Int, Metadata } from "../../http/schemas";

export const CUSTOMER_MESSAGES = {
  notFound: "Customer not found",
  duplicate: "A customer with this external_id already exists",
  parentNotFound: "Parent customer not found",
  oneParentReference: "Only one of parent_customer_id or parent_customer_external_id may be provided",
  ownParent: "A customer cannot be its own parent",
  parentHasParent: "The parent customer has a parent of its own: customer hierarchies are one level deep",
  isParent: "This customer is the parent of other customers, so it cannot have a parent itself",
  hasChildren: "This customer is the parent of other customers: detach or delete them first",
  updateTarget: "Either id or external_customer_id is required",
  differentTargets: "id and external_customer_id refer to different customers",
  taxRates: "tax_rate_overrides is not supported: Tollgate keeps no tax rates",
} as const;

/** A customer as stored; the address is in columns of their own. */
export interface CustomerRow extends Address {
  id: string;
  tenant_id: string;
  environment_id: string;
  external_id: string;
  name: string | null;
  email: string | null;
  contact: string | null;
  timezone: string;
  onboarding_workflow_name: string | null;
  /** 0 or 1. */
  skip_onboarding_workflow: number;
  metadata: string;
  status: "published" | "deleted";
  parent_customer_id: string | null;
  created_by: string | null;
  updated_by: string | null;
  created_at: string;
  updated_at: string;
}

/** A customer's own fields: everything but the expanded parent. */
const customerFields = {
  id: t.String(),
  external_id: t.String(),
  name: t.Nullable(t.String()),
  email: t.Nullable(t.String()),
  contact: t.Nullable(t.String({ description: "A phone number or the like" })),
  timezone: t.String({ description: "IANA time zone name (default UTC)" }),
  onboarding_workflow_name: t.Nullable(t.String({ description: "Stored as given: Tollgate runs no workflows" })),
  skip_onboarding_workflow: t.Boolean({ description: "Stored as given: Tollgate runs no workflows" }),
  metadata: t.Record(t.String(), t.String()),
  status: t.Union([t.Literal("published"), t.Literal("deleted")]),
  ...addressResponseFields,
  parent_customer_id: t.Nullable(t.String()),
  tenant_id: t.String(),
  environment_id: t.String(),
  created_by: t.Nullable(t.String({ description: "The user or service account that created the customer" })),
  updated_by: t.Nullable(t.String({ description: "The user or service account that last changed the customer" })),
  created_at: t.String(),
  updated_at: t.String(),
};

/** A parent as it appears inside its child: hierarchies are one level deep, so it has no parent. */
export const ParentCustomerSchema = t.Object(
  { ...customerFields, parent_customer: t.Null({ description: "Always null: a parent has no parent" }) },
  { title: "ParentCustomer" },
);

export const CustomerSchema = t.Object(
  {
    ...customerFields,
    parent_customer: t.Nullable(ParentCustomerSchema, {
      description: "The parent customer in full, or null (on the customer portal: always null)",
    }),
  },
  { title: "Customer" },
);

const externalId = t.String({ minLength: 1, maxLength: 255, pattern: "\\S" });
/** A reference to another customer; an empty string or null means none. */
const customerReference = (description: string) => t.Optional(t.Nullable(t.String({ maxLength: 255, description })));

const fields = {
  name: ClearableText(255),
  email: ClearableEmail(),
  contact: ClearableText(20),
  timezone: t.Optional(
    t.String({ minLength: 1, maxLength: 64, description: "IANA time zone name, such as Asia/Kolkata" }),
  ),
  metadata: t.Optional(Metadata()),
  ...addressBodyFields,
  parent_customer_id: customerReference("The parent's id (one level deep: the parent may not have a parent)"),
  parent_customer_external_id: customerReference("The parent's external_id, instead of parent_customer_id"),
  integration_entity_mapping: t.Optional(
    t.Array(
      t.Object(
        {
          provider: t.Union([t.Literal("stripe"), t.Literal("razorpay"), t.Literal("paypal")]),
          id: t.String({ minLength: 1, maxLength: 255, pattern: "\\S" }),
        },
        { additionalProperties: false },
      ),
      {
        maxItems: 3,
        description:
          "The customer's id at a payment provider, kept as metadata `<provider>_customer_id` " +
          "(Tollgate does not call the provider)",
      },
    ),
  ),
};

export const CreateCustomerBody = t.Object(
  {
    external_id: externalId,
    ...fields,
    skip_onboarding_workflow: t.Optional(
      t.Boolean({ description: "Stored and returned: Tollgate runs no onboarding workflow" }),
    ),
    onboarding_workflow_name: ClearableText(255),
    tax_rate_overrides: t.Optional(
      t.Array(
        t.Object(
          {
            tax_rate_code: t.String({ maxLength: 255 }),
            currency: t.String({ maxLength: 16 }),
            auto_apply: t.Optional(t.Boolean()),
            priority: t.Optional(Int({ minimum: 0, maximum: 1_000_000 })),
            metadata: t.Optional(Metadata()),
          },
          { additionalProperties: false },
        ),
        { maxItems: 100, description: "Only an empty list is accepted: Tollgate keeps no tax rates" },
      ),
    ),
  },
  { additionalProperties: false },
);

export const UpdateCustomerBody = t.Object(
  { external_id: t.Optional(externalId), ...fields },
  { additionalProperties: false },
);

/** PUT /v1/customers: which customer, by id or by external id (both: they must agree). */
export const UpdateTargetQuery = t.Object(
  {
    id: t.Optional(t.String({ maxLength: 255 })),
    external_customer_id: t.Optional(t.String({ maxLength: 255 })),
  },
  { additionalProperties: false },
);

const filters = {
  external_id: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
  email: t.Optional(t.String({ minLength: 1, maxLength: 320 })),
};

export const ListCustomersQuery = t.Object({ ...filters, ...paginationFields }, { additionalProperties: false });

/** At most this many ids in each id list of a search (as many as one page can hold). */
export const MAX_SEARCH_IDS = 1000;

const idList = (description: string) =>
  t.Optional(t.Array(t.String({ maxLength: 255 }), { maxItems: MAX_SEARCH_IDS, description }));

/** Flexprice's CustomerFilter. What each field does: ./search.ts. */
export const SearchCustomersBody = t.Object(
  {
    ...filters,
    metadata: t.Optional(Metadata({ description: "Customers whose metadata holds every one of these pairs" })),
    customer_ids: idList("Customers with one of these ids (an empty list: no filter, as in Flexprice)"),
    external_ids: idList("Customers with one of these external ids (an empty list: no filter)"),
    parent_customer_ids: idList("Children of these customers (an empty list: no filter)"),
    status: t.Optional(
      t.Union([t.Literal("published"), t.Literal("deleted"), t.Literal("archived")], {
        description: "Default: live customers only. Customers are never archived: that status matches none",
      }),
    ),
    ...searchBodyFields,
    expand: t.Optional(
      t.String({
        maxLength: 255,
        description: "Only parent_customer, which every customer response includes anyway",
      }),
    ),
    ...paginationBodyFields,
  },
  { additionalProperties: false },
);

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
