import type { AppContext } from "../../../context";
import type { RoleCatalog } from "../../rbac/service";
import { liveKeyCounts } from "../../secrets/read";
import { CreateUserBody, type UserRow, UpdateUserBody } from "../../users/model";
import { searchAccounts } from "../../users/search";
import { archiveAccount, createAccount, findUser, renameAccount } from "../../users/service";
import { attemptAs, field } from "../forms";
import { readLimitsOfOwners } from "../../limits/read";
import { NO_LIMITS } from "../../limits/model";
import { limitsSummary } from "./limits-summary";
import { checkLike } from "../../../http/validation";
import { html, type Html, when } from "../html";
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
  may,
} from "../layout";
import { DASHBOARD_PATH, redirect, visitOf, type Server } from "../session";

export const SERVICE_ACCOUNTS_PATH = `${DASHBOARD_PATH}/service-accounts`;

/** What each notice code says (a code in the address, never text from it). */
const NOTICES: Record<string, string> = {
  created: "Service account created.",
  renamed: "Service account renamed.",
  archived: "Service account archived: its keys stopped working.",
};

export const ARCHIVE_WARNING = "Its keys stop working now.";

/** Roles by name, as a person reads them (an id no longer in the catalog, by its id). */
export function rolesText(catalog: RoleCatalog, roles: string[]): Html {
  return html`${roles.map((r, i) => html`${i ? ", " : ""}<span class="role">${catalog.find(r)?.name ?? r}</span>`)}`;
}

/** The role checkboxes, each with one line on what it allows; super_admin marked as a root credential. */
function roleChoices(catalog: RoleCatalog, checked: string[]): Html {
  return html`<fieldset class="roles">
    <legend>Roles <span class="muted">(at least one)</span></legend>
    ${catalog.list("service_account").map(
      (role) =>
        html`<label class="choice" for="role-${role.id}">
          <input
            type="checkbox"
            id="role-${role.id}"
            name="roles"
            value="${role.id}"
            ${checked.includes(role.id) ? html` checked` : null}
          />
          <span
            ><strong>${role.name}</strong
            >${role.id === "super_admin" ? html` <span class="badge root">root credential</span>` : null}
            <span class="muted small block">${role.description}.</span></span
          >
        </label>`,
    )}
  </fieldset>`;
}

interface View {
  create?: { open: boolean; name?: string; roles?: string[]; error?: string };
  rename?: { id: string; name?: string; error?: string };
  archive?: { id: string; error?: string };
  error?: string;
  status?: number;
}

