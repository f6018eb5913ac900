import type { AppContext } from "../../context";
import type { Permission } from "../rbac/model";
import { listEnvironments } from "../environments/service";
import { pageCsp } from "../portal-page";
import { type Html, html } from "./html";
import { CSRF_FIELD, DASHBOARD_PATH, type Visit } from "./session";

export const ASSETS_PATH = `${DASHBOARD_PATH}/assets`;

/**
 * The portal page's policy (this server's script and style only: no inline code, no other
 * origin, no framing, no <base>), except that the dashboard posts forms, to itself only.
 */
export const DASHBOARD_CSP = pageCsp("'self'");

/** The sections, in the order the nav lists them; `group` puts one under "Developers". */
export const SECTIONS = [
  { path: `${DASHBOARD_PATH}/api-keys`, label: "API Keys", group: "Developers" },
  { path: `${DASHBOARD_PATH}/service-accounts`, label: "Service Accounts", group: "Developers" },
  { path: `${DASHBOARD_PATH}/users`, label: "Users", group: null },
  { path: `${DASHBOARD_PATH}/customers`, label: "Customers", group: null },
  { path: `${DASHBOARD_PATH}/audit`, label: "Audit log", group: null },
  { path: `${DASHBOARD_PATH}/events`, label: "Events", group: null },
] as const;

/** The API's own reference (OpenAPI UI), served by the same process; the nav links to it. */
export const API_REFERENCE_PATH = "/swagger";

/** What the header says on every page of a production environment, whose keys are live (`sk_live_…`). */
export const PRODUCTION_MARK = "Production — live keys";

export type SectionPath = (typeof SECTIONS)[number]["path"];

/** The signed-in person's own account (their password): reached from their name in the header. */
export const ACCOUNT_PATH = `${DASHBOARD_PATH}/account`;

/** The hidden CSRF field every form of a signed-in page carries. */
export function csrfField(visit: Visit): Html {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${visit.csrf}" />`;
}

/**
 * A field for a new password, with the rule every password in Tollgate follows (8 to 256
 * characters); `rule` false for the second of two (typed again), which the first's rule covers.
 */
export function newPasswordField(field: { id: string; name: string; label: string; rule?: boolean }): Html {
  const ruleId = `${field.id}-rule`;
  return html`<label for="${field.id}">${field.label}</label>
    <input
      id="${field.id}"
      name="${field.name}"
      type="password"
      autocomplete="new-password"
      required
      minlength="8"
      maxlength="256"
      ${field.rule === false ? null : html`aria-describedby="${ruleId}"`}
    />
    ${field.rule === false ? null : html`<p id="${ruleId}" class="muted small">At least 8 characters.</p>`}`;
}

/** A message at the top of a page: a notice (done) or an error (the API's own words). */
export function banner(kind: "notice" | "error", text: string | null | undefined): Html | null {
  if (!text) return null;
  return kind === "error"
    ? html`<div class="banner error" role="alert">${text}</div>`
    : html`<div class="banner notice" role="status">${text}</div>`;
}

