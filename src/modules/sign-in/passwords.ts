import type { Queries } from "../../db";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import { AccessOutcome, accessDenied, type Principal } from "../auth/model";
import {
  findPasswordToken,
  markPasswordTokenUsed,
  type PasswordTokenRow,
  retirePasswordTokensOf,
  revokeSessionsOf,
} from "../sessions/store";
import type { UserWithTenantRow } from "../users/model";
import { findUser } from "../users/service";
import { currentPasswordHash, emailSignsInElsewhere, isUniqueViolation, storePasswordHash } from "./accounts";
import { type RequestFacts, SignInOutcome, signInRefused, tooManyAttempts } from "./model";
import { personAudit, type SignedIn, type SignInDeps, startSession } from "./sign-in";

/**
 * POST /v1/auth/password: a person changes their own password, proving the current one. Every
 * session of the account is revoked at once (the one that asked too: sign in again), as is any
 * unused set-password link. A wrong current password counts as a failed sign-in: from a
 * session, against that (address, session) only (see SignInLimiter.beginForSession), else
 * against the account's email like a sign-in, so a stolen credential cannot be used to guess it.
 *
 * Any private credential acting as a user account may call it (a session, the account's key, a
 * config key); a service account's credential, whatever its roles, gets 403 `Service accounts
 * have no password`, and a publishable key 403 as on every route that changes something.
 */
export async function changePassword(
  deps: SignInDeps,
  principal: Principal,
  audit: AuditContext,
  input: { current_password: string; new_password: string },
  facts: RequestFacts,
): Promise<void> {
  await changeOwnPassword(deps, principal, audit, input, facts, false);
}

/**
 * The dashboard's change of password: as changePassword, every session of the account ends (the
 * one that asked too), and in the same transaction this browser gets a new session, audited as
 * `user.signed_in`. GitHub and Stripe keep the browser that changed the password signed in and
 * sign out every other, and so does this: being sent to sign-in right after proving the
 * password helps no one. It is a new session rather than the old one kept: whoever may have
 * copied the old one's token loses it with the rest.
 */
export async function changePasswordHere(
  deps: SignInDeps,
  principal: Principal,
  audit: AuditContext,
  input: { current_password: string; new_password: string },
  facts: RequestFacts,
): Promise<SignedIn> {
  const signedIn = await changeOwnPassword(deps, principal, audit, input, facts, true);
  if (!signedIn) throw new Error("a change of password that continues signed in opens a session");
  return signedIn;
}

async function changeOwnPassword(
  deps: SignInDeps,
  principal: Principal,
  audit: AuditContext,
  input: { current_password: string; new_password: string },
  facts: RequestFacts,
  continueHere: boolean,
): Promise<SignedIn | undefined> {
  // The route admits any principal (SPEC §2's "authenticated"); what may not change a password
  // is refused here: a publishable key (it changes nothing anywhere), a service account's
  // credential whatever its roles (it has no password).
  if (principal.credential.type === "publishable_key") throw accessDenied(AccessOutcome.PublishableKeyRefused);
  if (principal.userType !== "user") throw signInRefused(SignInOutcome.NotAPerson);
  const { db } = deps;
  const account = await findUser(db, principal.tenantId, principal.userId);
  if (!account || account.password_hash === null || account.email === null) {
    throw signInRefused(SignInOutcome.NoPasswordYet);
  }
  // From a session, the attempt counts against (address, session) only: a guesser who locked
  // the email cannot keep its owner from changing it. Any other credential (a key acting as the
  // account) counts like a sign-in of its email.
  const admission =
    principal.credential.kind === "session"
      ? deps.signInLimiter.beginForSession(facts.address, principal.credential.id)
      : await deps.signInLimiter.admit(facts.address, account.email);
  if ("retryAfterSeconds" in admission) throw tooManyAttempts(admission.retryAfterSeconds);
  const { attempt } = admission;
  let revoked: string[];
  let signedIn: SignedIn | undefined;
  try {
    if (!(await deps.passwords.check(input.current_password, account.password_hash))) {
      await attempt.failed();
      throw signInRefused(SignInOutcome.CurrentPasswordWrong);
    }
    const newHash = await deps.passwords.hash(input.new_password);
    ({ revoked, signedIn } = await db.transaction(async (tx) => {
      // Changed meanwhile (another change won): the current password proven is no longer current.
      if ((await currentPasswordHash(tx, account.tenant_id, account.id)) !== account.password_hash) {
        throw signInRefused(SignInOutcome.CurrentPasswordWrong);
      }
      await storePasswordHash(tx, account.tenant_id, account.id, newHash);
      await retirePasswordTokensOf(tx, account.tenant_id, account.id);
      const hashes = await revokeSessionsOf(tx, account.tenant_id, account.id);
      await recordAudit(tx, audit, {
        action: AUDIT.user.password_changed,
        resourceId: account.id,
        after: { sessions_revoked: hashes.length },
      });
      return { revoked: hashes, signedIn: continueHere ? await startSession(deps, tx, account, facts) : undefined };
    }));
  } finally {
    await attempt.succeeded();
  }
  deps.sessionCache.invalidate(revoked);
  return signedIn;
}

