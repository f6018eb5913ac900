import type { AppContext } from "../../../context";
import { AuditLogQuery } from "../../audit/model";
import { listAuditLogs, toAuditLogResponse } from "../../audit/service";
import { attempt, field } from "../forms";
import { checkLike } from "../../../http/validation";
import { html, type Html } from "../html";
import { banner, htmlResponse, offsetOf, PAGE_SIZE, pager, signedInPage, table, when } from "../layout";
import { DASHBOARD_PATH, visitOf } from "../session";

export const AUDIT_PATH = `${DASHBOARD_PATH}/audit`;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Every leaf of a value by its path (`roles[0]`, `tenant.name`); an empty object or array is a leaf. */
function flatten(value: unknown, path = "", out = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === "object" && Object.keys(value).length > 0) {
    for (const [key, item] of Object.entries(value)) {
      const child = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      flatten(item, child, out);
    }
  } else if (path !== "" || value !== undefined) {
    out.set(path || "(value)", value === undefined ? "" : JSON.stringify(value));
  }
  return out;
}

/** Before and after, field by field: what was removed, added and changed (unchanged fields left out). */
export function diffRows(changes: { before?: unknown; after?: unknown } | null): Html {
  const before = flatten(changes?.before ?? undefined);
  const after = flatten(changes?.after ?? undefined);
  const paths = [...new Set([...before.keys(), ...after.keys()])].filter((p) => before.get(p) !== after.get(p));
  if (paths.length === 0) return html`<p class="muted small">No recorded changes.</p>`;
  return html`<table class="diff">
    <thead>
      <tr>
        <th scope="col">Field</th>
        <th scope="col">Before</th>
        <th scope="col">After</th>
      </tr>
    </thead>
    <tbody>
      ${paths.map(
        (p) =>
          html`<tr>
            <th scope="row" class="mono">${p}</th>
            <td class="mono">
              ${before.has(p) ? html`<del>${before.get(p)}</del>` : html`<span class="muted">—</span>`}
            </td>
            <td class="mono">
              ${after.has(p) ? html`<ins>${after.get(p)}</ins>` : html`<span class="muted">—</span>`}
            </td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export async function auditPage(app: AppContext, request: Request): Promise<Response> {
  const visit = visitOf(request);
  const query = new URL(request.url).searchParams;
  const values = {
    action: field(query, "action"),
    resource_type: field(query, "resource_type"),
    resource_id: field(query, "resource_id"),
    actor_id: field(query, "actor_id"),
    from: field(query, "from"),
    to: field(query, "to"),
  };
  const offset = offsetOf(query);
  const result = await attempt(() => {
    const filters = checkLike(AuditLogQuery, {
      ...(values.action ? { action: values.action } : {}),
      ...(values.resource_type ? { resource_type: values.resource_type } : {}),
      ...(values.resource_id ? { resource_id: values.resource_id } : {}),
      ...(values.actor_id ? { actor_id: values.actor_id } : {}),
      ...(values.from ? { start_time: DATE.test(values.from) ? `${values.from}T00:00:00Z` : values.from } : {}),
      ...(values.to
        ? {
            end_time: DATE.test(values.to)
              ? new Date(Date.parse(`${values.to}T00:00:00Z`) + 86_400_000).toISOString()
              : values.to,
          }
        : {}),
    });
    return listAuditLogs(app.reads, visit.principal, filters, { limit: PAGE_SIZE, offset });
  });
  const rows = result.ok ? result.value.rows.map(toAuditLogResponse) : [];
  const total = result.ok ? result.value.total : 0;
  const tableRows = rows.map(
    (row) =>
      html`<tr>
        <td>${when(row.created_at)}</td>
        <th scope="row" class="mono">${row.action}</th>
        <td>${row.resource_type}<span class="muted small block mono">${row.resource_id}</span></td>
        <td>
          ${
            row.actor.id
              ? html`<a
                  href="${AUDIT_PATH}?actor_id=${encodeURIComponent(row.actor.id)}"
                  title="Only this actor (${row.actor.id})"
                  >${row.actor.name ?? row.actor.id}</a
                >`
              : html`<span class="muted">${row.actor.name ?? "unknown"}</span>`
          }<span class="muted small block">${row.actor.type}</span>
        </td>
        <td>
          <details>
            <summary>Before / after</summary>
            ${diffRows(row.changes as { before?: unknown; after?: unknown })}
            <p class="muted small">Request <span class="mono">${row.request_id ?? "—"}</span> from ${row.ip ?? "—"}</p>
          </details>
        </td>
      </tr>`,
  );
  const input = (id: keyof typeof values, label: string, type = "text") =>
    html`<div>
      <label for="f-${id}">${label}</label
      ><input id="f-${id}" name="${id}" type="${type}" maxlength="255" value="${values[id] ?? ""}" />
    </div>`;
  const content = html`${result.ok ? null : banner("error", result.message)}
    <form method="get" action="${AUDIT_PATH}" class="filters" aria-label="Filter the audit log">
      ${input("action", "Action")}${input("resource_type", "Resource type")}${input("resource_id", "Resource id")}${input("actor_id", "Actor id")}
      ${input("from", "From", "date")}${input("to", "To", "date")}
      <div class="filter-actions">
        <button type="submit">Filter</button> <a class="button secondary" href="${AUDIT_PATH}">Clear</a>
      </div>
    </form>
    <p class="muted small">${total} row${total === 1 ? "" : "s"} in this environment, newest first.</p>
    ${table("Audit log", ["When", "Action", "Resource", "Actor", "Changes"], tableRows, "No audit rows match.")}
    ${pager({ path: AUDIT_PATH, query, offset, shown: rows.length, total, labels: { previous: "Newer", next: "Older" } })}`;
  return htmlResponse(await signedInPage(app, visit, AUDIT_PATH, "Audit log", content), {
    status: result.ok ? 200 : result.status,
  });
}
