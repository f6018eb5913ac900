import { DEFAULT_TENANT_ID } from "../../config";
import { type Queries, type Store } from "../../db";
import { newId, nowIso } from "../../db/ids";
import { ApiError, invalidOperation } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import { ensureTenant } from "../environments/service";
import { USER_ACCOUNT_ROLES } from "../rbac/roles";
import { retirePasswordTokensOf } from "../sessions/store";
import type { UserRow } from "../users/model";
import { issueLinkFor, type PersonLink } from "../users/password-links";
import { findPersonByEmail, findUser, toUserResponse } from "../users/service";
import { accountsByEmail, canSignIn, emailSignsInElsewhere, storePasswordHash } from "./accounts";
import { SignInOutcome, signInRefused } from "./model";

const COMMAND = "tollgate users create";
const RESET_COMMAND = "tollgate users reset-password";

export interface OperatorPerson {
  account: UserRow;
  /** False when an invited account of that email, without a password yet, got this one. */
  created: boolean;
}

/**
 * `tollgate users create --email E [--tenant T]`: an operator on the machine that holds the
 * store gives a person a user account that signs in with `passwordHash` (argon2id, made by the
 * caller from a password read from stdin or a prompt, never an argument). The tenant is created,
 * with its two environments, if it does not exist. An invited account of that email that has no
 * password yet gets this one instead of a second account. Audited with the actor `system`.
 * Refusals are ApiErrors of the sign-in outcome table (SIGN_IN_RESPONSES), with the account's
 * `user_id` and `email` in their details for the console to name.
 */
export async function createOperatorPerson(
  db: Store,
  input: { tenantId: string; email: string; name?: string; passwordHash: string },
): Promise<OperatorPerson> {
  const email = input.email.trim();
  return await db.transaction(async (tx): Promise<OperatorPerson> => {
    await ensureTenant(tx, input.tenantId, input.tenantId === DEFAULT_TENANT_ID ? "Default Tenant" : input.tenantId);
    const audit = await operatorAudit(tx, input.tenantId, COMMAND);
    const existing = (await tx.get(
      "SELECT * FROM users WHERE tenant_id = ? AND lower(email) = lower(?) AND email IS NOT NULL",
      input.tenantId,
      email,
    )) as UserRow | undefined;
    const which = existing && { user_id: existing.id, email: existing.email };
    if (existing?.password_hash) throw signInRefused(SignInOutcome.AccountHasPassword, which);
    if (existing && existing.status !== "published") throw signInRefused(SignInOutcome.AccountArchived, which);
    if (await emailSignsInElsewhere(tx, email, existing?.id ?? null)) {
      throw signInRefused(SignInOutcome.EmailSignsInElsewhere, { email });
    }
    let id = existing?.id;
    if (id === undefined) {
      id = newId("usr");
      const now = nowIso();
      await tx.run(
        `INSERT INTO users (id, tenant_id, type, name, email, roles, status, created_at, updated_at)
           VALUES (?, ?, 'user', ?, ?, ?, 'published', ?, ?)`,
        id,
        input.tenantId,
        input.name?.trim() || email,
        email,
        JSON.stringify(USER_ACCOUNT_ROLES),
        now,
        now,
      );
      const created = await findUser(tx, input.tenantId, id);
      await recordAudit(tx, audit, {
        action: AUDIT.user.created,
        resourceId: id,
        after: created ? toUserResponse(created) : null,
      });
    }
    await storePasswordHash(tx, input.tenantId, id, input.passwordHash);
    await retirePasswordTokensOf(tx, input.tenantId, id);
    const account = (await findUser(tx, input.tenantId, id)) as UserRow;
    await recordAudit(tx, audit, {
      action: AUDIT.user.password_set,
      resourceId: id,
      after: { email: account.email, name: account.name, via: COMMAND },
    });
    return { account, created: existing === undefined };
  });
}

/**
 * `tollgate users reset-password --email E [--tenant T]`: the way back in for a person who lost
 * their password, the only admin included, from a shell on the machine that holds the store. A
 * one-time set-password link (users/password-links.ts: a reset link, or a new invite link for
 * someone who never set a password), audited with the actor `system`. Without a tenant, the
 * account this email signs in to, or the only one that has it. Refusals are ApiErrors with the
 * account's `user_id` and `email` in their details for the console to name; nothing is changed.
 */
export async function issueOperatorLink(db: Store, input: { email: string; tenantId?: string }): Promise<PersonLink> {
  const email = input.email.trim();
  return await db.transaction(async (tx): Promise<PersonLink> => {
    const inTenant = input.tenantId === undefined ? undefined : await findPersonByEmail(tx, input.tenantId, email);
    const candidates = input.tenantId === undefined ? await accountsByEmail(tx, email) : inTenant ? [inTenant] : [];
    const account = candidates.find(canSignIn) ?? candidates[0];
    if (account === undefined) {
      const where = input.tenantId === undefined ? "" : ` in tenant ${input.tenantId}`;
      throw new ApiError(404, "not_found", `No user account has this email${where}`, { email });
    }
    if (!canSignIn(account) && candidates.length > 1) {
      throw invalidOperation("Accounts of several tenants have this email; name one with --tenant", { email });
    }
    const which = { user_id: account.id, email: account.email };
    if (account.status !== "published") throw signInRefused(SignInOutcome.AccountArchived, which);
    return await issueLinkFor(tx, account, await operatorAudit(tx, account.tenant_id, RESET_COMMAND), null);
  });
}

async function operatorAudit(db: Queries, tenantId: string, command: string): Promise<AuditContext> {
  const environmentId = (await db.value(
    "SELECT id FROM environments WHERE tenant_id = ? AND is_default = 1",
    tenantId,
  )) as string | undefined;
  return {
    tenantId,
    environmentId: environmentId ?? null,
    actor: { type: "system", id: null, name: command },
    credentialId: null,
    requestId: null,
    ip: null,
    userAgent: null,
  };
}
