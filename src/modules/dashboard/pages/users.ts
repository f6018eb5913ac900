import type { AppContext } from "../../../context";
import { publicBaseUrl } from "../../../http/urls";
import { passwordLinkUrl } from "../../sessions/store";
import { CreateUserBody } from "../../users/model";
import { searchAccounts } from "../../users/search";
import { createAccount } from "../../users/service";
import { attemptAs, field } from "../forms";
import { checkLike } from "../../../http/validation";
import { html, when } from "../html";
import {
  banner,
  csrfField,
  dialog,
  dialogActions,
  htmlResponse,
  offsetOf,
  PAGE_SIZE,
  pager,
  signedInPage,
  statusBadge,
  table,
} from "../layout";
import { Reveals } from "../reveal";
import { DASHBOARD_PATH, redirect, visitOf, type Server } from "../session";

export const USERS_PATH = `${DASHBOARD_PATH}/users`;
export const LINK_SHOWN_ONCE = "Send this link to them now: it cannot be shown again. It works once, for 7 days.";

interface View {
  invite?: { open: boolean; email?: string; name?: string; error?: string };
  invited?: { email: string; url: string; expiresAt: string };
  status?: number;
}

async function render(app: AppContext, request: Request, view: View): Promise<Response> {
  const visit = visitOf(request);
  const query = new URL(request.url).searchParams;
  const offset = offsetOf(query);
  const { rows, total } = await searchAccounts(
    app.reads,
    visit.principal.tenantId,
    { type: "user" },
    { limit: PAGE_SIZE, offset },
  );
  const invite = view.invite ?? { open: false };
  const tableRows = rows.map(
    (u) =>
      html`<tr>
        <th scope="row">${u.name}${u.id === visit.principal.userId ? html` <span class="badge">you</span>` : null}</th>
        <td>${u.email ?? html`<span class="muted">—</span>`}</td>
        <td>${statusBadge(u.status)}</td>
        <td>${when(u.created_at)}</td>
      </tr>`,
  );
  const content = html`<p class="lead">People who sign in to this dashboard. They have full access to the tenant.</p>
    <div class="toolbar">
      ${
        visit.principal.credential.roles.includes("super_admin")
          ? html`<a class="button" href="${USERS_PATH}?invite=1" data-dialog="invite-user">Invite user</a>`
          : null
      }
      <span class="muted small">${total} user account${total === 1 ? "" : "s"}</span>
    </div>
    ${table("User accounts", ["Name", "Email", "Status", "Created"], tableRows, "No user accounts.")}
    ${pager({ path: USERS_PATH, query, offset, shown: rows.length, total, drop: ["invite", "invited"] })}
    ${
      visit.principal.credential.roles.includes("super_admin")
        ? dialog({
            id: "invite-user",
            title: "Invite a user",
            open: invite.open,
            closeTo: USERS_PATH,
            body: html`<form method="post" action="${USERS_PATH}" class="stack">
              ${csrfField(visit)}${banner("error", invite.error)}
              <label for="invite-email">Email</label>
              <input
                id="invite-email"
                name="email"
                type="email"
                required
                maxlength="320"
                value="${invite.email ?? ""}"
              />
              <label for="invite-name">Name <span class="muted">(optional)</span></label>
              <input id="invite-name" name="name" type="text" maxlength="255" value="${invite.name ?? ""}" />
              <p class="muted small">You get a one-time link for them to choose their password.</p>
              ${dialogActions(USERS_PATH, "Invite")}
            </form>`,
          })
        : null
    }
    ${
      view.invited
        ? dialog({
            id: "invited",
            title: `Invited ${view.invited.email}`,
            open: true,
            closeTo: USERS_PATH,
            className: "reveal",
            body: html`<p class="warning" role="alert"><strong>${LINK_SHOWN_ONCE}</strong></p>
              <label for="invite-link">Set-password link</label>
              <div class="copy-row">
                <input
                  id="invite-link"
                  class="mono"
                  type="text"
                  readonly
                  value="${view.invited.url}"
                  spellcheck="false"
                />
                <button type="button" data-copy="invite-link">Copy</button>
              </div>
              <p class="muted small" aria-live="polite" data-copy-status></p>
              <div class="actions"><a class="button" href="${USERS_PATH}" data-close>Done</a></div>`,
          })
        : null
    }`;
  return htmlResponse(await signedInPage(app, visit, USERS_PATH, "Users", content), { status: view.status });
}

/** Invite links just made, waiting for the page that shows them once (see Reveals). */
const revealed = new Reveals<NonNullable<View["invited"]>>();

export function usersPage(app: AppContext, request: Request): Promise<Response> {
  const query = new URL(request.url).searchParams;
  const invited = revealed.take(visitOf(request).principal.credential.id, query.get("invited"));
  if (invited) return render(app, request, { invited });
  return render(app, request, { invite: { open: new URL(request.url).searchParams.get("invite") === "1" } });
}

export async function inviteUser(app: AppContext, request: Request, server: Server | null, form: URLSearchParams) {
  const email = form.get("email") ?? "";
  const name = field(form, "name");
  const result = await attemptAs(app, request, server, (principal, audit) => {
    const input = checkLike(CreateUserBody, { type: "user" as const, email, ...(name ? { name } : {}) });
    return createAccount(app, principal, audit, input);
  });
  if (!result.ok)
    return render(app, request, { invite: { open: true, email, name, error: result.message }, status: result.status });
  const link = result.value.setPassword;
  if (!link) throw new Error("an invited user account has a set-password link");
  const id = revealed.put(visitOf(request).principal.credential.id, {
    email: result.value.row.email ?? email,
    // Never the Host header: the client chooses it (see publicBaseUrl).
    url: passwordLinkUrl(publicBaseUrl(app.config, server?.port), "set_password", link.token),
    expiresAt: link.expiresAt,
  });
  return redirect(`${USERS_PATH}?invited=${id}`);
}
