import { type Queries } from "../../db";
import { nowIso } from "../../db/ids";
import { notFound } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import type { Principal } from "../auth/model";
import { type KeyDeps, SECRET_MESSAGES, type SecretWithOwnerRow } from "./model";
import { getKey, scopeOf, toSecretResponse } from "./read";

/** DELETE: the key is marked deleted and evicted before this returns; the next request with it fails. */
export async function revokeKey(deps: KeyDeps, principal: Principal, audit: AuditContext, id: string): Promise<void> {
  const { db } = deps;
  const revoked = await db.transaction(
    async (tx) => await markRevoked(tx, audit, await getKey(tx, scopeOf(principal), id)),
  );
  deps.keyCache.invalidate([revoked.key_hash]);
}

/**
 * Marks a key deleted and audits it, inside the caller's transaction. A key already deleted is
 * not found, as if it had never been. Evicting it from a cache is the caller's part: a server
 * evicts its own at once, and another server on the store sees the change through the
 * credential generation the UPDATE bumps.
 */
export async function markRevoked(
  db: Queries,
  audit: AuditContext,
  before: SecretWithOwnerRow,
): Promise<SecretWithOwnerRow> {
  if (before.status === "deleted") throw notFound(SECRET_MESSAGES.notFound);
  const after: SecretWithOwnerRow = { ...before, status: "deleted", updated_at: nowIso() };
  await db.run(
    "UPDATE secrets SET status = 'deleted', updated_at = ? WHERE tenant_id = ? AND environment_id = ? AND id = ?",
    after.updated_at,
    before.tenant_id,
    before.environment_id,
    before.id,
  );
  await recordAudit(db, audit, {
    action: AUDIT.secret.revoked,
    resourceId: before.id,
    before: toSecretResponse(before),
    after: toSecretResponse(after),
  });
  return after;
}
