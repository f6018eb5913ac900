import type { AuditContext } from "../audit/model";
import type { Principal } from "../auth/model";
import { readLimits } from "../limits/read";
import { resetInput } from "../limits/reset";
import { setAccountLimits } from "./limits";
import { type AccountDeps, getAccount } from "./service";

/**
 * The dashboard's "Reset credits" of a service account in the caller's environment: set to `to`,
 * or to their refill amount, keeping the refill; as PUT /v1/users/{id}/limits would set them.
 */
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
