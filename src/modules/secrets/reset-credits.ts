import type { AuditContext } from "../audit/model";
import type { Principal } from "../auth/model";
import { joinedLimits, limitsOf } from "../limits/read";
import { resetInput } from "../limits/reset";
import { setKeyLimits } from "./limits";
import type { KeyDeps } from "./model";
import { getKey, scopeOf } from "./read";

/**
 * The dashboard's "Reset credits" of a key: its own credits set to `to`, or to their refill
 * amount, keeping the refill; as PUT /v1/secrets/api/keys/{id}/limits would set them.
 */
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
