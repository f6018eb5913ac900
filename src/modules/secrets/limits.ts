import { invalidOperation } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import type { Principal } from "../auth/model";
import { LIMITS_MESSAGES, type LimitsInput } from "../limits/model";
import { checkLimitsInput, replaceLimits } from "../limits/update";
import { type KeyDeps, type SecretWithOwnerRow } from "./model";
import { getKey, scopeOf } from "./read";

export const OWN_LIMITS = "A key cannot change its own rate limits or credits";

/**
 * PUT /v1/secrets/api/keys/{id}/limits (SPEC §14): replaces the parts of a key's rate limits
 * and credits the body names, audited as `secret.limits_updated` with both sides. A key of the
 * caller's scope (its own account's keys unless it manages all), live, and not the key making
 * the request: a limited key must not lift its own limits. The triggers of migration 019 make
 * every process drop the key from its cache, so the new limits hold from the next request.
 */
export async function setKeyLimits(
  deps: KeyDeps,
  principal: Principal,
  audit: AuditContext,
  id: string,
  input: LimitsInput,
): Promise<SecretWithOwnerRow> {
  checkLimitsInput(input);
  if (principal.credential.kind === "api_key" && principal.credential.id === id) throw invalidOperation(OWN_LIMITS);
  const scope = scopeOf(principal);
  const key = await deps.db.transaction(async (tx) => {
    const before = await getKey(tx, scope, id);
    if (before.status === "deleted" || before.owner_status !== "published")
      throw invalidOperation(LIMITS_MESSAGES.archived);
    const limits = await replaceLimits(
      tx,
      { tenantId: before.tenant_id, environmentId: before.environment_id, ownerId: id },
      input,
    );
    await recordAudit(tx, audit, {
      action: AUDIT.secret.limits_updated,
      resourceId: id,
      before: limits.before,
      after: limits.after,
    });
    return await getKey(tx, scope, id);
  });
  deps.keyCache.invalidate([key.key_hash]);
  return key;
}
