import { createHmac, timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { notePrincipal } from "../../http";
import { readBody } from "../../http/body";
import { ApiError, validationError } from "../../http/errors";
import { ACCESS_DETAIL_KEY } from "../auth";
import { AccessOutcome, type Principal } from "../auth/model";
import type { Permission } from "../rbac/model";

export const DASHBOARD_PATH = "/dashboard";
export const SIGN_IN_PATH = `${DASHBOARD_PATH}/sign-in`;
/** The §10 session token, HttpOnly: no script of any page can read it. */
export const SESSION_COOKIE = "tollgate_session";
/** The environment the switcher chose (an id; checked against the tenant on every request). */
export const ENVIRONMENT_COOKIE = "tollgate_env";
/** The hidden field every dashboard form carries. */
export const CSRF_FIELD = "csrf";
/** A form is a few fields; anything bigger is not one of ours. */
export const FORM_LIMIT = 64 * 1024;

export function cookiesOf(request: Request): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const at = part.indexOf("=");
    if (at < 0) continue;
    const name = part.slice(0, at).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(at + 1).trim());
  }
  return cookies;
}

/** Served over HTTPS, directly or behind a proxy that says so. */
export function isHttps(request: Request): boolean {
  return new URL(request.url).protocol === "https:" || request.headers.get("x-forwarded-proto") === "https";
}

/** A dashboard cookie: HttpOnly, SameSite=Strict, Path /dashboard, Secure over HTTPS. */
export function setCookie(request: Request, name: string, value: string, expires: string | null): string {
  const parts = [`${name}=${value}`, `Path=${DASHBOARD_PATH}`, "HttpOnly", "SameSite=Strict"];
  if (expires !== null) parts.push(`Expires=${new Date(expires).toUTCString()}`);
  if (isHttps(request)) parts.push("Secure");
  return parts.join("; ");
}

export function clearCookie(request: Request, name: string): string {
  return setCookie(request, name, "", "1970-01-01T00:00:00.000Z");
}

/**
 * The CSRF token of a session: an HMAC keyed by the session token itself. Only someone holding
 * the (HttpOnly) cookie can compute it, it needs no key of the server's (so every process and
 * every restart agrees), and it dies with the session. One-way: the page never reveals the token.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac("sha256", sessionToken).update("tollgate dashboard csrf v1").digest("base64url");
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The page's own origin: where the browser sees this server. */
export function ownOrigin(request: Request): string {
  const host = request.headers.get("host");
  if (host === null) return new URL(request.url).origin;
  return `${isHttps(request) ? "https" : "http"}://${host}`;
}

/** Whether a state-changing request was sent by one of this dashboard's own pages (Origin header). */
export function fromOwnOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  return origin !== null && (origin === ownOrigin(request) || origin === new URL(request.url).origin);
}

/**
 * A dashboard form's fields (URL-encoded); repeated fields (checkboxes) keep every value. A form
 * sent from another site is not read at all (its declaration refuses it next, on the Origin
 * alone); one of ours is read up to FORM_LIMIT and refused with a 413 past it.
 */
export async function readForm(request: Request): Promise<URLSearchParams> {
  if (!fromOwnOrigin(request)) return new URLSearchParams();
  const text = formText.decode(await readBody(request, FORM_LIMIT));
  // As for API bodies (http/body.ts): PostgreSQL cannot store U+0000, so neither engine takes it.
  if (text.includes("%00")) throw validationError("The form contains %00 (U+0000), which cannot be stored");
  return new URLSearchParams(text);
}

const formText = new TextDecoder("utf-8");

/** What a handler is given of the listening server (for the client address in audit rows). */
export interface Server {
  requestIP(request: Request): { address: string } | null;
  /** The port actually listened on (links Tollgate hands out are built on it, see publicBaseUrl). */
  readonly port?: number;
}

/** A signed-in person on a dashboard page: the session, who it is, where they are. */
export interface Visit {
  token: string;
  principal: Principal;
  csrf: string;
}

const visits = new WeakMap<Request, Visit>();

/** The visit the `dashboard` declaration admitted (only handlers of routes that declared it call this). */
export function visitOf(request: Request): Visit {
  const visit = visits.get(request);
  if (!visit) throw new Error("dashboard route without its dashboard declaration");
  return visit;
}

/** A path inside the dashboard to come back to; anything else (another site, `//host`) is not one. */
export function safeReturnPath(path: string | null | undefined): string | null {
  if (!path || !path.startsWith(`${DASHBOARD_PATH}/`) || path.startsWith("//") || /[\\\s]/.test(path)) return null;
  return path;
}

export function redirect(location: string, cookies: string[] = []): Response {
  const headers = new Headers({ location, "cache-control": "no-store" });
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  return new Response(null, { status: 303, headers });
}

/** Back to sign-in: the cookie is gone, and the page says why when there is a reason. */
function toSignIn(request: Request, reason: "ended" | null): Response {
  const url = new URL(request.url);
  const back = request.method === "GET" ? safeReturnPath(url.pathname + url.search) : null;
  const query = new URLSearchParams();
  if (reason) query.set("reason", reason);
  if (back) query.set("next", back);
  const q = query.toString();
  return redirect(`${SIGN_IN_PATH}${q ? `?${q}` : ""}`, [
    clearCookie(request, SESSION_COOKIE),
    clearCookie(request, ENVIRONMENT_COOKIE),
  ]);
}

