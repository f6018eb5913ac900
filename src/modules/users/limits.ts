import type { Static } from "elysia";
import type { Queries } from "../../db";
import { invalidOperation } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import type { Principal } from "../auth/model";
import { type Limits, LIMITS_MESSAGES, type LimitsInput } from "../limits/model";
import { readLimits, readLimitsOfOwners } from "../limits/read";
import { checkLimitsInput, replaceLimits } from "../limits/update";
import type { UserSchema, UserWithTenantRow } from "./model";
import { type AccountDeps, getAccount, toUserResponse } from "./service";

export const OWN_ACCOUNT_LIMITS = "An account cannot change its own rate limits or credits";

type AccountResponse = Static<typeof UserSchema>;

/**
 * An account as the API answers it, with a service account's rate limits and credits in the
 * caller's environment (SPEC §14: shared by its keys there). A person carries none: the fields
 * are left out.
 */
export function toAccountResponse(row: UserWithTenantRow, limits: Limits | null): AccountResponse {
  const response = toUserResponse(row);
  if (row.type !== "service_account" || limits === null) return response;
  return { ...response, ratelimits: limits.ratelimits, credits: limits.credits };
}

/** One account with its limits in `environmentId`. */
export async function accountWithLimits(
  db: Queries,
  tenantId: string,
  environmentId: string,
  row: UserWithTenantRow,
): Promise<AccountResponse> {
  const limits =
    row.type === "service_account" ? await readLimits(db, { tenantId, environmentId, ownerId: row.id }) : null;
  return toAccountResponse(row, limits);
}

/** Accounts of one tenant with their limits in `environmentId`, read in one query. */
export async function accountsWithLimits(
  db: Queries,
  tenantId: string,
  environmentId: string,
  rows: UserWithTenantRow[],
): Promise<AccountResponse[]> {
  const serviceAccounts = rows.filter((row) => row.type === "service_account").map((row) => row.id);
  const limits =
    serviceAccounts.length === 0
      ? new Map<string, Limits>()
      : await readLimitsOfOwners(db, { tenantId, environmentId }, serviceAccounts);
  return rows.map((row) => toAccountResponse(row, limits.get(row.id) ?? { ratelimits: [], credits: null }));
}

/**
 * PUT /v1/users/{id}/limits (SPEC §14): a service account's rate limits and credits in the
 * caller's environment, shared by its keys there; audited as `service_account.limits_updated`.
 * A person's account is not limited (400); an account never changes its own.
 */
export async function setAccountLimits(
  deps: AccountDeps,
  principal: Principal,
  audit: AuditContext,
  id: string,
  input: LimitsInput,
): Promise<AccountResponse> {
  checkLimitsInput(input);
  if (principal.userId === id) throw invalidOperation(OWN_ACCOUNT_LIMITS);
  const updated = await deps.db.transaction(async (tx) => {
    const account = await getAccount(tx, principal.tenantId, id);
    if (account.type !== "service_account") throw invalidOperation(LIMITS_MESSAGES.notServiceAccount);
    if (account.status !== "published") throw invalidOperation(LIMITS_MESSAGES.archived);
    const scope = { tenantId: principal.tenantId, environmentId: principal.environmentId, ownerId: id };
    const limits = await replaceLimits(tx, scope, input);
    await recordAudit(tx, audit, {
      action: AUDIT.service_account.limits_updated,
      resourceId: id,
      before: limits.before,
      after: limits.after,
    });
    return toAccountResponse(account, limits.after);
  });
  // Every key of the account carries its limits in the cache: drop them all now rather than
  // when the change watch next looks (it would, within a millisecond).
  deps.keyCache.clear();
  return updated;
}
