import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import type { Permission } from "../rbac/model";
import { assetResponse, loadStatic } from "../portal-page/static-files";
import { html } from "./html";
import { ACCOUNT_PATH, ASSETS_PATH, banner, cardPage, htmlResponse } from "./layout";
import {
  acknowledgeLeakedKey,
  API_KEYS_PATH,
  apiKeysPage,
  createApiKey,
  revokeApiKey,
  rotateApiKey,
  VERIFY_PATH,
  verifyApiKey,
} from "./pages/api-keys";
import { AUDIT_PATH, auditPage } from "./pages/audit";
import { createPortalLink, CUSTOMERS_PATH, customersPage, PORTAL_LINK_PATH } from "./pages/customers";
import { EVENTS_PATH, eventsPage } from "./pages/events";
import { limitsPage, type OwnerKind, resetCredits, saveCredits, saveRateLimits } from "./pages/limits";
import { notFoundPage } from "./pages/not-found";
import {
  archiveServiceAccount,
  createServiceAccount,
  renameServiceAccount,
  SERVICE_ACCOUNTS_PATH,
  serviceAccountsPage,
} from "./pages/service-accounts";
import {
  HOME_PATH,
  setPasswordPage,
  setupPage,
  signInPage,
  submitSetPassword,
  submitSetup,
  submitSignIn,
  submitSignOut,
} from "./pages/sign-in";
import { archivePerson, changePersonRole, inviteUser, makePersonLink, USERS_PATH, usersPage } from "./pages/users";
import { accountPage, PASSWORD_PATH, submitPasswordChange } from "./pages/account";
import {
  DASHBOARD_PATH,
  dashboardAccess,
  ENVIRONMENT_COOKIE,
  redirect,
  safeReturnPath,
  setCookie,
  SIGN_IN_PATH,
  visitOf,
} from "./session";
// Imported as files so `bun build --compile` carries them inside the executable.
import dashboardCss from "./static/dashboard.css" with { type: "file" };
import dashboardJs from "./static/dashboard.js" with { type: "file" };
import iconSvg from "./static/icon.svg" with { type: "file" };

/** What the pages load, by the name they use under /dashboard/assets/. */
const ASSETS: Record<string, { path: string; type: string }> = {
  "dashboard.css": { path: dashboardCss, type: "text/css; charset=utf-8" },
  "dashboard.js": { path: dashboardJs, type: "text/javascript; charset=utf-8" },
  "icon.svg": { path: iconSvg, type: "image/svg+xml" },
};

/** A refused request (another site's form, a stale CSRF token, a permission): said on a page of its own. */
function refusalPage(request: Request, status: number, message: string): Response {
  const back = safeReturnPath(new URL(request.url).pathname) ?? HOME_PATH;
  return htmlResponse(
    cardPage(
      "Not done",
      html`${banner("error", message)}
        <p><a href="${back}">Back to the dashboard</a></p>`,
    ),
    { status },
  );
}

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) });

/** Whose limits have a page: the list it is under, and the permissions to read and to change them. */
const LIMITS_OWNERS: [OwnerKind, string, Permission, Permission][] = [
  ["key", API_KEYS_PATH, "secret:read", "secret:write"],
  ["account", SERVICE_ACCOUNTS_PATH, "user:read", "user:write"],
];

/**
 * The dashboard (SPEC §11): server-rendered pages with plain forms (POST, then a redirect or the
 * page again with the API's message), native <dialog>s, and one small script for what only a
 * script can do (copy, modal dialogs). Every action calls the same services, with the same
 * permission checks, as the API; the session is a §10 session in an HttpOnly cookie.
 */
