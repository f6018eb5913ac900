import { ApiError, invalidOperation } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import type { Principal } from "../auth/model";
import type { EnvironmentRow } from "../environments/model";
import { findEnvironment } from "../environments/service";
import { type CreatedKey, issueAudited } from "./create";
import { type KeyDeps, SECRET_MESSAGES, type SecretWithOwnerRow } from "./model";
import { getKey, scopeOf, toSecretResponse } from "./read";

/**
 * Why a key cannot be rotated now, in the API's words, or null when it can: the rule of
 * rotateKey, and of the dashboard offering Rotate on a row.
 */
export function whyNotRotatable(key: SecretWithOwnerRow, now = Date.now()): string | null {
  if (key.replaced_by !== null) return SECRET_MESSAGES.alreadyRotated;
  const expired = key.expires_at !== null && Date.parse(key.expires_at) <= now;
  if (key.status !== "published" || expired) return SECRET_MESSAGES.notRotatable;
  // Its keys fail already; a replacement would be a key that cannot work either.
  if (key.owner_status !== "published") return SECRET_MESSAGES.archivedOwner;
  return null;
}

/**
 * POST /{id}/rotate: a new key with the same name, type, owner, roles and expiry; the old one
 * now expires at min(its expiry, now + grace), and with no grace it is revoked at once.
 *
 * A key is replaced once. The old key records its replacement, so rotating it again (a retry,
 * or a second request racing the first) is a 409 naming the replacement, never a second new
 * key: that one would copy the old key's grace deadline as its expiry, and expire with it.
 * Rotating the replacement is the way on, and it keeps the original expiry. The transaction
 * is IMMEDIATE, so of two concurrent rotations (in this process or another) the second reads
 * the first one's replacement.
 */
export async function rotateKey(
  deps: KeyDeps,
  principal: Principal,
  audit: AuditContext,
  id: string,
  graceSeconds: number,
): Promise<CreatedKey> {
  const { db } = deps;
  const { created, oldHash } = await db.transaction(async (tx) => {
    const now = Date.now();
    const old = await getKey(tx, scopeOf(principal), id);
    const refusal = whyNotRotatable(old, now);
    if (refusal === SECRET_MESSAGES.alreadyRotated) {
      throw new ApiError(409, "version_conflict", refusal, { replaced_by: old.replaced_by });
    }
    if (refusal !== null) throw invalidOperation(refusal);

    const environment = (await findEnvironment(tx, old.tenant_id, old.environment_id)) as EnvironmentRow;
    const created = await issueAudited(
      tx,
      audit,
      {
        tenantId: old.tenant_id,
        environmentId: old.environment_id,
        environmentType: environment.type,
        userId: old.user_id,
        createdBy: principal.userId,
        name: old.name,
        description: old.description,
        type: old.type,
        roles: JSON.parse(old.roles),
        // Never replaced before, so this is still the key's own expiry, not a grace deadline.
        expiresAt: old.expires_at,
      },
      { rotatedFrom: id },
    );

    const graceEnd = now + graceSeconds * 1000;
    const newExpiry =
      old.expires_at !== null && Date.parse(old.expires_at) < graceEnd
        ? old.expires_at
        : new Date(graceEnd).toISOString();
    const updatedAt = new Date(now).toISOString();
    const after: SecretWithOwnerRow =
      graceSeconds === 0
        ? { ...old, status: "deleted", replaced_by: created.secret.id, updated_at: updatedAt }
        : { ...old, expires_at: newExpiry, replaced_by: created.secret.id, updated_at: updatedAt };
    const changed = await tx.run(
      `UPDATE secrets SET status = ?, expires_at = ?, replaced_by = ?, updated_at = ?
         WHERE tenant_id = ? AND environment_id = ? AND id = ? AND replaced_by IS NULL`,
      after.status,
      after.expires_at,
      after.replaced_by,
      after.updated_at,
      old.tenant_id,
      old.environment_id,
      id,
    );
    // Unreachable while the read above is in this transaction; a guard, not a path.
    if (changed !== 1) throw new ApiError(409, "version_conflict", SECRET_MESSAGES.alreadyRotated);
    await recordAudit(tx, audit, {
      action: AUDIT.secret.rotated,
      resourceId: id,
      before: toSecretResponse(old),
      after: { ...toSecretResponse(after), replaced_by: created.secret.id },
    });
    return { created, oldHash: old.key_hash };
  });
  // The cached entry carries the old expiry (or no revocation yet): drop it before answering.
  deps.keyCache.invalidate([oldHash, created.secret.key_hash]);
  return created;
}
