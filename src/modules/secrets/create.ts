import { type Queries } from "../../db";
import { ApiError, notFound, validationError } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import { AccessOutcome, accessDenied, type KeyType, type Principal } from "../auth/model";
import type { EnvironmentRow } from "../environments/model";
import { findEnvironment } from "../environments/service";
import type { LimitsInput } from "../limits/model";
import { checkLimitsInput, handOverLimits, hasLimits, replaceLimits } from "../limits/update";
import { type KeyDeps, SECRET_MESSAGES, type SecretWithOwnerRow } from "./model";
import { toSecretResponse, withOwnerOf } from "./read";
import { type IssueKeyInput, issueKey } from "./store";

export interface CreateKeyInput {
  name: string;
  type?: KeyType | "integration";
  expires_at?: string | null;
  service_account_id?: string;
  description?: string | null;
  /** Tollgate extensions (SPEC §14): the key's own rate limits and credits. */
  ratelimits?: LimitsInput["ratelimits"];
  credits?: LimitsInput["credits"];
}

export interface CreatedKey {
  apiKey: string;
  secret: SecretWithOwnerRow;
}

/**
 * POST /v1/secrets/api/keys. The key gets the caller's roles, or the named service account's;
 * either way never more permissions than the caller holds. It lives in the caller's environment.
 */
export async function createKey(
  deps: KeyDeps,
  principal: Principal,
  audit: AuditContext,
  input: CreateKeyInput,
): Promise<CreatedKey> {
  if (input.type === "integration")
    throw validationError(SECRET_MESSAGES.integration, { type: SECRET_MESSAGES.integration });
  const type: KeyType = input.type ?? "private_key";
  const expiresAt = futureExpiry(input.expires_at);
  const limits: LimitsInput = { ratelimits: input.ratelimits, credits: input.credits };
  checkLimitsInput(limits);
  const { db } = deps;
  const created = await db.transaction(async (tx) => {
    const owner =
      input.service_account_id === undefined ? null : await serviceAccountFor(tx, principal, input.service_account_id);
    const roles =
      type === "publishable_key" ? [] : owner ? (JSON.parse(owner.roles) as string[]) : principal.credential.roles;
    if (!principal.permissions.covers(deps.roles.grantsOf(roles))) {
      throw accessDenied(AccessOutcome.PermissionMissing, { required: roles, roles: principal.credential.roles });
    }
    const environment = (await findEnvironment(tx, principal.tenantId, principal.environmentId)) as EnvironmentRow;
    return await issueAudited(
      tx,
      audit,
      {
        tenantId: principal.tenantId,
        environmentId: environment.id,
        environmentType: environment.type,
        userId: owner?.id ?? principal.userId,
        createdBy: principal.userId,
        name: input.name.trim(),
        description: input.description ?? null,
        type,
        roles,
        expiresAt,
      },
      { limits },
    );
  });
  // A hash cannot be in the negative cache unless someone guessed the key, but forget it anyway.
  deps.keyCache.invalidate([created.secret.key_hash]);
  return created;
}

function futureExpiry(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  const at = Date.parse(value);
  if (Number.isNaN(at) || at <= Date.now()) {
    throw validationError(SECRET_MESSAGES.expiresInPast, { expires_at: SECRET_MESSAGES.expiresInPast });
  }
  return new Date(at).toISOString();
}

async function serviceAccountFor(db: Queries, principal: Principal, id: string) {
  if (principal.userType !== "user" && !principal.credential.roles.includes("super_admin")) {
    throw new ApiError(403, "permission_denied", SECRET_MESSAGES.onBehalf);
  }
  const account = (await db.get(
    "SELECT id, roles FROM users WHERE tenant_id = ? AND id = ? AND type = 'service_account' AND status = 'published'",
    principal.tenantId,
    id,
  )) as { id: string; roles: string } | undefined;
  if (!account) throw notFound(SECRET_MESSAGES.serviceAccountNotFound);
  return account;
}

/**
 * Issues a key with its limits and writes its `secret.created` row. A rotation names the key it
 * replaces, whose limits the new key takes over; a creation may give limits of its own.
 */
export async function issueAudited(
  db: Queries,
  audit: AuditContext,
  input: IssueKeyInput,
  from: { rotatedFrom: string } | { limits: LimitsInput },
): Promise<CreatedKey> {
  const { apiKey, secret } = await issueKey(db, input);
  const scope = { tenantId: secret.tenant_id, environmentId: secret.environment_id, ownerId: secret.id };
  const rotatedFrom = "rotatedFrom" in from ? from.rotatedFrom : undefined;
  if ("rotatedFrom" in from) await handOverLimits(db, { ...scope, ownerId: from.rotatedFrom }, scope);
  else if (hasLimits(from.limits)) await replaceLimits(db, scope, from.limits);
  const row = await withOwnerOf(db, secret);
  await recordAudit(db, audit, {
    action: AUDIT.secret.created,
    resourceId: secret.id,
    after: rotatedFrom ? { ...toSecretResponse(row), rotated_from: rotatedFrom } : toSecretResponse(row),
  });
  return { apiKey, secret: row };
}
