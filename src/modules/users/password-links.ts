import type { Queries } from "../../db";
import { ApiError, invalidOperation } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import type { Principal } from "../auth/model";
import { issuePasswordToken, PASSWORD_LINK_TTL_SECONDS } from "../sessions/store";
import { USER_MESSAGES, type UserRow, type UserWithTenantRow } from "./model";
import { type AccountDeps, getAccount, ONLY_USERS_MANAGE_USERS } from "./service";

// A person's one-time set-password link, made again: a new invite link for someone who has not
// chosen a password yet, or a password reset link for someone who has. It is the invite's link
// (purpose set_password): it works once, and a newer one replaces the one before. The person's
// password keeps working until the link is used; using it sets the new one and ends every
// session of the account (completeSetPassword). Tollgate sends no mail: whoever makes the link
// hands it over.

/** How long a reset link works: a day, shorter than an invite's week, since it opens an account in use. */
export const RESET_LINK_TTL_SECONDS = 24 * 3600;

export type PersonLinkKind = "invite" | "reset";

export interface PersonLink {
  account: UserRow;
  kind: PersonLinkKind;
  /** The link's token: shown once, never stored (only its SHA-256). */
  token: string;
  expiresAt: string;
}

/** A person who has an email and no password yet: invited, and has not used the link. */
export function isInvited(account: Pick<UserRow, "type" | "status" | "email" | "password_hash">): boolean {
  return (
    account.type === "user" &&
    account.status === "published" &&
    account.email !== null &&
    account.password_hash === null
  );
}

/**
 * Makes the link for `account`, audited in the same transaction as `user.invite_link_created`
 * or `user.password_reset_link_created` (the link's id and expiry; never its token). Refused
 * for a service account (it has no password), an archived account, and an account without an
 * email (it cannot sign in: the first account before setup gets the setup link instead).
 * Call it inside a write transaction.
 */
export async function issueLinkFor(
  db: Queries,
  account: UserRow,
  audit: AuditContext,
  createdBy: string | null,
): Promise<PersonLink> {
  if (account.type !== "user") throw invalidOperation(USER_MESSAGES.serviceAccountLink, { id: account.id });
  if (account.status !== "published") throw invalidOperation(USER_MESSAGES.archived, { id: account.id });
  if (account.email === null) throw invalidOperation(USER_MESSAGES.noEmailLink, { id: account.id });
  const kind: PersonLinkKind = account.password_hash === null ? "invite" : "reset";
  const { token, row } = await issuePasswordToken(db, {
    purpose: "set_password",
    tenantId: account.tenant_id,
    userId: account.id,
    createdBy,
    ttlSeconds: kind === "reset" ? RESET_LINK_TTL_SECONDS : PASSWORD_LINK_TTL_SECONDS.set_password,
  });
  await recordAudit(db, audit, {
    action: kind === "reset" ? AUDIT.user.password_reset_link_created : AUDIT.user.invite_link_created,
    resourceId: account.id,
    after: { link_id: row.id, email: account.email, expires_at: row.expires_at },
  });
  return { account, kind, token, expiresAt: row.expires_at };
}

/**
 * POST /v1/users/{id}/set-password-link and the dashboard's "New link" / "Reset link": a person
 * with super_admin makes another person's link, as only they invite people. Never their own:
 * a link would let a borrowed session change the password without knowing it (they change
 * theirs with the current one, POST /v1/auth/password).
 */
export async function issuePersonLink(
  deps: AccountDeps,
  principal: Principal,
  audit: AuditContext,
  id: string,
): Promise<PersonLink> {
  if (principal.userType !== "user") throw new ApiError(403, "permission_denied", ONLY_USERS_MANAGE_USERS);
  if (!principal.credential.roles.includes("super_admin")) {
    throw new ApiError(403, "permission_denied", USER_MESSAGES.superAdminLinks);
  }
  const { db } = deps;
  return await db.transaction(async (tx) => {
    const account: UserWithTenantRow = await getAccount(tx, principal.tenantId, id);
    if (account.id === principal.userId) throw invalidOperation(USER_MESSAGES.ownLink);
    return await issueLinkFor(tx, account, audit, principal.userId);
  });
}
