import type { AppContext } from "../../../context";
import type { ApiError } from "../../../http/errors";
import { publicBaseUrl } from "../../../http/urls";
import { checkLike } from "../../../http/validation";
import { passwordLinkUrl } from "../../sessions/store";
import { CreateUserBody, UpdateRolesBody, USER_MESSAGES, type UserRow } from "../../users/model";
import { isInvited, issuePersonLink, type PersonLink, RESET_LINK_TTL_SECONDS } from "../../users/password-links";
import { searchAccounts } from "../../users/search";
import { archiveAccount, createAccount, findPersonByEmail, findUser, setPersonRoles } from "../../users/service";
import { attemptAs, field } from "../forms";
import { html, type Html, when } from "../html";
import {
  ACCOUNT_PATH,
  banner,
  csrfField,
  dialog,
  dialogActions,
  htmlResponse,
  may,
  offsetOf,
  PAGE_SIZE,
  pager,
  signedInPage,
  statusBadge,
  table,
} from "../layout";
import { Reveals } from "../reveal";
import { DASHBOARD_PATH, redirect, visitOf, type Server, type Visit } from "../session";
import { rolesText } from "./service-accounts";

export const USERS_PATH = `${DASHBOARD_PATH}/users`;

/** What each notice code says (a code in the address, never text from it). */
const NOTICES: Record<string, string> = {
  archived: "User archived: every session and API key of theirs stopped working.",
  role: "Role changed: it applies from their next request.",
};

export const ARCHIVE_PERSON_WARNING = "They are signed out at once and cannot sign in again.";

/** A link shown once: to whom, and what it does. */
interface ShownLink {
  email: string;
  kind: "invite" | "new-invite" | "reset";
  url: string;
  expiresAt: string;
}

const SHOWN_TITLES: Record<ShownLink["kind"], (email: string) => string> = {
  invite: (email) => `Invited ${email}`,
  "new-invite": (email) => `New invite link for ${email}`,
  reset: (email) => `Password reset link for ${email}`,
};

const RESET_HOURS = RESET_LINK_TTL_SECONDS / 3600;

function shownOnce(kind: ShownLink["kind"]): string {
  const lasts = kind === "reset" ? `${RESET_HOURS} hours` : "7 days";
  return `Send this link to them now: it cannot be shown again. It works once, for ${lasts}.`;
}

interface View {
  invite?: { open: boolean; email?: string; name?: string; error?: string; invitedAlready?: UserRow };
  shown?: ShownLink;
  link?: { id: string; error?: string };
  role?: { id: string; chosen?: string; error?: ApiError };
  archive?: { id: string; error?: string };
  status?: number;
}

/** What a person is here: invited (no password chosen yet), active, or archived. */
function personStatus(account: UserRow): Html {
  return isInvited(account) ? html`<span class="badge invited">invited</span>` : statusBadge(account.status);
}

/** Only a super_admin person brings people in and makes their links (the service checks it too). */
function isSuperAdmin(visit: Visit): boolean {
  return visit.principal.userType === "user" && visit.principal.credential.roles.includes("super_admin");
}

/** A row's actions: what the signed-in person may do to that person. */
function rowActions(visit: Visit, account: UserRow): Html | null {
  if (account.id === visit.principal.userId) {
    return html`<a class="button small secondary" href="${ACCOUNT_PATH}">Change password</a>`;
  }
  if (account.status !== "published") return null;
  const admin = isSuperAdmin(visit);
  const invited = isInvited(account);
  return html`${
    admin && account.email !== null
      ? html`<a class="button small secondary" href="${USERS_PATH}?link=${account.id}"
          >${invited ? "New link" : "Reset link"}</a
        >`
      : null
  }
  ${admin ? html`<a class="button small secondary" href="${USERS_PATH}?role=${account.id}">Role</a>` : null}
  ${
    may(visit, "user:write")
      ? html`<a class="button small danger" href="${USERS_PATH}?archive=${account.id}">Archive</a>`
      : null
  }`;
}

