import type { AppContext } from "../../../context";
import { openPortalSession } from "../../customers/portal-session";
import { searchCustomers } from "../../customers/search";
import { attempt, attemptAs, field } from "../forms";
import { html, when } from "../html";
import {
  banner,
  csrfField,
  dialog,
  htmlResponse,
  may,
  offsetOf,
  PAGE_SIZE,
  pager,
  signedInPage,
  table,
} from "../layout";
import { Reveals } from "../reveal";
import { DASHBOARD_PATH, redirect, type Server, visitOf } from "../session";

export const CUSTOMERS_PATH = `${DASHBOARD_PATH}/customers`;
export const PORTAL_LINK_PATH = `${CUSTOMERS_PATH}/portal`;
export const PORTAL_LINK_SHOWN_ONCE =
  "Anyone with this link sees this customer's portal until it expires. It is shown once: copy or open it now.";
/** The longest search the box takes (the API's longest external id). */
const SEARCH_MAX = 255;

interface PortalLink {
  name: string;
  externalId: string;
  url: string;
  expiresAt: string;
}

interface View {
  portal?: PortalLink;
  error?: string;
  status?: number;
}

function portalDialog(link: PortalLink) {
  return dialog({
    id: "portal-link",
    title: `Portal link for ${link.name}`,
    open: true,
    closeTo: CUSTOMERS_PATH,
    className: "reveal",
    body: html`<p class="warning" role="alert"><strong>${PORTAL_LINK_SHOWN_ONCE}</strong></p>
      <p class="muted small">
        Expires ${when(link.expiresAt)} (customer <span class="mono">${link.externalId}</span>).
      </p>
      <label for="portal-url">Link</label>
      <div class="copy-row">
        <input id="portal-url" class="mono" type="text" readonly value="${link.url}" spellcheck="false" />
        <button type="button" data-copy="portal-url">Copy</button>
      </div>
      <p class="muted small" aria-live="polite" data-copy-status></p>
      <div class="actions">
        <a class="button secondary" href="${link.url}" target="_blank" rel="noopener noreferrer">Open portal</a
        ><a class="button" href="${CUSTOMERS_PATH}" data-close>Done</a>
      </div>`,
  });
}

async function render(app: AppContext, request: Request, view: View): Promise<Response> {
  const visit = visitOf(request);
  const { principal } = visit;
  const query = new URL(request.url).searchParams;
  const text = field(query, "q")?.trim().slice(0, SEARCH_MAX);
  const offset = offsetOf(query);
  const found = await attempt(() => searchCustomers(app.reads, principal, {}, { limit: PAGE_SIZE, offset }, text));
  const { rows, total } = found.ok ? found.value : { rows: [], total: 0 };
  const opensPortals = may(visit, "customer:write");
  const tableRows = rows.map(
    (c) =>
      html`<tr>
        <th scope="row" class="name">${c.name || html`<span class="muted">(no name)</span>`}</th>
        <td class="mono id">${c.external_id}</td>
        <td class="id">${c.email || html`<span class="muted">—</span>`}</td>
        <td>${when(c.created_at)}</td>
        ${
          opensPortals
            ? html`<td class="row-actions">
                <form method="post" action="${PORTAL_LINK_PATH}">
                  ${csrfField(visit)}<input type="hidden" name="external_id" value="${c.external_id}" />
                  <button type="submit" class="small secondary" aria-label="Portal link for ${c.name || c.external_id}">
                    Portal link
                  </button>
                </form>
              </td>`
            : null
        }
      </tr>`,
  );
  const content = html`${banner("error", view.error ?? (found.ok ? null : found.message))}
    <p class="lead">
      The customers of this environment, as <code>/v1/customers</code> lists them. A portal link opens the customer
      portal for one of them (for an hour, by default).
    </p>
    <div class="toolbar">
      <form method="get" action="${CUSTOMERS_PATH}" class="inline-form search" role="search">
        <label for="customer-search">Search</label>
        <input
          id="customer-search"
          name="q"
          type="search"
          maxlength="${SEARCH_MAX}"
          value="${text ?? ""}"
          placeholder="Name, email or external ID"
        />
        <button type="submit" class="secondary">Search</button>
        ${text ? html`<a href="${CUSTOMERS_PATH}">Clear</a>` : null}
      </form>
      <span class="muted small"
        >${total} customer${total === 1 ? "" : "s"}${text ? html` matching “${text}”` : " in this environment"}</span
      >
    </div>
    ${table(
      "Customers",
      ["Name", "External ID", "Email", "Created", ...(opensPortals ? ["Actions"] : [])],
      tableRows,
      text ? "No customer matches." : "No customers in this environment yet.",
    )}
    ${pager({ path: CUSTOMERS_PATH, query, offset, shown: rows.length, total, drop: ["portal"] })}
    ${view.portal ? portalDialog(view.portal) : null}`;
  return htmlResponse(await signedInPage(app, visit, CUSTOMERS_PATH, "Customers", content), {
    status: view.status ?? (found.ok ? 200 : found.status),
  });
}

/** Portal links just made, waiting for the page that shows them once (see Reveals). */
const revealed = new Reveals<PortalLink>();

export function customersPage(app: AppContext, request: Request): Promise<Response> {
  const query = new URL(request.url).searchParams;
  const portal = revealed.take(visitOf(request).principal.credential.id, query.get("portal"));
  return render(app, request, { portal });
}

/** "Portal link": a portal session through the API's own service (audited), shown once. */
export async function createPortalLink(
  app: AppContext,
  request: Request,
  server: Server | null,
  form: URLSearchParams,
): Promise<Response> {
  const externalId = form.get("external_id") ?? "";
  const result = await attemptAs(
    app,
    request,
    server,
    async (_principal, audit) => await openPortalSession(app, audit, externalId, server?.port),
  );
  if (!result.ok) return render(app, request, { error: result.message, status: result.status });
  const { session, customer } = result.value;
  const id = revealed.put(visitOf(request).principal.credential.id, {
    name: customer.name || customer.external_id,
    externalId: customer.external_id,
    url: session.url,
    expiresAt: session.expires_at,
  });
  return redirect(`${CUSTOMERS_PATH}?portal=${id}`);
}
