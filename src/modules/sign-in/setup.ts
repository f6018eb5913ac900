import { DEFAULT_TENANT_ID, DEFAULT_USER_ID } from "../../config";
import { type Queries, type Store } from "../../db";
import { newId, nowIso } from "../../db/ids";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import { ensureTenant } from "../environments/service";
import {
  issuePasswordToken,
  markPasswordTokenUsed,
  PASSWORD_LINK_TTL_SECONDS,
  passwordLinkUrl,
} from "../sessions/store";
import { DEFAULT_USER_NAME, ensureUserAccount } from "../users/service";
import { emailTakenInTenant, isUniqueViolation, someoneCanSignIn, storePasswordHash } from "./accounts";
import { type RequestFacts, SignInOutcome, signInRefused } from "./model";
import { linkInfo, liveLink, type PasswordLinkInfo } from "./passwords";
import { personAudit, type SignedIn, type SignInDeps, startSession } from "./sign-in";

// The first person (SPEC §10): while no user account has a password, `tollgate serve` prints a
// one-time link, valid for an hour, that sets the email and password of the first account of
// the default tenant. A newer link replaces an older one; once anyone can sign in (through
// this link, `tollgate users create` or an invite), no link is made and none works.

export interface SetupLink {
  url: string;
  expiresAt: string;
}

/**
 * The default tenant's first live user account (its oldest); made, with the tenant and its two
 * environments, when there is none (a config that names other tenants only).
 */
async function firstAccount(db: Queries): Promise<string> {
  await ensureTenant(db, DEFAULT_TENANT_ID, "Default Tenant");
  const first = (await db.value(
    `SELECT id FROM users WHERE tenant_id = ? AND type = 'user' AND status = 'published'
     ORDER BY created_at, id LIMIT 1`,
    DEFAULT_TENANT_ID,
  )) as string | undefined;
  if (first !== undefined) return first;
  const taken = (await db.value("SELECT 1 FROM users WHERE id = ?", DEFAULT_USER_ID)) !== undefined;
  const id = taken ? newId("usr") : DEFAULT_USER_ID;
  await ensureUserAccount(db, DEFAULT_TENANT_ID, id, DEFAULT_USER_NAME);
  return id;
}

/**
 * A new setup link for the console, or null when someone can already sign in. `baseUrl` is
 * where people reach the server (server.public_url, else where it listens: `http://127.0.0.1:8080`).
 */
export async function issueSetupLink(db: Store, options: { baseUrl: string; now?: number }): Promise<SetupLink | null> {
  return await db.transaction(async (tx) => {
    if (await someoneCanSignIn(tx)) return null;
    const { token, row } = await issuePasswordToken(tx, {
      purpose: "setup",
      tenantId: DEFAULT_TENANT_ID,
      userId: await firstAccount(tx),
      createdBy: null,
      ttlSeconds: PASSWORD_LINK_TTL_SECONDS.setup,
      now: options.now,
    });
    return { url: passwordLinkUrl(options.baseUrl, "setup", token), expiresAt: row.expires_at };
  });
}

async function setupLinkOf(db: Queries, token: string) {
  const live = await liveLink(db, token, "setup", SignInOutcome.SetupLinkInvalid);
  if (await someoneCanSignIn(db)) throw signInRefused(SignInOutcome.SetupLinkInvalid);
  return live;
}

/** Reads the setup link for the page that asks for the email and password. 401 when it cannot be used. */
export async function verifySetupToken(db: Queries, token: string): Promise<PasswordLinkInfo> {
  const { link, account } = await setupLinkOf(db, token);
  return linkInfo(link, account);
}

/**
 * POST /v1/auth/setup: sets the first account's email, password and (optionally) name, uses
 * the link up, and signs the person in. Without a name, the account keeps its own, except the
 * placeholder "Default User", which becomes the email. Audited as `user.password_set`, with the email and
 * name before and after.
 */
export async function completeSetup(
  deps: SignInDeps,
  input: { token: string; email: string; password: string; name?: string },
  facts: RequestFacts,
): Promise<SignedIn> {
  await setupLinkOf(deps.db, input.token);
  const hash = await deps.passwords.hash(input.password);
  const email = input.email.trim();
  const { db } = deps;
  try {
    const signedIn = await db.transaction(async (tx) => {
      const { link, account } = await setupLinkOf(tx, input.token);
      if (await emailTakenInTenant(tx, account.tenant_id, email, account.id))
        throw signInRefused(SignInOutcome.EmailTaken);
      if (!(await markPasswordTokenUsed(tx, link.id))) throw signInRefused(SignInOutcome.SetupLinkInvalid);
      // No name given: the one the account has, unless that is the placeholder, which the email replaces.
      const name = input.name?.trim() ?? (account.name === DEFAULT_USER_NAME ? email : account.name);
      await tx.run(
        "UPDATE users SET email = ?, name = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
        email,
        name,
        nowIso(),
        account.tenant_id,
        account.id,
      );
      await storePasswordHash(tx, account.tenant_id, account.id, hash);
      const updated = { ...account, email, name };
      await recordAudit(tx, await personAudit(tx, updated, facts, link.id), {
        action: AUDIT.user.password_set,
        resourceId: account.id,
        before: { email: account.email, name: account.name },
        after: { email, name, via: "setup_link" },
      });
      return await startSession(deps, tx, updated, facts);
    });
    deps.profiles.invalidate(signedIn.account.tenant_id, signedIn.account.id);
    return signedIn;
  } catch (error) {
    if (isUniqueViolation(error)) throw signInRefused(SignInOutcome.EmailTaken);
    throw error;
  }
}
