import { newId, nowIso } from "../../db/ids";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import { ensureTenant } from "../environments/service";
import { USER_ACCOUNT_ROLES } from "../rbac/roles";
import { findUser, toUserResponse } from "../users/service";
import { emailSignsInElsewhere, isUniqueViolation } from "./accounts";
import { type RequestFacts, SignInOutcome, signInRefused, tooManyAttempts } from "./model";
import { personAudit, type SignedIn, type SignInDeps, startSession } from "./sign-in";

/** Whether POST /v1/auth/signup is on (auth.signup.enabled); refused with 403 when it is not. */
export function assertSignupEnabled(deps: Pick<SignInDeps, "config">): void {
  if (!deps.config.auth.signup.enabled) throw signInRefused(SignInOutcome.SignupDisabled);
}

/**
 * POST /v1/auth/signup, when auth.signup.enabled is on: a new tenant with its two environments
 * (Development, the default, and Production) and a user account that signs in with this email
 * and password; answered like login. Audited in the new tenant as `user.created` by the
 * person themself, then `user.signed_in`. An email that already signs in anywhere is a 409.
 * Every attempt counts against the client address's sign-in limit (429 past it).
 */
export async function signUp(
  deps: SignInDeps,
  input: { email: string; password: string; tenant_name?: string },
  facts: RequestFacts,
): Promise<SignedIn> {
  assertSignupEnabled(deps);
  // Every attempt counts against the address, whatever its outcome: each costs a hash, and a
  // 409 says an email signs in somewhere (see the README's sign-up paragraph).
  const admission = deps.signInLimiter.beginSignUp(facts.address);
  if ("retryAfterSeconds" in admission) throw tooManyAttempts(admission.retryAfterSeconds);
  const email = input.email.trim();
  const { db } = deps;
  if (await emailSignsInElsewhere(db, email, null)) throw signInRefused(SignInOutcome.EmailTaken);
  const hash = await deps.passwords.hash(input.password);
  try {
    return await db.transaction(async (tx) => {
      if (await emailSignsInElsewhere(tx, email, null)) throw signInRefused(SignInOutcome.EmailTaken);
      const tenantId = newId("tenant");
      await ensureTenant(tx, tenantId, input.tenant_name?.trim() ?? email);
      const id = newId("usr");
      const now = nowIso();
      await tx.run(
        `INSERT INTO users (id, tenant_id, type, name, email, password_hash, roles, status, created_by, created_at, updated_at)
           VALUES (?, ?, 'user', ?, ?, ?, ?, 'published', ?, ?, ?)`,
        id,
        tenantId,
        email,
        email,
        hash,
        JSON.stringify(USER_ACCOUNT_ROLES),
        id,
        now,
        now,
      );
      const account = await findUser(tx, tenantId, id);
      if (!account) throw new Error("account not found after insert");
      await recordAudit(tx, await personAudit(tx, account, facts), {
        action: AUDIT.user.created,
        resourceId: id,
        after: { ...toUserResponse(account), via: "signup" },
      });
      return await startSession(deps, tx, account, facts);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw signInRefused(SignInOutcome.EmailTaken);
    throw error;
  }
}
