import type { AppContext } from "../../../context";
import type { Principal } from "../../auth/model";
import {
  AUDIT_ACTIONS,
  auditActionNamed,
  RESOURCE_TYPES,
  type ResourceType,
  resourceTypeLabel,
  resourceTypeOfPrefix,
} from "../../audit/actions";
import { AuditLogQuery } from "../../audit/model";
import { listAuditLogs, toAuditLogResponse } from "../../audit/service";
import { getCustomer } from "../../customers/read";
import { findEnvironment } from "../../environments/service";
import { getKey } from "../../secrets/read";
import { findTenant } from "../../tenants/service";
import { findUser } from "../../users/service";
import { attempt, field } from "../forms";
import { checkLike } from "../../../http/validation";
import { html, type Html, when } from "../html";
import { banner, htmlResponse, offsetOf, PAGE_SIZE, pager, signedInPage, table } from "../layout";
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

/** The fields that differ between before and after (unchanged ones left out), each with both values. */
function changedFields(changes: { before?: unknown; after?: unknown } | null) {
  const before = flatten(changes?.before ?? undefined);
  const after = flatten(changes?.after ?? undefined);
  const paths = [...new Set([...before.keys(), ...after.keys()])].filter((p) => before.get(p) !== after.get(p));
  return paths.map((path) => ({ path, before: before.get(path), after: after.get(path) }));
}

/**
 * Before and after, field by field: what was removed, added and changed. A fixed layout, values
 * wrapped anywhere: however long a value, the table is as wide as its row and no column is cut.
 */
