import type { Static } from "elysia";
import type { Store } from "../../db";
import { newId, nowIso } from "../../db/ids";
import { alreadyExists, validationError } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import { COLUMNS, externalIdTaken, optionalFieldsOf, timezoneOf, withMappings } from "./fields";
import { checkHierarchy, parentField, requestedParent } from "./hierarchy";
import { CUSTOMER_MESSAGES, type CreateCustomerBody, type CustomerRow } from "./model";
import { customerFields, scopeOf } from "./read";

const INSERT_SQL = `INSERT INTO customers (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map((c) => `@${c}`).join(", ")})`;

export async function createCustomer(
  db: Store,
  audit: AuditContext,
  input: Static<typeof CreateCustomerBody>,
): Promise<CustomerRow> {
  const scope = scopeOf(audit);
  if (input.tax_rate_overrides !== undefined && input.tax_rate_overrides.length > 0) {
    throw validationError(CUSTOMER_MESSAGES.taxRates, {
      tax_rate_overrides: "must be empty: Tollgate keeps no tax rates, so they would be silently lost",
    });
  }
  // skip_onboarding_workflow: accepted and ignored; Tollgate runs no onboarding workflow.
  const metadata = withMappings(input.metadata ?? {}, input.integration_entity_mapping);
  return await db.transaction(async (tx) => {
    const externalId = input.external_id.trim();
    if (await externalIdTaken(tx, scope, externalId, null)) throw alreadyExists(CUSTOMER_MESSAGES.duplicate);
    const parent = (await requestedParent(tx, scope, input)) ?? null;
    if (parent) await checkHierarchy(tx, scope, null, parent, parentField(input));
    const now = nowIso();
    const row: CustomerRow = {
      id: newId("cust"),
      tenant_id: scope.tenantId,
      environment_id: scope.environmentId,
      external_id: externalId,
      ...optionalFieldsOf(input),
      timezone: timezoneOf(input.timezone),
      skip_onboarding_workflow: input.skip_onboarding_workflow ? 1 : 0,
      metadata: JSON.stringify(metadata),
      status: "published",
      parent_customer_id: parent?.id ?? null,
      created_by: audit.actor.id,
      updated_by: audit.actor.id,
      created_at: now,
      updated_at: now,
    };
    await tx.run(INSERT_SQL, row);
    await recordAudit(tx, audit, {
      action: AUDIT.customer.created,
      resourceId: row.id,
      after: customerFields(row),
    });
    return row;
  });
}
