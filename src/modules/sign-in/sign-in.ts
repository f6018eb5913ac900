import type { Static } from "elysia";
import type { Config } from "../../config";
import type { Queries, Store } from "../../db";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import type { KeyCache } from "../auth/key-cache";
import type { Principal } from "../auth/model";
import type { VerifiedKey } from "../auth/service";
import type { EnvironmentDirectory } from "../environments/service";
import type { SignInLimiter } from "../sessions/limiter";
import type { Passwords } from "../sessions/passwords";
import { insertSession, revokeSession, type SessionRow } from "../sessions/store";
import type { UserRow } from "../users/model";
import type { ProfileCache } from "../users/profile-cache";
import { accountsByEmail, canSignIn, currentPasswordHash } from "./accounts";
import { type AuthResponseSchema, type RequestFacts, SignInOutcome, signInRefused, tooManyAttempts } from "./model";

/** What the sign-in flows use of a running Tollgate (AppContext has all of it). */
export interface SignInDeps {
  db: Store;
  config: Config;
  environments: EnvironmentDirectory;
  /** Verified sessions: whatever revokes one evicts it here before answering. */
  sessionCache: KeyCache<VerifiedKey>;
  profiles: ProfileCache;
  passwords: Passwords;
  signInLimiter: SignInLimiter;
}

/** The account a session belongs to, as the sign-in flows need it. */
export type SessionAccount = Pick<UserRow, "id" | "tenant_id" | "name" | "email">;

/** A person just signed in: the session's token (handed over once) and what it opens. */
export interface SignedIn {
  token: string;
  session: SessionRow;
  account: SessionAccount;
}

export function toAuthResponse(signedIn: SignedIn): Static<typeof AuthResponseSchema> {
  return {
    token: signedIn.token,
    user_id: signedIn.account.id,
    tenant_id: signedIn.account.tenant_id,
    expires_at: signedIn.session.expires_at,
  };
}

/**
 * The audit context of a person acting on their own account without a credential yet (signing
 * in, using a link): the account is the actor, its tenant's default environment the place.
 */
export async function personAudit(
  q: Queries,
  account: SessionAccount,
  facts: RequestFacts,
  credentialId: string | null = null,
): Promise<AuditContext> {
  const place = await q.value<string>(
    "SELECT id FROM environments WHERE tenant_id = ? AND is_default = 1",
    account.tenant_id,
  );
  return {
    tenantId: account.tenant_id,
    environmentId: place ?? null,
    actor: { type: "user", id: account.id, name: account.name },
    credentialId,
    requestId: facts.requestId,
    ip: facts.address,
    userAgent: facts.userAgent,
  };
}

/**
 * Opens a session for the account and audits `user.signed_in`. Call it inside the transaction
 * that decided the person may sign in.
 */
export async function startSession(
  deps: SignInDeps,
  tx: Queries,
  account: SessionAccount,
  facts: RequestFacts,
): Promise<SignedIn> {
  const { token, session } = await insertSession(tx, {
    tenantId: account.tenant_id,
    userId: account.id,
    ttlSeconds: deps.config.auth.session.ttl_seconds,
  });
  await recordAudit(tx, await personAudit(tx, account, facts, session.id), {
    action: AUDIT.user.signed_in,
    resourceId: account.id,
    after: { session_id: session.id, expires_at: session.expires_at },
  });
  return { token, session, account };
}

/** Why a failed sign-in of an existing account failed, for its audit row. */
function failureReason(account: UserRow): string {
  if (account.status !== "published") return "account_archived";
  if (account.password_hash === null) return "no_password";
  return "wrong_password";
}

/**
 * POST /v1/auth/login (and the dashboard's sign-in form). One answer for every failure:
 * unknown email, wrong password, archived account, account without a password (service
 * accounts have neither email nor password), each after verifying exactly one hash (see
 * Passwords.check). Limited per address and per email before anything is checked.
 *
 * A failure against an existing account is audited in its tenant (`user.sign_in_failed`, with
 * the email as typed, never the password); an unknown email belongs to no tenant and is only
 * counted. Refused attempts (429) write nothing, so a flood cannot fill the disk.
 */
export async function signIn(
  deps: SignInDeps,
  input: { email: string; password: string },
  facts: RequestFacts,
): Promise<SignedIn> {
  const admission = await deps.signInLimiter.admit(facts.address, input.email);
  if ("retryAfterSeconds" in admission) throw tooManyAttempts(admission.retryAfterSeconds);
  const { attempt } = admission;
  try {
    const candidates = await accountsByEmail(deps.db, input.email);
    const account = candidates.find(canSignIn);
    const hash = account?.password_hash ?? null;
    const matches = await deps.passwords.check(input.password, hash);
    const signedIn =
      account && matches
        ? await deps.db.transaction(async (tx) => {
            // The password may have changed, or the account been archived, while the hash was checked.
            if ((await currentPasswordHash(tx, account.tenant_id, account.id)) !== hash) return undefined;
            return await startSession(deps, tx, account, facts);
          })
        : undefined;
    if (signedIn) return signedIn;
    await attempt.failed();
    const known = account ?? candidates[0];
    if (known) {
      // Whoever tried is not known to be the account's person: the actor is left unnamed.
      const audit = await personAudit(deps.db, known, facts);
      await recordAudit(
        deps.db,
        { ...audit, actor: { type: "user", id: null, name: null } },
        {
          action: AUDIT.user.sign_in_failed,
          resourceId: known.id,
          after: { email: input.email, reason: failureReason(known) },
        },
      );
    }
    throw signInRefused(SignInOutcome.InvalidCredentials);
  } finally {
    // A success, or a failure of the store rather than of the person: not counted.
    await attempt.succeeded();
  }
}

/** POST /v1/auth/logout: ends the session the request used; it fails from the next request on. */
export async function signOut(deps: SignInDeps, principal: Principal, audit: AuditContext): Promise<void> {
  if (principal.credential.kind !== "session") throw signInRefused(SignInOutcome.NoSession);
  const { db } = deps;
  const hash = await db.transaction(async (tx) => {
    const revoked = await revokeSession(tx, principal.tenantId, principal.credential.id);
    if (revoked === undefined) return undefined;
    await recordAudit(tx, audit, {
      action: AUDIT.user.signed_out,
      resourceId: principal.userId,
      after: { session_id: principal.credential.id },
    });
    return revoked;
  });
  if (hash !== undefined) deps.sessionCache.invalidate([hash]);
}