/** What the page behind a link shows before the person chooses a password. */
export interface PasswordLinkInfo {
  user_id: string;
  tenant_id: string;
  name: string;
  email: string | null;
  expires_at: string;
}

/** A live link token of this purpose and the live user account it sets the password of. */
export async function liveLink(
  db: Queries,
  token: string,
  purpose: PasswordTokenRow["purpose"],
  refusal: SignInOutcome,
): Promise<{ link: PasswordTokenRow; account: UserWithTenantRow }> {
  const link = await findPasswordToken(db, token, purpose);
  const account = link && (await findUser(db, link.tenant_id, link.user_id));
  if (!link || !account || account.type !== "user" || account.status !== "published") throw signInRefused(refusal);
  return { link, account };
}

export function linkInfo(link: PasswordTokenRow, account: UserWithTenantRow): PasswordLinkInfo {
  return {
    user_id: account.id,
    tenant_id: account.tenant_id,
    name: account.name,
    email: account.email,
    expires_at: link.expires_at,
  };
}

/**
 * Reads a set-password link (an invite's, or a reset's) for the page that asks for the password.
 * 401 when it cannot be used. `replaces_password`: the account has one (a reset link).
 */
export async function verifySetPasswordToken(
  deps: Pick<SignInDeps, "db">,
  token: string,
): Promise<PasswordLinkInfo & { replaces_password: boolean }> {
  const { link, account } = await liveLink(deps.db, token, "set_password", SignInOutcome.SetPasswordLinkInvalid);
  return { ...linkInfo(link, account), replaces_password: account.password_hash !== null };
}

/**
 * POST /v1/auth/set-password: the person sets their password with the link's token, once, and
 * is signed in. The link is an invite's, or a reset's for an account that has a password
 * (users/password-links.ts): either way every other session of the account ends. Audited as
 * `user.password_set` (`via` says which link; then `user.signed_in`). Their email must not
 * already sign in to another account (409), since sign-in is by email alone.
 */
export async function completeSetPassword(
  deps: SignInDeps,
  input: { token: string; password: string },
  facts: RequestFacts,
): Promise<SignedIn> {
  const refusal = SignInOutcome.SetPasswordLinkInvalid;
  await liveLink(deps.db, input.token, "set_password", refusal);
  const hash = await deps.passwords.hash(input.password);
  const { db } = deps;
  try {
    const { signedIn, revoked } = await db.transaction(async (tx) => {
      // Checked again inside the write: two requests racing with one link, one wins.
      const { link, account } = await liveLink(tx, input.token, "set_password", refusal);
      if (account.email !== null && (await emailSignsInElsewhere(tx, account.email, account.id))) {
        throw signInRefused(SignInOutcome.EmailSignsInElsewhere);
      }
      if (!(await markPasswordTokenUsed(tx, link.id))) throw signInRefused(refusal);
      await storePasswordHash(tx, account.tenant_id, account.id, hash);
      const revoked = await revokeSessionsOf(tx, account.tenant_id, account.id);
      const person = { email: account.email, name: account.name };
      await recordAudit(tx, await personAudit(tx, account, facts, link.id), {
        action: AUDIT.user.password_set,
        resourceId: account.id,
        before: person,
        after: {
          ...person,
          via: account.password_hash === null ? "set_password_link" : "password_reset_link",
          sessions_revoked: revoked.length,
        },
      });
      return { signedIn: await startSession(deps, tx, account, facts), revoked };
    });
    deps.sessionCache.invalidate(revoked);
    return signedIn;
  } catch (error) {
    if (isUniqueViolation(error)) throw signInRefused(SignInOutcome.EmailSignsInElsewhere);
    throw error;
  }
}