async function render(app: AppContext, request: Request, view: View): Promise<Response> {
  // Balances spent in memory are written first, so the limits under each name show them as they are.
  await app.credits.flush();
  const visit = visitOf(request);
  const { principal } = visit;
  const query = new URL(request.url).searchParams;
  const offset = offsetOf(query);
  const { rows, total } = await searchAccounts(
    app.reads,
    principal.tenantId,
    { type: "service_account" },
    { limit: PAGE_SIZE, offset },
  );
  const notice = NOTICES[query.get("notice") ?? ""];
  const keyCounts = await liveKeyCounts(
    app.db,
    { tenantId: principal.tenantId, environmentId: principal.environmentId },
    rows.map((account) => account.id),
  );
  const liveKeys = (account: UserRow) => keyCounts.get(account.id) ?? 0;
  const limits = await readLimitsOfOwners(
    app.db,
    { tenantId: principal.tenantId, environmentId: principal.environmentId },
    rows.map((account) => account.id),
  );
  // The name, the id, and the account's limits when it has some.
  const nameCell = (account: UserRow) => {
    const summary = limitsSummary(limits.get(account.id) ?? NO_LIMITS);
    return html`${account.name}<span class="muted small block mono">${account.id}</span>${summary}`;
  };
  const tableRows = rows.map(
    (account) =>
      html`<tr>
        <th scope="row">${nameCell(account)}</th>
        <td>${rolesText(app.roles, JSON.parse(account.roles) as string[])}</td>
        <td>${statusBadge(account.status)}</td>
        <td class="num">${liveKeys(account)}</td>
        <td>${when(account.created_at)}</td>
        <td class="row-actions">
          <a
            class="button small secondary"
            href="${SERVICE_ACCOUNTS_PATH}/${account.id}/limits"
            aria-label="Limits of ${account.name}"
            >Limits</a
          >
          ${
            account.status === "published" && may(visit, "user:write")
              ? html`<a class="button small secondary" href="${SERVICE_ACCOUNTS_PATH}?rename=${account.id}">Rename</a>
                  <a class="button small danger" href="${SERVICE_ACCOUNTS_PATH}?archive=${account.id}">Archive</a>`
              : null
          }
        </td>
      </tr>`,
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  // A dialog's account may be on another page than this one.
  const find = async (id: string): Promise<UserRow | undefined> => {
    const found = byId.get(id) ?? (await findUser(app.db, principal.tenantId, id));
    return found?.type === "service_account" ? found : undefined;
  };
  const renaming = view.rename ? await find(view.rename.id) : undefined;
  const archiving = view.archive ? await find(view.archive.id) : undefined;
  const create = view.create ?? { open: false };
  const content = html`${banner("notice", notice)}${banner("error", view.error)}
    <p class="lead">
      Service accounts are identities for your services: they hold roles, and their API keys act with those roles. They
      cannot sign in.
    </p>
    <div class="toolbar">
      ${
        may(visit, "user:write")
          ? html`<a class="button" href="${SERVICE_ACCOUNTS_PATH}?create=1" data-dialog="create-account"
              >Create service account</a
            >`
          : null
      }
      <span class="muted small"
        >${total} service account${total === 1 ? "" : "s"} · live keys, limits and credits in this environment</span
      >
    </div>
    ${table("Service accounts", ["Name", "Roles", "Status", "Live keys", "Created", "Actions"], tableRows, "No service accounts yet.")}
    ${pager({ path: SERVICE_ACCOUNTS_PATH, query, offset, shown: rows.length, total, drop: ["notice", "create", "rename", "archive"] })}
    ${
      may(visit, "user:write")
        ? dialog({
            id: "create-account",
            title: "Create service account",
            open: create.open,
            closeTo: SERVICE_ACCOUNTS_PATH,
            body: html`<form method="post" action="${SERVICE_ACCOUNTS_PATH}" class="stack">
              ${csrfField(visit)}${banner("error", create.error)}
              <label for="account-name">Name</label>
              <input
                id="account-name"
                name="name"
                type="text"
                required
                maxlength="255"
                value="${create.name ?? ""}"
                placeholder="Event Ingestion Worker"
              />
              ${roleChoices(app.roles, create.roles ?? [])}
              ${dialogActions(SERVICE_ACCOUNTS_PATH, "Create Service Account")}
            </form>`,
          })
        : null
    }
    ${
      renaming && view.rename
        ? dialog({
            id: "rename-account",
            title: `Rename ${renaming.name}`,
            open: true,
            closeTo: SERVICE_ACCOUNTS_PATH,
            body: html`<form method="post" action="${SERVICE_ACCOUNTS_PATH}/${renaming.id}/rename" class="stack">
              ${csrfField(visit)}${banner("error", view.rename.error)}
              <label for="rename-name">New name</label>
              <input
                id="rename-name"
                name="name"
                type="text"
                required
                maxlength="255"
                value="${view.rename.name ?? renaming.name}"
              />
              ${dialogActions(SERVICE_ACCOUNTS_PATH, "Rename")}
            </form>`,
          })
        : null
    }
    ${
      archiving && view.archive
        ? dialog({
            id: "archive-account",
            title: `Archive ${archiving.name}?`,
            open: true,
            closeTo: SERVICE_ACCOUNTS_PATH,
            body: html`<form method="post" action="${SERVICE_ACCOUNTS_PATH}/${archiving.id}/archive" class="stack">
              ${csrfField(visit)}${banner("error", view.archive.error)}
              <p class="warning">
                <strong>${ARCHIVE_WARNING}</strong> Every API key of this account fails from the next request. The
                account and its keys stay in the lists and the audit log.
              </p>
              ${dialogActions(SERVICE_ACCOUNTS_PATH, "Archive", true)}
            </form>`,
          })
        : null
    }`;
  return htmlResponse(await signedInPage(app, visit, SERVICE_ACCOUNTS_PATH, "Service Accounts", content), {
    status: view.status,
  });
}

export function serviceAccountsPage(app: AppContext, request: Request): Promise<Response> {
  const query = new URL(request.url).searchParams;
  const rename = query.get("rename");
  const archive = query.get("archive");
  return render(app, request, {
    create: { open: query.get("create") === "1" },
    rename: rename ? { id: rename } : undefined,
    archive: archive ? { id: archive } : undefined,
  });
}

export async function createServiceAccount(
  app: AppContext,
  request: Request,
  server: Server | null,
  form: URLSearchParams,
): Promise<Response> {
  const name = field(form, "name");
  const roles = form.getAll("roles");
  const result = await attemptAs(app, request, server, async (principal, audit) => {
    const input = checkLike(CreateUserBody, { type: "service_account" as const, roles, ...(name ? { name } : {}) });
    return await createAccount(app, principal, audit, input);
  });
  if (result.ok) return redirect(`${SERVICE_ACCOUNTS_PATH}?notice=created`);
  return render(app, request, { create: { open: true, name, roles, error: result.message }, status: result.status });
}

export async function renameServiceAccount(
  app: AppContext,
  request: Request,
  server: Server | null,
  id: string,
  form: URLSearchParams,
): Promise<Response> {
  const name = form.get("name") ?? "";
  const result = await attemptAs(app, request, server, async (principal, audit) => {
    const input = checkLike(UpdateUserBody, { name });
    return await renameAccount(app, principal, audit, id, input);
  });
  if (result.ok) return redirect(`${SERVICE_ACCOUNTS_PATH}?notice=renamed`);
  return render(app, request, {
    rename: { id, name, error: result.message },
    error: result.message,
    status: result.status,
  });
}

export async function archiveServiceAccount(
  app: AppContext,
  request: Request,
  server: Server | null,
  id: string,
): Promise<Response> {
  const result = await attemptAs(
    app,
    request,
    server,
    async (principal, audit) => await archiveAccount(app, principal, audit, id),
  );
  if (result.ok) return redirect(`${SERVICE_ACCOUNTS_PATH}?notice=archived`);
  return render(app, request, { error: result.message, status: result.status });
}