export function diffRows(changes: { before?: unknown; after?: unknown } | null): Html {
  const fields = changedFields(changes);
  if (fields.length === 0) return html`<p class="muted small">No recorded changes.</p>`;
  const value = (text: string | undefined, tag: "del" | "ins") =>
    text === undefined
      ? html`<span class="muted">—</span>`
      : tag === "del"
        ? html`<del>${text}</del>`
        : html`<ins>${text}</ins>`;
  return html`<table class="diff">
    <thead>
      <tr>
        <th scope="col">Field</th>
        <th scope="col">Before</th>
        <th scope="col">After</th>
      </tr>
    </thead>
    <tbody>
      ${fields.map(
        (f) =>
          html`<tr>
            <th scope="row" class="mono">${f.path}</th>
            <td class="mono">${value(f.before, "del")}</td>
            <td class="mono">${value(f.after, "ins")}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/**
 * The names of the resources a page of rows is about, by `type:id`, looked up through each
 * resource's own service in the person's tenant (and environment, for what lives in one). A
 * resource gone, or of a type with no name (integration secrets), has none: the id shows alone.
 * Keys are named whoever owns them: audit_log:read already shows every row's before and after.
 */
async function resourceNames(
  app: AppContext,
  principal: Principal,
  rows: { resource_type: string; resource_id: string }[],
) {
  const { tenantId, environmentId } = principal;
  const nameOf = async (type: string, id: string): Promise<string | null | undefined> => {
    try {
      switch (type as ResourceType) {
        case "secret":
          return (await getKey(app.db, { tenantId, environmentId, ownerId: null }, id)).name;
        case "user":
        case "service_account": {
          const account = await findUser(app.db, tenantId, id);
          return account?.name || account?.email;
        }
        case "customer": {
          const customer = await getCustomer(app.db, { tenantId, environmentId }, id);
          return customer.name || customer.external_id;
        }
        case "environment":
          return (await findEnvironment(app.db, tenantId, id))?.name;
        case "tenant":
          return id === tenantId ? (await findTenant(app.db, tenantId))?.name : null;
        default:
          return null;
      }
    } catch {
      return null;
    }
  };
  const names = new Map<string, string>();
  for (const { resource_type: type, resource_id: id } of rows) {
    const key = `${type}:${id}`;
    if (names.has(key)) continue;
    const name = await nameOf(type, id);
    if (name) names.set(key, name);
  }
  return names;
}

/** An action's name with line-break chances after its dots and underscores (`customer.portal_session_created`). */
function breakable(name: string): Html {
  return html`${name.split(/(?<=[._])/).map((part, i) => html`${i ? html`<wbr />` : null}${part}`)}`;
}

/** The changed fields a folded entry names: a few, then how many more. */
const NAMED_FIELDS = 4;

function fieldsSummary(paths: string[]): string {
  if (paths.length === 0) return "no recorded changes";
  const named = paths.slice(0, NAMED_FIELDS).join(", ");
  return paths.length > NAMED_FIELDS ? `${named} and ${paths.length - NAMED_FIELDS} more` : named;
}

const TYPES = Object.entries(RESOURCE_TYPES) as [ResourceType, (typeof RESOURCE_TYPES)[ResourceType]][];

/** A <select>'s options; a chosen value that is none of them (typed into the address) is kept as one more. */
function choices(chosen: string | undefined, first: string, groups: Html, known: boolean): Html {
  return html`<option value="" ${chosen === undefined ? html` selected` : null}>${first}</option>
    ${known || chosen === undefined ? null : html`<option value="${chosen}" selected>${chosen}</option>`} ${groups}`;
}

function option(value: string, label: string, chosen: string | undefined): Html {
  return html`<option value="${value}" ${value === chosen ? html` selected` : null}>${label}</option>`;
}

/**
 * The action filter, from the catalogue: by resource type, each with "Any … action" (`secret.*`)
 * first. A filter typed into the address in another form the API accepts (`secret`, a former
 * name such as `secret.deleted`) selects the option that means the same.
 */
function actionChoices(filter: string | undefined): Html {
  const type = filter === undefined ? undefined : resourceTypeOfPrefix(filter);
  const chosen = type ? `${type}.*` : filter === undefined ? undefined : (auditActionNamed(filter)?.name ?? filter);
  const known = type !== undefined || AUDIT_ACTIONS.some((a) => a.name === chosen);
  const groups = TYPES.map(
    ([type, names]) =>
      html`<optgroup label="${names.many}">
        ${option(`${type}.*`, `Any ${names.one} action`, chosen)}
        ${AUDIT_ACTIONS.filter((a) => a.resourceType === type).map((a) => option(a.name, a.label, chosen))}
      </optgroup>`,
  );
  return choices(chosen, "Any action", html`${groups}`, known);
}

function resourceTypeChoices(chosen: string | undefined): Html {
  const known = chosen !== undefined && Object.hasOwn(RESOURCE_TYPES, chosen);
  return choices(
    chosen,
    "Any resource",
    html`${TYPES.map(([type, names]) => option(type, names.many, chosen))}`,
    known,
  );
}

const FILTER_LABELS = {
  action: "Action",
  resource_type: "Resource type",
  resource_id: "Resource id",
  actor_id: "Actor id",
  from: "From",
  to: "To",
} as const;
type FilterName = keyof typeof FILTER_LABELS;

/** The filters in force, as one line the folded filter panel shows ("Action: API key revoked · From: 2026-05-01"). */
function activeFilters(values: Record<FilterName, string | undefined>): string {
  const shown = (name: FilterName, value: string) => {
    if (name === "action") {
      const type = resourceTypeOfPrefix(value);
      return type ? `any ${RESOURCE_TYPES[type].one} action` : (auditActionNamed(value)?.label ?? value);
    }
    if (name === "resource_type") return resourceTypeLabel(value);
    return value;
  };
  return (Object.keys(FILTER_LABELS) as FilterName[])
    .flatMap((name) => (values[name] ? [`${FILTER_LABELS[name]}: ${shown(name, values[name] as string)}`] : []))
    .join(" · ");
}

export async function auditPage(app: AppContext, request: Request): Promise<Response> {
  const visit = visitOf(request);
  const query = new URL(request.url).searchParams;
  const values: Record<FilterName, string | undefined> = {
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
  const names = await resourceNames(app, visit.principal, rows);
  const filterBy = (name: FilterName, value: string) => `${AUDIT_PATH}?${new URLSearchParams({ [name]: value })}`;
  const tableRows = rows.map((row) => {
    const action = auditActionNamed(row.action);
    const name = names.get(`${row.resource_type}:${row.resource_id}`);
    const fields = changedFields(row.changes as { before?: unknown; after?: unknown });
    return html`<tr class="entry">
        <td>${when(row.created_at)}</td>
        <th scope="row">
          ${action?.label ?? row.action}<span class="muted small block mono">${breakable(row.action)}</span>
        </th>
        <td class="resource">
          ${name ? html`<span class="block">${name}</span>` : null}<span class="muted small block"
            >${resourceTypeLabel(row.resource_type)} ·
            <a class="mono" href="${filterBy("resource_id", row.resource_id)}" title="Only this resource"
              >${row.resource_id}</a
            ></span
          >
        </td>
        <td>
          ${
            row.actor.id
              ? html`<a href="${filterBy("actor_id", row.actor.id)}" title="Only this actor (${row.actor.id})"
                  >${row.actor.name ?? row.actor.id}</a
                >`
              : html`<span class="muted">${row.actor.name ?? "unknown"}</span>`
          }<span class="muted small block">${row.actor.type}</span>
        </td>
      </tr>
      <tr class="changes">
        <td colspan="4">
          <details>
            <summary>
              Before / after
              <span class="muted small">${fieldsSummary(fields.map((f) => f.path))}</span>
            </summary>
            ${diffRows(row.changes as { before?: unknown; after?: unknown })}
            <p class="muted small">Request <span class="mono">${row.request_id ?? "—"}</span> from ${row.ip ?? "—"}</p>
          </details>
        </td>
      </tr>`;
  });
  const text = (name: "resource_id" | "actor_id") =>
    html`<div>
      <label for="f-${name}">${FILTER_LABELS[name]}</label
      ><input id="f-${name}" name="${name}" type="text" maxlength="255" value="${values[name] ?? ""}" />
    </div>`;
  const date = (name: "from" | "to") =>
    html`<div>
      <label for="f-${name}">${FILTER_LABELS[name]}</label
      ><input id="f-${name}" name="${name}" type="date" value="${values[name] ?? ""}" />
    </div>`;
  const active = activeFilters(values);
  const content = html`${result.ok ? null : banner("error", result.message)}
    <details class="filter-panel" open ${active ? null : html`data-fold-on-phone`}>
      <summary>Filters ${active ? html`<span class="muted small">${active}</span>` : null}</summary>
      <form method="get" action="${AUDIT_PATH}" class="filters" aria-label="Filter the audit log">
        <div>
          <label for="f-action">${FILTER_LABELS.action}</label
          ><select id="f-action" name="action">
            ${actionChoices(values.action)}
          </select>
        </div>
        <div>
          <label for="f-resource_type">${FILTER_LABELS.resource_type}</label
          ><select id="f-resource_type" name="resource_type">
            ${resourceTypeChoices(values.resource_type)}
          </select>
        </div>
        ${text("resource_id")}${text("actor_id")}${date("from")}${date("to")}
        <div class="filter-actions">
          <button type="submit">Filter</button> <a class="button secondary" href="${AUDIT_PATH}">Clear</a>
        </div>
      </form>
    </details>
    <p class="muted small">${total} row${total === 1 ? "" : "s"} in this environment, newest first.</p>
    <div class="audit-entries">
      ${table("Audit log", ["When", "Action", "Resource", "Actor"], tableRows, "No audit rows match.")}
    </div>
    ${pager({ path: AUDIT_PATH, query, offset, shown: rows.length, total, labels: { previous: "Newer", next: "Older" } })}`;
  return htmlResponse(await signedInPage(app, visit, AUDIT_PATH, "Audit log", content), {
    status: result.ok ? 200 : result.status,
  });
}