/** The API keys that keep a person's role (the API's refusal lists them by environment). */
function liveKeysOf(error: ApiError | undefined): Html | null {
  const byEnvironment = error?.details?.active_api_keys as
    Record<string, { env_name: string; api_keys: { id: string; key_name: string }[] }> | undefined;
  if (!byEnvironment) return null;
  return html`<p class="small">Their live keys:</p>
    <ul class="small key-list">
      ${Object.values(byEnvironment).flatMap((env) =>
        env.api_keys.map(
          (key) =>
            html`<li>
              <strong>${key.key_name}</strong>
              <span class="muted">(${env.env_name}, <span class="mono">${key.id}</span>)</span>
            </li>`,
        ),
      )}
    </ul>
    <p class="muted small">
      Revoke them on API Keys (in each environment), or let them expire, then change the role.
    </p>`;
}

async function render(app: AppContext, request: Request, view: View): Promise<Response> {
  const visit = visitOf(request);
  const { principal } = visit;
  const query = new URL(request.url).searchParams;
  const offset = offsetOf(query);
  const { rows, total } = await searchAccounts(
    app.reads,
    principal.tenantId,
    { type: "user" },
    { limit: PAGE_SIZE, offset },
  );
  const notice = NOTICES[query.get("notice") ?? ""];
  const admin = isSuperAdmin(visit);
  const tableRows = rows.map(
    (u) =>
      html`<tr>
        <th scope="row">${u.name}${u.id === principal.userId ? html` <span class="badge">you</span>` : null}</th>
        <td>${u.email ?? html`<span class="muted">—</span>`}</td>
        <td>${rolesText(app.roles, JSON.parse(u.roles) as string[])}</td>
        <td>${personStatus(u)}</td>
        <td>${when(u.created_at)}</td>
        <td class="row-actions">${rowActions(visit, u)}</td>
      </tr>`,
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  // A dialog's person may be on another page than this one.
  const find = async (id: string): Promise<UserRow | undefined> => {
    const found = byId.get(id) ?? (await findUser(app.db, principal.tenantId, id));
    return found?.type === "user" ? found : undefined;
  };
  const linking = view.link ? await find(view.link.id) : undefined;
  const roling = view.role ? await find(view.role.id) : undefined;
  const archiving = view.archive ? await find(view.archive.id) : undefined;
  const invite = view.invite ?? { open: false };
  // A refusal shows in its dialog; one whose dialog has no person to show (not found) on the page.
  const error =
    (view.link && !linking ? view.link.error : undefined) ??
    (view.role && !roling ? view.role.error?.message : undefined) ??
    (view.archive && !archiving ? view.archive.error : undefined);
  const content = html`${banner("notice", notice)}${banner("error", error)}
    <p class="lead">
      People who sign in to this dashboard, each with one role: Super Admin (everything, people included), All Writer
      (changes every resource but people's roles and invites) or All Reader (reads only).
    </p>
    <div class="toolbar">
      ${admin ? html`<a class="button" href="${USERS_PATH}?invite=1" data-dialog="invite-user">Invite user</a>` : null}
      <span class="muted small">${total} user account${total === 1 ? "" : "s"}</span>
    </div>
    ${table("User accounts", ["Name", "Email", "Role", "Status", "Created", "Actions"], tableRows, "No user accounts.")}
    ${pager({
      path: USERS_PATH,
      query,
      offset,
      shown: rows.length,
      total,
      drop: ["invite", "shown", "link", "role", "archive", "notice"],
    })}
    ${admin ? inviteDialog(visit, invite) : null}
    ${
      linking && view.link
        ? dialog({
            id: "person-link",
            title: isInvited(linking) ? `New invite link for ${linking.name}?` : `Reset ${linking.name}'s password?`,
            open: true,
            closeTo: USERS_PATH,
            body: html`<form method="post" action="${USERS_PATH}/${linking.id}/link" class="stack">
              ${csrfField(visit)}${banner("error", view.link.error)}
              ${
                isInvited(linking)
                  ? html`<p>
                      A new one-time link for <strong>${linking.email}</strong> to choose their password. It replaces
                      the link sent before, which stops working. It works once, for 7 days.
                    </p>`
                  : html`<p>
                        A one-time link for <strong>${linking.email}</strong> to choose a new password. It works once,
                        for ${RESET_HOURS} hours, and replaces any link made before.
                      </p>
                      <p class="warning">
                        Their password keeps working until the link is used; then every session of theirs ends.
                      </p>`
              }
              ${dialogActions(USERS_PATH, "Make the link")}
            </form>`,
          })
        : null
    }
    ${roling && view.role ? roleDialog(app, visit, roling, view.role) : null}
    ${
      archiving && view.archive
        ? dialog({
            id: "archive-person",
            title: `Archive ${archiving.name}?`,
            open: true,
            closeTo: USERS_PATH,
            body: html`<form method="post" action="${USERS_PATH}/${archiving.id}/archive" class="stack">
              ${csrfField(visit)}${banner("error", view.archive.error)}
              <p class="warning">
                <strong>${ARCHIVE_PERSON_WARNING}</strong> Every session and API key of
                ${archiving.email ?? archiving.name} stops working from the next request. The account stays in the list
                and the audit log.
              </p>
              ${dialogActions(USERS_PATH, "Archive", true)}
            </form>`,
          })
        : null
    }
    ${view.shown ? shownDialog(view.shown) : null}`;
  return htmlResponse(await signedInPage(app, visit, USERS_PATH, "Users", content), { status: view.status });
}

function inviteDialog(visit: Visit, invite: NonNullable<View["invite"]>): Html {
  const already = invite.invitedAlready;
  return dialog({
    id: "invite-user",
    title: "Invite a user",
    open: invite.open,
    closeTo: USERS_PATH,
    body: already
      ? html`<form method="post" action="${USERS_PATH}/${already.id}/link" class="stack">
          ${csrfField(visit)}
          <p class="warning" role="status">
            <strong>${already.email}</strong> is invited already and has not chosen a password yet.
          </p>
          <p>Make them a new link instead: the one sent before stops working. It works once, for 7 days.</p>
          ${dialogActions(USERS_PATH, "Make a new link")}
        </form>`
      : html`<form method="post" action="${USERS_PATH}" class="stack">
          ${csrfField(visit)}${banner("error", invite.error)}
          <label for="invite-email">Email</label>
          <input id="invite-email" name="email" type="email" required maxlength="320" value="${invite.email ?? ""}" />
          <label for="invite-name">Name <span class="muted">(optional)</span></label>
          <input id="invite-name" name="name" type="text" maxlength="255" value="${invite.name ?? ""}" />
          <p class="muted small">
            They get the Super Admin role; change it from their row. You get a one-time link for them to choose their
            password.
          </p>
          ${dialogActions(USERS_PATH, "Invite")}
        </form>`,
  });
}

function roleDialog(app: AppContext, visit: Visit, person: UserRow, view: NonNullable<View["role"]>): Html {
  const current = (JSON.parse(person.roles) as string[])[0];
  const chosen = view.chosen ?? current;
  return dialog({
    id: "person-role",
    title: `Role of ${person.name}`,
    open: true,
    closeTo: USERS_PATH,
    body: html`<form method="post" action="${USERS_PATH}/${person.id}/role" class="stack">
      ${csrfField(visit)}${banner("error", view.error?.message)}${liveKeysOf(view.error)}
      <fieldset class="roles">
        <legend>Role <span class="muted">(exactly one)</span></legend>
        ${app.roles.list("user").map(
          (role) =>
            html`<label class="choice" for="person-role-${role.id}">
              <input
                type="radio"
                id="person-role-${role.id}"
                name="role"
                value="${role.id}"
                ${role.id === chosen ? html` checked` : null}
              />
              <span
                ><strong>${role.name}</strong>${role.id === current ? html` <span class="badge">now</span>` : null}
                <span class="muted small block">${role.description}.</span></span
              >
            </label>`,
        )}
      </fieldset>
      <p class="muted small">A key keeps the role it was made with: a person with live API keys keeps their role.</p>
      ${dialogActions(USERS_PATH, "Change role")}
    </form>`,
  });
}

function shownDialog(shown: ShownLink): Html {
  return dialog({
    id: "link-shown",
    title: SHOWN_TITLES[shown.kind](shown.email),
    open: true,
    closeTo: USERS_PATH,
    className: "reveal",
    body: html`<p class="warning" role="alert"><strong>${shownOnce(shown.kind)}</strong></p>
      <label for="invite-link">Set-password link</label>
      <div class="copy-row">
        <input id="invite-link" class="mono" type="text" readonly value="${shown.url}" spellcheck="false" />
        <button type="button" data-copy="invite-link">Copy</button>
      </div>
      <p class="muted small">Valid until ${when(shown.expiresAt)}.</p>
      <p class="muted small" aria-live="polite" data-copy-status></p>
      <div class="actions"><a class="button" href="${USERS_PATH}" data-close>Done</a></div>`,
  });
}

/** Links just made, waiting for the page that shows them once (see Reveals). */
const revealed = new Reveals<ShownLink>();

export function usersPage(app: AppContext, request: Request): Promise<Response> {
  const query = new URL(request.url).searchParams;
  const shown = revealed.take(visitOf(request).principal.credential.id, query.get("shown"));
  if (shown) return render(app, request, { shown });
  const id = (name: string) => {
    const value = query.get(name);
    return value ? { id: value } : undefined;
  };
  return render(app, request, {
    invite: { open: query.get("invite") === "1" },
    link: id("link"),
    role: id("role"),
    archive: id("archive"),
  });
}

/** Shows a link once: the POST that made it redirects to the page that shows it (POST → redirect → GET). */
function reveal(
  app: AppContext,
  request: Request,
  server: Server | null,
  shown: Omit<ShownLink, "url">,
  token: string,
) {
  const id = revealed.put(visitOf(request).principal.credential.id, {
    ...shown,
    // Never the Host header: the client chooses it (see publicBaseUrl).
    url: passwordLinkUrl(publicBaseUrl(app.config, server?.port), "set_password", token),
  });
  return redirect(`${USERS_PATH}?shown=${id}`);
}

export async function inviteUser(app: AppContext, request: Request, server: Server | null, form: URLSearchParams) {
  const email = form.get("email") ?? "";
  const name = field(form, "name");
  const result = await attemptAs(app, request, server, async (principal, audit) => {
    const input = checkLike(CreateUserBody, { type: "user" as const, email, ...(name ? { name } : {}) });
    return await createAccount(app, principal, audit, input);
  });
  if (!result.ok) {
    // Invited before and never came: what they need is a new link, not "email exists".
    const existing =
      result.error.message === USER_MESSAGES.emailTaken
        ? await findPersonByEmail(app.db, visitOf(request).principal.tenantId, email)
        : undefined;
    const invitedAlready = existing && isInvited(existing) ? existing : undefined;
    return render(app, request, {
      invite: { open: true, email, name, error: result.message, invitedAlready },
      status: invitedAlready ? 200 : result.status,
    });
  }
  const link = result.value.setPassword;
  if (!link) throw new Error("an invited user account has a set-password link");
  const shown = { email: result.value.row.email ?? email, kind: "invite" as const, expiresAt: link.expiresAt };
  return reveal(app, request, server, shown, link.token);
}

/** "New link" (an invited person) or "Reset link" (a person with a password). */
export async function makePersonLink(app: AppContext, request: Request, server: Server | null, id: string) {
  const result = await attemptAs(
    app,
    request,
    server,
    async (principal, audit): Promise<PersonLink> => await issuePersonLink(app, principal, audit, id),
  );
  if (!result.ok) return render(app, request, { link: { id, error: result.message }, status: result.status });
  const { account, kind, token, expiresAt } = result.value;
  const shown = {
    email: account.email ?? account.name,
    kind: kind === "reset" ? ("reset" as const) : ("new-invite" as const),
    expiresAt,
  };
  return reveal(app, request, server, shown, token);
}

export async function changePersonRole(
  app: AppContext,
  request: Request,
  server: Server | null,
  id: string,
  form: URLSearchParams,
) {
  const chosen = form.get("role") ?? "";
  const result = await attemptAs(app, request, server, async (principal, audit) => {
    const input = checkLike(UpdateRolesBody, { roles: [chosen] });
    return await setPersonRoles(app, principal, audit, id, input.roles);
  });
  if (result.ok) return redirect(`${USERS_PATH}?notice=role`);
  return render(app, request, { role: { id, chosen, error: result.error }, status: result.status });
}

export async function archivePerson(app: AppContext, request: Request, server: Server | null, id: string) {
  const result = await attemptAs(
    app,
    request,
    server,
    async (principal, audit) => await archiveAccount(app, principal, audit, id),
  );
  if (result.ok) return redirect(`${USERS_PATH}?notice=archived`);
  return render(app, request, { archive: { id, error: result.message }, status: result.status });
}