function document(title: string, body: Html, bodyClass: string | null = null): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Tollgate</title>
        <link rel="stylesheet" href="${ASSETS_PATH}/dashboard.css" />
        <link rel="icon" href="${ASSETS_PATH}/icon.svg" type="image/svg+xml" />
        <script src="${ASSETS_PATH}/dashboard.js" defer></script>
      </head>
      <body ${bodyClass ? html`class="${bodyClass}"` : null}>
        ${body}
      </body>
    </html>`;
}

/**
 * Whether the signed-in person's role allows a change, so a page offers only what they may do (an
 * all_reader sees the dashboard read-only). The routes check the same permission themselves.
 */
export function may(visit: Visit, permission: Permission): boolean {
  return visit.principal.permissions.allows(permission);
}

/**
 * A page of a signed-in person: the nav, the environment switcher, sign-out, and the content.
 * `current` is the nav's section of the page, or your account page (none: a page of no section,
 * such as Not found).
 * In a production environment the header is marked, on every page, so it never looks like
 * development (keys there are live).
 */
export async function signedInPage(
  app: AppContext,
  visit: Visit,
  current: SectionPath | typeof ACCOUNT_PATH | null,
  title: string,
  content: Html,
  options: {
    returnTo?: string;
    /**
     * The page's own address, when it answers a form's POST (a refused form shown again): the
     * script puts it in the address bar, so a reload reads the page instead of posting again.
     */
    address?: string;
  } = {},
): Promise<Html> {
  const { principal } = visit;
  const environments = (await listEnvironments(app.reads, principal.tenantId, { limit: 100, offset: 0 })).rows;
  const production = environments.find((env) => env.id === principal.environmentId)?.type === "production";
  const person = await app.profiles.get(app.db, principal.tenantId, principal.userId);
  const link = (section: (typeof SECTIONS)[number]) =>
    html`<a href="${section.path}" ${section.path === current ? html` aria-current="page"` : null}
      >${section.label}</a
    >`;
  const developers = SECTIONS.filter((s) => s.group === "Developers");
  const others = SECTIONS.filter((s) => s.group === null);
  const body = html`<a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="${DASHBOARD_PATH}/api-keys"
        ><img src="${ASSETS_PATH}/icon.svg" alt="" width="22" height="22" /> Tollgate</a
      >
      ${production ? html`<p class="live-mark" role="note">${PRODUCTION_MARK}</p>` : null}
      <form class="switcher" method="post" action="${DASHBOARD_PATH}/environment">
        ${csrfField(visit)}
        <input type="hidden" name="return_to" value="${options.returnTo ?? current ?? ""}" />
        <label for="environment">Environment</label>
        <select id="environment" name="environment_id" data-autosubmit>
          ${environments.map(
            (env) =>
              html`<option value="${env.id}" ${env.id === principal.environmentId ? html` selected` : null}>
                ${env.name}
              </option>`,
          )}
        </select>
        <button type="submit" class="secondary" data-when-no-script>Switch</button>
      </form>
      <form class="signout" method="post" action="${DASHBOARD_PATH}/sign-out">
        ${csrfField(visit)}
        <a
          class="who"
          href="${ACCOUNT_PATH}"
          title="${person?.email ?? ""}: your account and password"
          ${current === ACCOUNT_PATH ? html` aria-current="page"` : null}
          >${person?.name ?? "Your account"}</a
        >
        ${roleBadge(app, principal.credential.roles)}
        <button type="submit" class="secondary">Sign out</button>
      </form>
    </header>
    <div class="frame">
      <nav class="side" aria-label="Sections">
        <p class="group">Developers</p>
        <ul>
          ${developers.map((s) => html`<li>${link(s)}</li>`)}
        </ul>
        <ul class="rest">
          ${others.map((s) => html`<li>${link(s)}</li>`)}
        </ul>
        <ul class="outside">
          <li><a href="${API_REFERENCE_PATH}">API reference</a></li>
        </ul>
      </nav>
      <main id="main" tabindex="-1" ${options.address ? html` data-address="${options.address}"` : null}>
        <h1>${title}</h1>
        ${content}
      </main>
    </div>`;
  return document(title, body, production ? "production" : null);
}

/** A person's role beside their name when it is not full access: all_reader says it is read-only. */
function roleBadge(app: AppContext, roles: string[]): Html | null {
  if (roles.includes("super_admin")) return null;
  const names = roles.map((id) => app.roles.find(id)?.name ?? id).join(", ");
  const readOnly = roles.every((id) => id === "all_reader");
  return html`<span class="badge role-badge">${names}${readOnly ? " · read-only" : ""}</span>`;
}

/** A page before sign-in (sign-in, setup, set-password, a refusal): one centred card. */
export function cardPage(title: string, content: Html): Html {
  return document(
    title,
    html`<main id="main" class="card">
      <p class="brand"><img src="${ASSETS_PATH}/icon.svg" alt="" width="28" height="28" /> Tollgate</p>
      <h1>${title}</h1>
      ${content}
    </main>`,
    "plain",
  );
}

/** An HTML answer: never cached (pages hold keys, tokens and CSRF tokens), never framed. */
export function htmlResponse(page: Html, options: { status?: number; cookies?: string[] } = {}): Response {
  const headers = new Headers({
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": DASHBOARD_CSP,
    "cache-control": "no-store",
    // Setup and set-password pages carry their token in the address: it is never sent to another
    // site. Not no-referrer: with it, Chromium sends "Origin: null" on a form post, which the
    // Origin check (rightly) refuses.
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
  });
  for (const cookie of options.cookies ?? []) headers.append("set-cookie", cookie);
  return new Response(page.text, { status: options.status ?? 200, headers });
}

/**
 * A native <dialog> holding a form. Rendered open by the server when the page is about it (a
 * row's action, a refused form shown again), which works without script; the script makes an
 * open one modal, and opens the others from their buttons. Cancel leads back to `closeTo`.
 */
export function dialog(options: {
  id: string;
  title: string;
  open: boolean;
  closeTo: string;
  body: Html;
  className?: string;
}): Html {
  return html`<dialog
    id="${options.id}"
    class="${options.className ?? ""}"
    aria-labelledby="${options.id}-title"
    ${options.open ? html` open` : null}
  >
    <h2 id="${options.id}-title">${options.title}</h2>
    ${options.body}
    <a class="close" href="${options.closeTo}" data-close aria-label="Close">×</a>
  </dialog>`;
}

/** A dialog's buttons: Cancel (back to the list) and the action. */
export function dialogActions(closeTo: string, submit: string, danger = false): Html {
  return html`<div class="actions">
    <a class="button secondary" href="${closeTo}" data-close>Cancel</a
    ><button type="submit" ${danger ? html` class="danger"` : null}>${submit}</button>
  </div>`;
}

/** A table that scrolls sideways inside itself on a narrow screen (the page never does). */
export function table(caption: string, head: string[], rows: Html[], empty: string): Html {
  return html`<div class="table-wrap" role="region" aria-label="${caption}" tabindex="0">
    <table>
      <caption class="visually-hidden">
        ${caption}
      </caption>
      <thead>
        <tr>
          ${head.map((h) => html`<th scope="col">${h}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${
          rows.length
            ? rows
            : html`<tr>
                <td colspan="${head.length}" class="empty">${empty}</td>
              </tr>`
        }
      </tbody>
    </table>
  </div>`;
}

export function statusBadge(status: string): Html {
  const label = status === "published" ? "active" : status === "deleted" ? "revoked" : status;
  return html`<span class="badge ${status}">${label}</span>`;
}

/** Rows per page of every list (Service Accounts, API Keys, Users, Audit log). */
export const PAGE_SIZE = 50;

/** The `offset` of a list page's address: a whole number from 0 (anything else is 0). */
export function offsetOf(query: URLSearchParams): number {
  return Math.max(0, Math.min(Math.trunc(Number(query.get("offset"))) || 0, 2 ** 31 - 1));
}

/**
 * A list's "51–60 of 60" and its Previous/Next links, which keep the page's other query
 * parameters (its filters) except `drop` (one-time ones: a notice, an open dialog).
 */
export function pager(options: {
  path: string;
  query: URLSearchParams;
  offset: number;
  shown: number;
  total: number;
  drop?: string[];
  labels?: { previous: string; next: string };
}): Html | null {
  const { path, offset, shown, total } = options;
  if (total === 0) return null;
  const labels = options.labels ?? { previous: "Previous", next: "Next" };
  const keep = new URLSearchParams(options.query);
  for (const name of options.drop ?? []) keep.delete(name);
  const pageLink = (to: number) => {
    keep.set("offset", String(to));
    return `${path}?${keep.toString()}`;
  };
  return html`<nav class="pager" aria-label="Pages">
    <span class="muted small">${shown ? `${offset + 1}–${offset + shown}` : "0"} of ${total}</span>
    ${offset > 0 ? html`<a href="${pageLink(Math.max(0, offset - PAGE_SIZE))}">${labels.previous}</a>` : null}
    ${offset + PAGE_SIZE < total ? html`<a href="${pageLink(offset + PAGE_SIZE)}">${labels.next}</a>` : null}
  </nav>`;
}
