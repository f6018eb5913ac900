import { sql } from "../../db";
import { invalidOperation } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { recordAudit } from "../audit/service";
import type { Principal } from "../auth/model";
import type { EnvironmentRow } from "../environments/model";
import { findEnvironment } from "../environments/service";
import { type CreatedKey, issueAudited } from "./create";
import { type KeyDeps, SECRET_MESSAGES, type SecretWithOwnerRow } from "./model";
import { getKey, scopeOf, toSecretResponse } from "./read";

/**
 * POST /{id}/rotate: a new key with the same name, type, owner, roles and expiry; the old one
 * now expires at min(its expiry, now + grace), and with no grace it is revoked at once.
 */
export function rotateKey(
  deps: KeyDeps,
  principal: Principal,
  audit: AuditContext,
  id: string,
  graceSeconds: number,
): CreatedKey {
  const { db } = deps;
  const now = Date.now();
  const { created, oldHash } = db
    .transaction(() => {
      const old = getKey(db, scopeOf(principal), id);
      const expired = old.expires_at !== null && Date.parse(old.expires_at) <= now;
      if (old.status !== "published" || expired) throw invalidOperation(SECRET_MESSAGES.notRotatable);
      const graceEnd = now + graceSeconds * 1000;
      const newExpiry =
        old.expires_at !== null && Date.parse(old.expires_at) < graceEnd
          ? old.expires_at
          : new Date(graceEnd).toISOString();
      const after: SecretWithOwnerRow =
        graceSeconds === 0
          ? { ...old, status: "deleted", updated_at: new Date(now).toISOString() }
          : { ...old, expires_at: newExpiry, updated_at: new Date(now).toISOString() };
      sql(
        db,
        "UPDATE secrets SET status = ?, expires_at = ?, updated_at = ? WHERE tenant_id = ? AND environment_id = ? AND id = ?",
      ).run(after.status, after.expires_at, after.updated_at, old.tenant_id, old.environment_id, id);
      recordAudit(db, audit, {
        action: "secret.rotated",
        resourceType: "secret",
        resourceId: id,
        before: toSecretResponse(old),
        after: toSecretResponse(after),
      });
      const environment = findEnvironment(db, old.tenant_id, old.environment_id) as EnvironmentRow;
      const created = issueAudited(
        db,
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
          expiresAt: old.expires_at,
        },
        id,
      );
      return { created, oldHash: old.key_hash };
    })
    .immediate();
  // The cached entry carries the old expiry (or no revocation yet): drop it before answering.
  deps.keyCache.invalidate([oldHash, created.secret.key_hash]);
  return created;
}
