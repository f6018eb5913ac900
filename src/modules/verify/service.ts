import type { Static } from "elysia";
import type { AppContext } from "../../context";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import type { Admission, Principal } from "../auth/model";
import type { VerifiedKey } from "../auth/service";
import { VERIFY_CODES, VerifyCode, type VerifyKeyBody, type VerifyKeyResponse } from "./model";

export type VerifyInput = Static<typeof VerifyKeyBody>;
export type Verification = Static<typeof VerifyKeyResponse>;

const NOT_FOUND: Verification = { valid: false, code: VerifyCode.NotFound };

/**
 * POST /v1/keys/verify (SPEC §13): may this key, presented to the caller's service, do this?
 * Checked in order, each refusal ending the check: the key exists, is of the caller's tenant and
 * environment (else NOT_FOUND, whatever it is elsewhere), is active, has not expired; then it
 * holds every permission asked for. Only a stored key is judged: config keys belong to no
 * environment and are never a service's callers.
 */
export async function verifyKey(app: AppContext, caller: Principal, input: VerifyInput): Promise<Verification> {
  const { key, refusal } = await app.authenticator.inspectKey(input.key);
  if (
    key === null ||
    key.credential.kind !== "api_key" ||
    key.tenantId !== caller.tenantId ||
    key.environmentId !== caller.environmentId
  ) {
    return NOT_FOUND;
  }
  if (refusal !== null) return describe(app, key, VERIFY_CODES[refusal] ?? VerifyCode.NotFound);
  const missing = (input.permissions ?? []).some((permission) => !key.permissions.allows(permission));
  if (missing) return describe(app, key, VerifyCode.InsufficientPermissions);
  app.authenticator.noteUse(key);
  // Then its rate limits and its credits (SPEC §13 order), all or nothing.
  if (key.limits === null) return describe(app, key, VerifyCode.Valid);
  const admission = await app.limiter.admit(key.limits, {
    named: (input.ratelimits ?? []).map((limit) => ({ name: limit.name, cost: limit.cost ?? 1 })),
    credits: input.credits?.cost ?? 1,
  });
  const code = admission.refusal === null ? VerifyCode.Valid : (VERIFY_CODES[admission.refusal] as VerifyCode);
  return describe(app, key, code, admission);
}

async function describe(
  app: AppContext,
  key: VerifiedKey,
  code: VerifyCode,
  admission?: Admission,
): Promise<Verification> {
  const profile = await app.profiles.get(app.db, key.tenantId, key.userId);
  return {
    valid: code === VerifyCode.Valid,
    code,
    key_id: key.credential.id,
    account: { id: key.userId, type: key.userType, name: profile?.name ?? null },
    tenant_id: key.tenantId,
    environment_id: key.environmentId as string,
    roles: key.credential.roles,
    permissions: key.permissions.list(),
    expires_at: key.credential.expiresAt,
    ratelimits: admission?.ratelimits ?? [],
    credits: admission?.credits ?? null,
  };
}

/**
 * A verification asked for by a person (the dashboard's "Verify a key"): the same answer, and an
 * audit row `secret.verified` naming the key found (never the key itself) and the code.
 */
export async function verifyKeyAudited(
  app: AppContext,
  caller: Principal,
  audit: AuditContext,
  input: VerifyInput,
): Promise<Verification> {
  const result = await verifyKey(app, caller, input);
  await app.db.transaction((tx) =>
    recordAudit(tx, audit, {
      action: AUDIT.secret.verified,
      resourceId: result.key_id ?? "unknown",
      before: null,
      after: { code: result.code, permissions: input.permissions ?? [] },
    }),
  );
  return result;
}
