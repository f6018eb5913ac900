import type { AppContext } from "../../../context";
import { checkLike } from "../../../http/validation";
import { isTooManyAttempts, PasswordChangeBody } from "../../sign-in/model";
import { changePasswordHere } from "../../sign-in/passwords";
import { requestFactsOf } from "../../sign-in";
import { skipRequestLog } from "../../../http";
import { attemptAs } from "../forms";
import { html } from "../html";
import { ACCOUNT_PATH, banner, csrfField, htmlResponse, newPasswordField, signedInPage } from "../layout";
import { redirect, SESSION_COOKIE, setCookie, visitOf, type Server } from "../session";

export const PASSWORD_PATH = `${ACCOUNT_PATH}/password`;
export const PASSWORDS_DIFFER = "The two new passwords differ; nothing was changed";
export const PASSWORD_CHANGED = "Password changed. Every other session of your account has ended; this one goes on.";

interface View {
  error?: string;
  status?: number;
}

/** Your account: who you are here, and the change of password (SPEC §10's, with the current one). */
async function render(app: AppContext, request: Request, view: View): Promise<Response> {
  const visit = visitOf(request);
  const { principal } = visit;
  const person = await app.profiles.get(app.db, principal.tenantId, principal.userId);
  const notice = new URL(request.url).searchParams.get("notice") === "password-changed" ? PASSWORD_CHANGED : null;
  const roles = principal.credential.roles.map((id) => app.roles.find(id)?.name ?? id).join(", ");
  const content = html`${banner("notice", notice)}
    <dl class="facts">
      <dt>Name</dt>
      <dd>${person?.name ?? ""}</dd>
      <dt>Email</dt>
      <dd>${person?.email ?? html`<span class="muted">—</span>`}</dd>
      <dt>Role</dt>
      <dd>${roles}</dd>
      <dt>Tenant</dt>
      <dd>${person?.tenant.name ?? principal.tenantId}</dd>
    </dl>
    <section class="panel" aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <p class="muted small">
        Every other session of your account ends at once (other browsers, other devices, bearer tokens); this browser
        stays signed in. Forgot it? An admin makes you a reset link on the Users page, or an operator runs
        <code>tollgate users reset-password --email …</code> on the server.
      </p>
      ${banner("error", view.error)}
      <form method="post" action="${PASSWORD_PATH}" class="stack">
        ${csrfField(visit)}
        ${
          person?.email
            ? html`<input type="hidden" name="username" autocomplete="username" value="${person.email}" />`
            : null
        }
        <label for="current-password">Current password</label>
        <input
          id="current-password"
          name="current_password"
          type="password"
          autocomplete="current-password"
          required
          maxlength="256"
        />
        ${newPasswordField({ id: "new-password", name: "new_password", label: "New password" })}
        ${newPasswordField({ id: "new-password-again", name: "new_password_again", label: "New password, again", rule: false })}
        <div class="actions"><button type="submit">Change password</button></div>
      </form>
    </section>`;
  return htmlResponse(await signedInPage(app, visit, ACCOUNT_PATH, "Your account", content), {
    status: view.status,
  });
}

export function accountPage(app: AppContext, request: Request): Promise<Response> {
  return render(app, request, {});
}

/**
 * The change of password: the API's own (POST /v1/auth/password), whose refusals the page shows in
 * its words. This browser goes on in a new session (see changePasswordHere), every other ends.
 */
export async function submitPasswordChange(
  app: AppContext,
  request: Request,
  server: Server | null,
  form: URLSearchParams,
): Promise<Response> {
  const current = form.get("current_password") ?? "";
  const next = form.get("new_password") ?? "";
  // Typed twice to catch a slip of the fingers; a mismatch costs no guess against the limit.
  if (next !== (form.get("new_password_again") ?? ""))
    return render(app, request, { error: PASSWORDS_DIFFER, status: 400 });
  const result = await attemptAs(app, request, server, async (principal, audit) => {
    const input = checkLike(PasswordChangeBody, { current_password: current, new_password: next });
    return await changePasswordHere(app, principal, audit, input, requestFactsOf(app, request));
  });
  if (!result.ok) {
    // As the API does: a refusal of the sign-in limit has no request-log line of its own.
    if (isTooManyAttempts(result.error)) skipRequestLog(request);
    return render(app, request, { error: result.message, status: result.status });
  }
  const { token, session } = result.value;
  // The environment cookie stays: the same person, in the same tenant, goes on where they were.
  return redirect(`${ACCOUNT_PATH}?notice=password-changed`, [
    setCookie(request, SESSION_COOKIE, token, session.expires_at),
  ]);
}
