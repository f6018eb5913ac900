import type { Queries, Store } from "../../db";
import { AUDIT } from "../audit/actions";
import type { EnvironmentRow } from "../environments/model";
import { type Limits, type LimitsInput, LIMITS_MESSAGES } from "../limits/model";
import { readLimits } from "../limits/read";
import { replaceOperatorLimits } from "../secrets/limits-operator";
import { accountByIdOrName, environmentOf, OperatorError, operatorAudit } from "../secrets/operator";
import type { UserRow } from "./model";

// The CLI's `tollgate users limits | set-limit | remove-limit | set-credits`: a service account's
// rate limits and credits in one environment, shared by its keys there (SPEC §14), on the rules
// and with the refusals of PUT /v1/users/{id}/limits, audited as the command (see
// ../secrets/limits-operator.ts, whose pieces these share). A server running on the store drops
// the account's keys from its cache when the triggers of migration 019 move the generation.

/** A service account by id or name in a tenant, and the environment whose limits are meant. */
export interface OperatorAccountRef {
  tenantId: string;
  account: string;
  /** An environment id or name; may be left out when the tenant has exactly one. */
  environment?: string;
}

export interface OperatorAccountLimits {
  account: UserRow;
  environment: EnvironmentRow;
  limits: Limits;
}

/**
 * The environment named, or the tenant's only one. With several, a default would set the limits
 * of an environment the operator did not mean, so one must be named.
 */
async function limitsEnvironment(db: Queries, tenantId: string, ref: string | undefined): Promise<EnvironmentRow> {
  if (ref !== undefined) return await environmentOf(db, tenantId, ref);
  const environments = (await db.all(
    "SELECT * FROM environments WHERE tenant_id = ? ORDER BY created_at, id",
    tenantId,
  )) as EnvironmentRow[];
  if (environments.length === 1) return environments[0] as EnvironmentRow;
  // None: the tenant does not exist (or has no environment), which environmentOf says.
  if (environments.length === 0) return await environmentOf(db, tenantId, undefined);
  const named = environments.map((row) => `${row.name} (${row.id})`).join(", ");
  throw new OperatorError(
    `A service account's limits are per environment and tenant ${tenantId} has ${environments.length}: name one with --environment (${named})`,
  );
}

/** The service account and environment `ref` names; a person's account is refused as the API refuses it. */
async function operatorAccount(db: Queries, ref: OperatorAccountRef): Promise<Omit<OperatorAccountLimits, "limits">> {
  const environment = await limitsEnvironment(db, ref.tenantId, ref.environment);
  const account = await accountByIdOrName(db, ref.tenantId, ref.account, true);
  if (account.type !== "service_account") throw new OperatorError(LIMITS_MESSAGES.notServiceAccount);
  return { account, environment };
}

const scopeOf = (account: UserRow, environment: EnvironmentRow) => ({
  tenantId: account.tenant_id,
  environmentId: environment.id,
  ownerId: account.id,
});

/** `tollgate users limits`: a service account's limits and credits in one environment. */
export async function operatorAccountLimits(db: Queries, ref: OperatorAccountRef): Promise<OperatorAccountLimits> {
  const { account, environment } = await operatorAccount(db, ref);
  return { account, environment, limits: await readLimits(db, scopeOf(account, environment)) };
}

/**
 * Changes a service account's limits in one environment to what `change` makes of its current
 * ones, in one transaction, as PUT /v1/users/{id}/limits would. Answers them before and after.
 */
export async function changeOperatorAccountLimits(
  db: Store,
  ref: OperatorAccountRef,
  command: string,
  change: (limits: Limits) => LimitsInput,
): Promise<OperatorAccountLimits & { before: Limits; after: Limits }> {
  return await db.transaction(async (tx) => {
    const { account, environment } = await operatorAccount(tx, ref);
    if (account.status !== "published") throw new OperatorError(LIMITS_MESSAGES.archived);
    const scope = scopeOf(account, environment);
    const { before, after } = await replaceOperatorLimits(tx, scope, await readLimits(tx, scope), change, {
      context: operatorAudit(account.tenant_id, environment.id, command),
      action: AUDIT.service_account.limits_updated,
      resourceId: account.id,
    });
    return { account, environment, limits: after, before, after };
  });
}