/** Answers a refused request; the dashboard's pages render it (index.ts). */
export type Refusal = (request: Request, status: number, message: string) => Response;

/**
 * The principal of the session cookie for `access`, in the switcher's environment (the
 * tenant's default when it names none, or one that is no longer the tenant's).
 */
async function principalOf(
  app: AppContext,
  token: string,
  environment: string | null,
  permission: Permission | null,
): Promise<Principal> {
  const access = permission ? ({ kind: "permission", permission } as const) : ({ kind: "authenticated" } as const);
  try {
    return await app.authenticator.sessionPrincipal(token, environment, access);
  } catch (error) {
    if (environment !== null && error instanceof ApiError && error.reason === AccessOutcome.EnvironmentInaccessible) {
      return app.authenticator.sessionPrincipal(token, null, access);
    }
    throw error;
  }
}

/**
 * Who may use a dashboard route, checked before its handler, like the API's declarations:
 * the session cookie, as a §10 session with the declared permission; on a state-changing
 * request, first the Origin header (this dashboard's own) and then the session's CSRF token.
 * A missing, expired or revoked session goes back to sign-in (and counts as a failed
 * credential check, like a bad key, when there was a cookie).
 */
async function admit(
  app: AppContext,
  request: Request,
  body: unknown,
  permission: Permission | null,
  refuse: Refusal,
): Promise<Response | undefined> {
  const changes = request.method !== "GET" && request.method !== "HEAD";
  if (changes && !fromOwnOrigin(request)) return refuse(request, 403, FOREIGN_ORIGIN);
  const cookies = cookiesOf(request);
  const token = cookies.get(SESSION_COOKIE);
  if (!token) return toSignIn(request, null);
  const environment = cookies.get(ENVIRONMENT_COOKIE) || null;
  let principal: Principal;
  try {
    principal = await principalOf(app, token, environment, permission);
  } catch (error) {
    const refusal = app.authenticator.refused(error, request);
    if (refusal instanceof ApiError && (refusal.status === 401 || refusal.status === 429)) {
      return toSignIn(request, "ended");
    }
    if (refusal instanceof ApiError) return refuse(request, refusal.status, refusal.message);
    throw refusal;
  }
  const csrf = csrfTokenFor(token);
  if (changes) {
    const sent = body instanceof URLSearchParams ? body.get(CSRF_FIELD) : null;
    if (sent === null || !sameText(sent, csrf)) return refuse(request, 403, BAD_CSRF);
  }
  enter(request, { token, principal, csrf });
  return undefined;
}

function enter(request: Request, visit: Visit): Visit {
  notePrincipal(request, visit.principal.userId);
  visits.set(request, visit);
  return visit;
}

/**
 * The visit of a page anyone may be shown (Not found): the signed-in person's, or null without a
 * live session, never a way to sign-in. A refused cookie counts as a failed credential check,
 * as on every other page.
 */
export async function visitIfSignedIn(app: AppContext, request: Request): Promise<Visit | null> {
  const cookies = cookiesOf(request);
  const token = cookies.get(SESSION_COOKIE);
  if (!token) return null;
  try {
    const principal = await principalOf(app, token, cookies.get(ENVIRONMENT_COOKIE) || null, null);
    return enter(request, { token, principal, csrf: csrfTokenFor(token) });
  } catch (error) {
    const refusal = app.authenticator.refused(error, request);
    if (refusal instanceof ApiError) return null;
    throw refusal;
  }
}

export const FOREIGN_ORIGIN = "This form was sent from another site, so it was refused";
export const BAD_CSRF = "This form has expired or was not sent by this dashboard; reload the page and try again";

/** How a dashboard declaration shows in the route table (test/rbac.test.ts reads it). */
export function dashboardAccessLabel(permission: Permission | null): string {
  return permission ? `dashboard ${permission}` : "dashboard";
}

/**
 * The dashboard's access declarations, beside the API's (auth plugin):
 *   { dashboard: "secret:write" }  a signed-in person's session cookie holding that permission
 *                                  (and, on a POST, this dashboard's Origin and CSRF token)
 *   { dashboard: "signed-in" }     any signed-in person
 *   { dashboardPublic: true }      no session (sign-in, the one-time links, assets); a POST
 *                                  still has to come from this dashboard's own origin
 * Every route is kept out of the API document.
 */
export function dashboardAccess(app: AppContext, refuse: Refusal) {
  return new Elysia({ name: "dashboard-access" }).macro({
    dashboardPublic: {
      detail: { [ACCESS_DETAIL_KEY]: "public", hide: true } as Record<string, unknown>,
      parse: ({ request }: { request: Request }) => readForm(request),
      beforeHandle({ request }: { request: Request }) {
        if (request.method !== "GET" && !fromOwnOrigin(request)) return refuse(request, 403, FOREIGN_ORIGIN);
      },
    },
    dashboard: (access: Permission | "signed-in") => {
      const permission = access === "signed-in" ? null : access;
      return {
        detail: { [ACCESS_DETAIL_KEY]: dashboardAccessLabel(permission), hide: true } as Record<string, unknown>,
        parse: ({ request }: { request: Request }) => readForm(request),
        beforeHandle: async ({ request, body }: { request: Request; body: unknown }) =>
          await admit(app, request, body, permission, refuse),
      };
    },
  });
}
