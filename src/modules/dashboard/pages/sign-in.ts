import type { AppContext } from "../../../context";
import { skipRequestLog } from "../../../http";
import { ApiError } from "../../../http/errors";
import { auditContextOf } from "../../audit/context";
import { isTooManyAttempts, LoginBody, SetPasswordBody, SetupBody } from "../../sign-in/model";
import { completeSetPassword, verifySetPasswordToken } from "../../sign-in/passwords";
import { completeSetup, verifySetupToken } from "../../sign-in/setup";
import { requestFactsOf } from "../../sign-in";
import { type SignedIn, signIn, signOut } from "../../sign-in/sign-in";
import { DEFAULT_USER_NAME } from "../../users/service";
import { attempt, field } from "../forms";
import { checkLike } from "../../../http/validation";
import { html, type Html } from "../html";
import { banner, cardPage, htmlResponse, newPasswordField } from "../layout";
import {
  clearCookie,
  DASHBOARD_PATH,
  ENVIRONMENT_COOKIE,
  redirect,
  SESSION_COOKIE,
  safeReturnPath,
  setCookie,
  SIGN_IN_PATH,
  visitOf,
  type Server,
} from "../session";

export const HOME_PATH = `${DASHBOARD_PATH}/api-keys`;
export const SESSION_ENDED = "Your session has ended. Sign in again.";
export const SIGNED_OUT = "You have signed out.";

/** Signed in: the session in its cookie, and on to where the person was going. */
function enter(request: Request, signedIn: SignedIn, next: string | null): Response {
  return redirect(next ?? HOME_PATH, [
    setCookie(request, SESSION_COOKIE, signedIn.token, signedIn.session.expires_at),
    clearCookie(request, ENVIRONMENT_COOKIE),
  ]);
}

function signInForm(options: { email?: string; next?: string | null; error?: string; notice?: string }): Html {
  return cardPage(
    "Sign in",
    html`${banner("notice", options.notice)}${banner("error", options.error)}
      <form method="post" action="${SIGN_IN_PATH}" class="stack">
        ${options.next ? html`<input type="hidden" name="next" value="${options.next}" />` : null}
        <label for="email">Email</label>
        <input
          id="email"
          name="email"
          type="text"
          inputmode="email"
          spellcheck="false"
          autocomplete="username"
          required
          maxlength="320"
          value="${options.email ?? ""}"
          autofocus
        />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256" />
        <button type="submit">Sign in</button>
      </form>
      <p class="muted small">Service accounts cannot sign in: they use API keys.</p>`,
  );
}

export function signInPage(request: Request): Response {
  const url = new URL(request.url);
  const reason = url.searchParams.get("reason");
  const notice = reason === "ended" ? SESSION_ENDED : reason === "signed-out" ? SIGNED_OUT : undefined;
  return htmlResponse(signInForm({ next: safeReturnPath(url.searchParams.get("next")), notice }));
}

export async function submitSignIn(app: AppContext, request: Request, form: URLSearchParams): Promise<Response> {
  const email = form.get("email") ?? "";
  const next = safeReturnPath(form.get("next"));
  const result = await attempt(async () => {
    const input = checkLike(LoginBody, { email, password: form.get("password") ?? "" });
    return signIn(app, input, requestFactsOf(app, request));
  });
  if (result.ok) return enter(request, result.value, next);
  // As the API does: a refusal of the sign-in limit has no request-log line of its own.
  if (isTooManyAttempts(result.error)) skipRequestLog(request);
  const headers = result.status === 429 ? ["retry-after"] : [];
  const response = htmlResponse(signInForm({ email, next, error: result.message }), { status: result.status });
  const retry = result.error.details?.retry_after_seconds;
  if (headers.length && typeof retry === "number") response.headers.set("retry-after", String(retry));
  return response;
}

export async function submitSignOut(app: AppContext, request: Request, server: Server | null): Promise<Response> {
  const { principal } = visitOf(request);
  await signOut(app, principal, await auditContextOf(app, { principal, request, server }));
  return redirect(`${SIGN_IN_PATH}?reason=signed-out`, [
    clearCookie(request, SESSION_COOKIE),
    clearCookie(request, ENVIRONMENT_COOKIE),
  ]);
}

/**
 * A link that cannot be used: said plainly (the API's words), with the way to sign in. A page is
 * not a credential challenge: the API's 401 is a 400 here (a 429 stays one).
 */
function deadLink(title: string, message: string, status: number): Response {
  return htmlResponse(
    cardPage(
      title,
      html`${banner("error", message)}
        <p><a href="${SIGN_IN_PATH}">Go to sign-in</a></p>`,
    ),
    { status: status === 401 ? 400 : status },
  );
}

/** GET of a one-time link's page: its form while the link can be used, else why not. */
async function linkPage(
  app: AppContext,
  request: Request,
  title: string,
  show: (token: string) => Promise<Html>,
): Promise<Response> {
  const token = new URL(request.url).searchParams.get("token") ?? "";
  try {
    return htmlResponse(await show(token));
  } catch (error) {
    const refusal = app.authenticator.refused(error, request);
    if (!(refusal instanceof ApiError)) throw refusal;
    return deadLink(title, refusal.message, refusal.status);
  }
}

