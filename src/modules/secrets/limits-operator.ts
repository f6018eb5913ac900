import type { Queries, Store } from "../../db";
import { ApiError } from "../../http/errors";
import { checkLike } from "../../http/validation";
import type { AuditContext } from "../audit/model";
import { AUDIT, type AuditAction } from "../audit/actions";
import { recordAudit } from "../audit/service";
import type { EnvironmentRow } from "../environments/model";
import {
  type Limits,
  LimitsBody,
  type LimitsInput,
  type LimitsScope,
  LIMITS_MESSAGES,
  type RateLimit,
} from "../limits/model";
import { joinedLimits, limitsOf, readLimits } from "../limits/read";
import { checkLimitsInput, replaceLimits } from "../limits/update";
import type { SecretWithOwnerRow } from "./model";
import { environmentOf, OperatorError, operatorAudit } from "./operator";
import { WITH_OWNER } from "./read";

// The CLI's `tollgate keys limits | set-limit | remove-limit | set-credits`: an operator on the
// machine that holds the store, on any key of any tenant (and the pieces the `users` ones share,
// in ../users/limits-operator.ts). A change goes through the same checks and the same
// replaceLimits as PUT /v1/secrets/api/keys/{id}/limits, audited with the actor `system` named
// after the command; a server running on the store drops the key from its cache
// when the triggers of migration 019 move the credential generation.

/** A key by id; when the operator names a tenant or an environment, it must be there. */
export interface OperatorKeyRef {
  id: string;
  tenantId?: string;
  environment?: string;
}

async function operatorKey(db: Queries, ref: OperatorKeyRef): Promise<SecretWithOwnerRow> {
  const key = (await db.get(`${WITH_OWNER} WHERE s.id = ?`, ref.id)) as SecretWithOwnerRow | undefined;
  if (!key || (ref.tenantId !== undefined && key.tenant_id !== ref.tenantId)) {
    throw new OperatorError(`No API key ${ref.id}${ref.tenantId === undefined ? "" : ` in tenant ${ref.tenantId}`}`);
  }
  if (ref.environment !== undefined) {
    const environment = await environmentOf(db, key.tenant_id, ref.environment);
    if (environment.id !== key.environment_id) {
      throw new OperatorError(`API key ${ref.id} is not of environment ${ref.environment} in tenant ${key.tenant_id}`);
    }
  }
  return key;
}

export interface OperatorKeyLimits {
  key: SecretWithOwnerRow;
  environment: EnvironmentRow;
  /** The key's own limits. */
  limits: Limits;
  /** Its service account's, shared by its keys in this environment (a person's key: null). */
  account: Limits | null;
}

/** `tollgate keys limits`: a key's own limits and credits, and those its service account shares. */
export async function operatorKeyLimits(db: Queries, ref: OperatorKeyRef): Promise<OperatorKeyLimits> {
  const key = await operatorKey(db, ref);
  const environment = await environmentOf(db, key.tenant_id, key.environment_id);
  const account =
    key.owner_type === "service_account"
      ? await readLimits(db, { tenantId: key.tenant_id, environmentId: key.environment_id, ownerId: key.user_id })
      : null;
  return { key, environment, limits: limitsOf(joinedLimits(key)), account };
}

/** The owner's limits with `limit` set: the one of the same name replaced, or added after the others. */
export function withRateLimit(limits: Limits, limit: RateLimit): LimitsInput {
  const replaced = limits.ratelimits.some((own) => own.name === limit.name);
  return {
    ratelimits: replaced
      ? limits.ratelimits.map((own) => (own.name === limit.name ? limit : own))
      : [...limits.ratelimits, limit],
  };
}

/** The owner's limits without the one named `name`, which it must have; `owner` names it in the refusal. */
export function withoutRateLimit(limits: Limits, name: string, owner: string): LimitsInput {
  if (!limits.ratelimits.some((own) => own.name === name)) {
    const names = limits.ratelimits.map((own) => own.name).join(", ");
    throw new OperatorError(
      `${owner} has no rate limit ${name} (${names === "" ? "it has none" : `its limits: ${names}`})`,
    );
  }
  return { ratelimits: limits.ratelimits.filter((own) => own.name !== name) };
}

/**
 * In the caller's transaction: an owner's limits changed to what `change` makes of `current`,
 * held to the API's rules (its schema, then checkLimitsInput), so that a refusal is the API's
 * own sentence and nothing is written; audited as `action` on `resourceId`.
 */
export async function replaceOperatorLimits(
  tx: Queries,
  scope: LimitsScope,
  current: Limits,
  change: (limits: Limits) => LimitsInput,
  audit: { context: AuditContext; action: AuditAction; resourceId: string },
): Promise<{ before: Limits; after: Limits }> {
  const input = change(current);
  try {
    checkLimitsInput(checkLike(LimitsBody, input));
  } catch (error) {
    if (error instanceof ApiError) throw new OperatorError(error.message);
    throw error;
  }
  const { before, after } = await replaceLimits(tx, scope, input);
  await recordAudit(tx, audit.context, { action: audit.action, resourceId: audit.resourceId, before, after });
  return { before, after };
}

/**
 * Changes a key's limits to what `change` makes of its current ones, in one transaction (see
 * replaceOperatorLimits). Answers the key's limits before and after.
 */
export async function changeOperatorKeyLimits(
  db: Store,
  id: string,
  command: string,
  change: (limits: Limits) => LimitsInput,
): Promise<{ key: SecretWithOwnerRow; before: Limits; after: Limits }> {
  return await db.transaction(async (tx) => {
    const key = await operatorKey(tx, { id });
    if (key.status === "deleted" || key.owner_status !== "published") {
      throw new OperatorError(LIMITS_MESSAGES.archived);
    }
    const scope = { tenantId: key.tenant_id, environmentId: key.environment_id, ownerId: key.id };
    const { before, after } = await replaceOperatorLimits(tx, scope, limitsOf(joinedLimits(key)), change, {
      context: operatorAudit(key.tenant_id, key.environment_id, command),
      action: AUDIT.secret.limits_updated,
      resourceId: key.id,
    });
    return { key, before, after };
  });
}