export function dashboardController(app: AppContext) {
  const controller = new Elysia({ name: "dashboard" })
    .use(dashboardAccess(app, refusalPage))
    .get(DASHBOARD_PATH, () => redirect(HOME_PATH), { dashboardPublic: true })
    .get(`${DASHBOARD_PATH}/`, () => redirect(HOME_PATH), { dashboardPublic: true })
    .get(SIGN_IN_PATH, ({ request }) => signInPage(request), { dashboardPublic: true })
    .post(SIGN_IN_PATH, ({ request, body }) => submitSignIn(app, request, body as URLSearchParams), {
      dashboardPublic: true,
    })
    .get(`${DASHBOARD_PATH}/setup`, ({ request }) => setupPage(app, request), { dashboardPublic: true })
    .post(`${DASHBOARD_PATH}/setup`, ({ request, body }) => submitSetup(app, request, body as URLSearchParams), {
      dashboardPublic: true,
    })
    .get(`${DASHBOARD_PATH}/set-password`, ({ request }) => setPasswordPage(app, request), { dashboardPublic: true })
    .post(
      `${DASHBOARD_PATH}/set-password`,
      ({ request, body }) => submitSetPassword(app, request, body as URLSearchParams),
      { dashboardPublic: true },
    )
    .post(`${DASHBOARD_PATH}/sign-out`, async ({ request, server }) => await submitSignOut(app, request, server), {
      dashboard: "signed-in",
    })
    .post(
      `${DASHBOARD_PATH}/environment`,
      async ({ request, body }) => {
        const form = body as URLSearchParams;
        const { principal } = visitOf(request);
        const id = form.get("environment_id") ?? "";
        const back = safeReturnPath(form.get("return_to")) ?? HOME_PATH;
        if (!(await app.environments.belongsTo(principal.tenantId, id))) return redirect(back);
        return redirect(back, [setCookie(request, ENVIRONMENT_COOKIE, id, null)]);
      },
      { dashboard: "environment:read" },
    )
    .get(API_KEYS_PATH, ({ request }) => apiKeysPage(app, request), { dashboard: "secret:read" })
    .post(API_KEYS_PATH, ({ request, server, body }) => createApiKey(app, request, server, body as URLSearchParams), {
      dashboard: "secret:write",
    })
    .post(VERIFY_PATH, ({ request, server, body }) => verifyApiKey(app, request, server, body as URLSearchParams), {
      dashboard: "secret:verify",
    })
    .post(
      `${API_KEYS_PATH}/:id/revoke`,
      ({ request, server, params }) => revokeApiKey(app, request, server, params.id),
      {
        dashboard: "secret:write",
        params: IdParams,
      },
    )
    .post(
      `${API_KEYS_PATH}/:id/acknowledge-leak`,
      ({ request, server, params }) => acknowledgeLeakedKey(app, request, server, params.id),
      { dashboard: "secret:write", params: IdParams },
    )
    .post(
      `${API_KEYS_PATH}/:id/rotate`,
      ({ request, server, params, body }) => rotateApiKey(app, request, server, params.id, body as URLSearchParams),
      { dashboard: "secret:write", params: IdParams },
    )
    .get(SERVICE_ACCOUNTS_PATH, ({ request }) => serviceAccountsPage(app, request), { dashboard: "user:read" })

    .post(
      SERVICE_ACCOUNTS_PATH,
      ({ request, server, body }) => createServiceAccount(app, request, server, body as URLSearchParams),
      { dashboard: "user:write" },
    )
    .post(
      `${SERVICE_ACCOUNTS_PATH}/:id/rename`,
      ({ request, server, params, body }) =>
        renameServiceAccount(app, request, server, params.id, body as URLSearchParams),
      { dashboard: "user:write", params: IdParams },
    )
    .post(
      `${SERVICE_ACCOUNTS_PATH}/:id/archive`,
      ({ request, server, params }) => archiveServiceAccount(app, request, server, params.id),
      { dashboard: "user:write", params: IdParams },
    )
    .get(USERS_PATH, ({ request }) => usersPage(app, request), { dashboard: "user:read" })
    .post(USERS_PATH, ({ request, server, body }) => inviteUser(app, request, server, body as URLSearchParams), {
      dashboard: "user:write",
    })
    .post(
      `${USERS_PATH}/:id/link`,
      async ({ request, server, params }) => await makePersonLink(app, request, server, params.id),
      {
        dashboard: "user:write",
        params: IdParams,
      },
    )
    .post(
      `${USERS_PATH}/:id/role`,
      async ({ request, server, params, body }) =>
        await changePersonRole(app, request, server, params.id, body as URLSearchParams),
      { dashboard: "user:write", params: IdParams },
    )
    .post(
      `${USERS_PATH}/:id/archive`,
      async ({ request, server, params }) => await archivePerson(app, request, server, params.id),
      {
        dashboard: "user:write",
        params: IdParams,
      },
    )
    // Your own account: any signed-in person, whatever their role, changes their own password.
    .get(ACCOUNT_PATH, ({ request }) => accountPage(app, request), { dashboard: "signed-in" })
    .post(
      PASSWORD_PATH,
      async ({ request, server, body }) => await submitPasswordChange(app, request, server, body as URLSearchParams),
      {
        dashboard: "signed-in",
      },
    )
    .get(CUSTOMERS_PATH, ({ request }) => customersPage(app, request), { dashboard: "customer:read" })
    .post(
      PORTAL_LINK_PATH,
      async ({ request, server, body }) => await createPortalLink(app, request, server, body as URLSearchParams),
      { dashboard: "customer:write" },
    )
    .get(AUDIT_PATH, ({ request }) => auditPage(app, request), { dashboard: "audit_log:read" })
    .get(EVENTS_PATH, ({ request }) => eventsPage(app, request), { dashboard: "event:read" });
  // The rate limits and credits of a key or a service account (SPEC §14): their page, for anyone
  // who may read the list, and its three forms, for whoever may change them there.
  for (const [kind, list, read, write] of LIMITS_OWNERS) {
    controller
      .get(`${list}/:id/limits`, ({ request, params }) => limitsPage(app, request, kind, params.id), {
        dashboard: read,
        params: IdParams,
      })
      .post(
        `${list}/:id/limits`,
        ({ request, server, params, body }) =>
          saveRateLimits(app, request, server, kind, params.id, body as URLSearchParams),
        { dashboard: write, params: IdParams },
      )
      .post(
        `${list}/:id/credits`,
        ({ request, server, params, body }) =>
          saveCredits(app, request, server, kind, params.id, body as URLSearchParams),
        { dashboard: write, params: IdParams },
      )
      .post(
        `${list}/:id/credits/reset`,
        ({ request, server, params, body }) =>
          resetCredits(app, request, server, kind, params.id, body as URLSearchParams),
        { dashboard: write, params: IdParams },
      );
  }
  for (const [name, { path, type }] of Object.entries(ASSETS)) {
    controller.get(
      `${ASSETS_PATH}/${name}`,
      async ({ request }) => assetResponse(request, await loadStatic(path), type),
      { dashboardPublic: true },
    );
  }
  // Any other address under /dashboard: a page saying there is none, never the API's JSON.
  controller.get(`${DASHBOARD_PATH}/*`, async ({ request }) => await notFoundPage(app, request), {
    dashboardPublic: true,
  });
  return controller;
}
