import { invalidOperation } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import type { Principal } from "../auth/model";
import { setKeyLimits } from "../secrets/limits";
import type { KeyDeps } from "../secrets/model";
import { getKey, scopeOf } from "../secrets/read";
import { setAccountLimits } from "../users/limits";
import { type AccountDeps, getAccount } from "../users/service";
import type { Credits, LimitsInput } from "./model";
import { joinedLimits, limitsOf, readLimits } from "./read";

// "Reset credits" (the dashboard's): an owner's remaining credits set back to their refill
// amount, or to a number the operator types, keeping the refill. It is a credits change like any
// other (setKeyLimits / setAccountLimits): checked, audited, and seen by every process at once.

export const RESET_MESSAGES = {
  unlimited: "These credits are unlimited: there is nothing to reset. Set a number of credits instead.",
  noRefill: "These credits have no refill amount to reset to: type the number of credits to reset to.",
} as const;

/** The credits change a reset makes: `to`, or the refill amount when no number is given. */
export function resetInput(credits: Credits | null, to: number | undefined): LimitsInput {
  if (credits === null || credits.remaining === null) throw invalidOperation(RESET_MESSAGES.unlimited);
  const remaining = to ?? credits.refill?.amount;
  if (remaining === undefined) throw invalidOperation(RESET_MESSAGES.noRefill);
  return { credits: { remaining, refill: credits.refill } };
}

/** Resets a key's own credits, as PUT /v1/secrets/api/keys/{id}/limits would set them. */
export async function resetKeyCredits(
  deps: KeyDeps,
  principal: Principal,
  audit: AuditContext,
  id: string,
  to: number | undefined,
) {
  const key = await getKey(deps.db, scopeOf(principal), id);
  return await setKeyLimits(deps, principal, audit, id, resetInput(limitsOf(joinedLimits(key)).credits, to));
}

/** Resets a service account's credits in the caller's environment, as PUT /v1/users/{id}/limits would. */
export async function resetAccountCredits(
  deps: AccountDeps,
  principal: Principal,
  audit: AuditContext,
  id: string,
  to: number | undefined,
) {
  await getAccount(deps.db, principal.tenantId, id);
  const limits = await readLimits(deps.db, {
    tenantId: principal.tenantId,
    environmentId: principal.environmentId,
    ownerId: id,
  });
  return await setAccountLimits(deps, principal, audit, id, resetInput(limits.credits, to));
}
