import type { Static } from "elysia";
import { type Queries, type Store } from "../../db";
import { type Address, ADDRESS_FIELDS } from "../../http/address";
import { nowIso } from "../../db/ids";
import { notFound, validationError } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import {
  type BillingDetailsBody,
  type StoredBillingDetails,
  TENANT_MESSAGES,
  type TenantRow,
  type TenantSchema,
  type UpdateTenantBody,
} from "./model";

export type TenantResponse = Static<typeof TenantSchema>;
export type UpdateTenantInput = Static<typeof UpdateTenantBody>;

export async function findTenant(db: Queries, tenantId: string): Promise<TenantRow | undefined> {
  return (await db.get("SELECT * FROM tenants WHERE id = ?", tenantId)) as TenantRow | undefined;
}

export async function getTenant(db: Queries, tenantId: string): Promise<TenantRow> {
  const row = await findTenant(db, tenantId);
  if (!row) throw notFound(TENANT_MESSAGES.notFound);
  return row;
}

/**
 * GET /v1/tenants/{id}: only the caller's own tenant exists for it; any other id is not found,
 * never forbidden (another tenant's existence is not revealed).
 */
export async function getOwnTenant(db: Queries, callerTenantId: string, id: string): Promise<TenantRow> {
  if (id !== callerTenantId) throw notFound(TENANT_MESSAGES.notFound);
  return await getTenant(db, id);
}

/** What a tenant update needs: the store, and the cached account profiles, each showing its tenant. */
export interface TenantDeps {
  db: Store;
  profiles: { invalidateTenant(tenantId: string): void };
}

export function toTenantResponse(row: TenantRow): TenantResponse {
  return {
    id: row.id,
    name: row.name,
    status: "published",
    billing_details: row.billing_details === null ? null : (JSON.parse(row.billing_details) as StoredBillingDetails),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** Trimmed; an empty or absent value is "not set" (null), as Flexprice's omitempty fields read. */
function given(value: string | null | undefined): string | null {
  const trimmed = value?.trim() ?? "";
  return trimmed === "" ? null : trimmed;
}

/**
 * The billing details to store for a request's `billing_details`: every field present, null
 * where not given. Details with nothing set at all are no details (null).
 */
export function normalizeBillingDetails(input: Static<typeof BillingDetailsBody> | null): StoredBillingDetails | null {
  if (input === null) return null;
  const address = Object.fromEntries(ADDRESS_FIELDS.map((field) => [field, given(input.address?.[field])])) as Address;
  const details: StoredBillingDetails = {
    email: given(input.email),
    help_email: given(input.help_email),
    phone: given(input.phone),
    address,
  };
  const anything =
    details.email !== null ||
    details.help_email !== null ||
    details.phone !== null ||
    Object.values(address).some((v) => v !== null);
  return anything ? details : null;
}

/**
 * PUT /v1/tenants/update: the caller's own tenant. Each field given replaces what is stored
 * (billing_details and metadata as a whole); a field left out is kept. Audited with before and
 * after, in the same transaction. Every account profile shows the tenant, so the tenant's cached
 * profiles are dropped before this returns: /v1/users/me never answers the old one.
 */
export async function updateTenant(
  { db, profiles }: TenantDeps,
  audit: AuditContext,
  input: UpdateTenantInput,
): Promise<TenantRow> {
  if (input.name === undefined && input.billing_details === undefined && input.metadata === undefined) {
    throw validationError(TENANT_MESSAGES.nothingToUpdate, {
      name: "is required when billing_details and metadata are absent",
    });
  }
  const updated = await db.transaction(async (tx) => {
    const before = await getTenant(tx, audit.tenantId);
    const after: TenantRow = {
      ...before,
      name: input.name === undefined ? before.name : input.name.trim(),
      billing_details:
        input.billing_details === undefined
          ? before.billing_details
          : jsonOrNull(normalizeBillingDetails(input.billing_details)),
      metadata: input.metadata === undefined ? before.metadata : JSON.stringify(input.metadata),
      updated_at: nowIso(),
    };
    await tx.run(
      "UPDATE tenants SET name = @name, billing_details = @billing_details, metadata = @metadata, updated_at = @updated_at WHERE id = @id",
      after,
    );
    await recordAudit(tx, audit, {
      action: AUDIT.tenant.updated,
      resourceId: audit.tenantId,
      before: toTenantResponse(before),
      after: toTenantResponse(after),
    });
    return after;
  });
  profiles.invalidateTenant(audit.tenantId);
  return updated;
}

function jsonOrNull(value: object | null): string | null {
  return value === null ? null : JSON.stringify(value);
}