/**
 * POST of a one-time link's form: the person is signed in; an unusable link (counted as a failed
 * credential check, like the API's) says so; any other refusal shows the form again with it.
 */
async function submitLink(
  app: AppContext,
  request: Request,
  title: string,
  use: () => Promise<SignedIn>,
  again: (error: string) => Html,
): Promise<Response> {
  const result = await attempt(async () => {
    try {
      return await use();
    } catch (error) {
      throw app.authenticator.refused(error, request);
    }
  });
  if (result.ok) return enter(request, result.value, null);
  if (result.status === 401 || result.status === 429) return deadLink(title, result.message, result.status);
  return htmlResponse(again(result.message), { status: result.status });
}

function setupForm(token: string, values: { email?: string | null; name?: string }, error?: string): Html {
  return cardPage(
    SETUP_TITLE,
    html`<p>You are the first person here. Choose the email and password you will sign in with.</p>
      ${banner("error", error)}
      <form method="post" action="${DASHBOARD_PATH}/setup" class="stack">
        <input type="hidden" name="token" value="${token}" />
        <label for="email">Email</label>
        <input
          id="email"
          name="email"
          type="email"
          autocomplete="username"
          required
          maxlength="320"
          value="${values.email ?? ""}"
        />
        <label for="name">Name <span class="muted">(optional)</span></label>
        <input
          id="name"
          name="name"
          type="text"
          autocomplete="name"
          maxlength="255"
          value="${values.name ?? ""}"
          aria-describedby="name-rule"
        />
        <p id="name-rule" class="muted small">How the dashboard names you; left empty, your email.</p>
        ${newPasswordFields()}
      </form>`,
  );
}

/** The new-password field, its rule and the submit button the setup and set-password forms end with. */
function newPasswordFields(): Html {
  return html`${newPasswordField({ id: "password", name: "password", label: "Password" })}
    <button type="submit">Save and sign in</button>`;
}

const SETUP_TITLE = "Set up your account";
const SET_PASSWORD_TITLE = "Choose your password";

export function setupPage(app: AppContext, request: Request): Promise<Response> {
  return linkPage(app, request, SETUP_TITLE, async (token) => {
    const info = await verifySetupToken(app.db, token);
    // The placeholder is not their name: the field starts empty (left so, the name becomes the email).
    return setupForm(token, { email: info.email, name: info.name === DEFAULT_USER_NAME ? undefined : info.name });
  });
}

export function submitSetup(app: AppContext, request: Request, form: URLSearchParams): Promise<Response> {
  const token = form.get("token") ?? "";
  const values = { email: form.get("email") ?? "", name: field(form, "name") };
  return submitLink(
    app,
    request,
    SETUP_TITLE,
    () => {
      const input = checkLike(SetupBody, {
        token,
        email: values.email,
        password: form.get("password") ?? "",
        ...(values.name ? { name: values.name } : {}),
      });
      return completeSetup(app, input, requestFactsOf(app, request));
    },
    (error) => setupForm(token, values, error),
  );
}

/** The page of an invite's link (choose your password) or of a reset link (choose a new one). */
function setPasswordForm(token: string, email: string | null, resets: boolean, error?: string): Html {
  return cardPage(
    resets ? RESET_PASSWORD_TITLE : SET_PASSWORD_TITLE,
    html`${email ? html`<p>For <strong>${email}</strong>.</p>` : null}
      ${resets ? html`<p class="muted small">Every session of this account ends: other browsers sign in again.</p>` : null}
      ${banner("error", error)}
      <form method="post" action="${DASHBOARD_PATH}/set-password" class="stack">
        <input type="hidden" name="token" value="${token}" />
        ${resets ? html`<input type="hidden" name="resets" value="1" />` : null}
        ${email ? html`<input type="hidden" name="username" autocomplete="username" value="${email}" />` : null}
        ${newPasswordFields()}
      </form>`,
  );
}

const RESET_PASSWORD_TITLE = "Choose a new password";

export function setPasswordPage(app: AppContext, request: Request): Promise<Response> {
  return linkPage(app, request, SET_PASSWORD_TITLE, async (token) => {
    const info = await verifySetPasswordToken(app, token);
    return setPasswordForm(token, info.email, info.replaces_password);
  });
}

export function submitSetPassword(app: AppContext, request: Request, form: URLSearchParams): Promise<Response> {
  const token = form.get("token") ?? "";
  return submitLink(
    app,
    request,
    SET_PASSWORD_TITLE,
    () => {
      const input = checkLike(SetPasswordBody, { token, password: form.get("password") ?? "" });
      return completeSetPassword(app, input, requestFactsOf(app, request));
    },
    (error) => setPasswordForm(token, form.get("username"), form.get("resets") === "1", error),
  );
}
