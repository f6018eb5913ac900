import type { AppContext } from "../../../context";
import { type CreatedKey, createKey } from "../../secrets/create";
import { CreateKeyBody, RotateKeyBody, type SecretStatus } from "../../secrets/model";
import { getKey, listKeys, scopeOf } from "../../secrets/read";
import { revokeKey } from "../../secrets/revoke";
import { rotateKey } from "../../secrets/rotate";
import { searchAccounts } from "../../users/search";
import { attemptAs, field } from "../forms";
import { checkLike } from "../../../http/validation";
import { html, type Html, when } from "../html";
import {
  banner,
  may,
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
import { DASHBOARD_PATH, redirect, visitOf, type Server, type Visit } from "../session";
import { Reveals } from "../reveal";
import { rolesText } from "./service-accounts";
import { VerifyKeyBody } from "../../verify/model";
import { type Verification, verifyKeyAudited } from "../../verify/service";

export const API_KEYS_PATH = `${DASHBOARD_PATH}/api-keys`;
const DAY_MS = 86_400_000;

/** The seeds' Expiration choices. */
export const EXPIRATIONS = [
  { value: "never", label: "Never" },
  { value: "7", label: "7 days" },
  { value: "30", label: "30 days" },
  { value: "60", label: "60 days" },
  { value: "90", label: "90 days" },
  { value: "date", label: "On a date" },
] as const;

/** What the rotate dialog offers: how long the old key keeps working (0: revoked at once). */
export const GRACE_PERIODS = [
  { seconds: 0, label: "None: the old key stops now" },
  { seconds: 3600, label: "1 hour" },
  { seconds: 86_400, label: "24 hours" },
  { seconds: 7 * 86_400, label: "7 days" },
] as const;

export const SHOWN_ONCE = "Copy this key now: it cannot be shown again.";

const NOTICES: Record<string, string> = { revoked: "API key revoked: it stopped working at once." };

interface CreateForm {
  name?: string;
  accountType?: string;
  serviceAccountId?: string;
  expiration?: string;
  expiresOn?: string;
}

interface View {
  create?: { open: boolean; values?: CreateForm; error?: string };
  /** The "Verify a key" box: what was asked (never the key) and what the API answered. */
  verify?: { permissions: string; result?: Verification; error?: string };
  revoke?: { id: string; error?: string };
  rotate?: { id: string; error?: string };
  created?: { key: CreatedKey; rotated: boolean };
  error?: string;
  status?: number;
}

const STATUSES: SecretStatus[] = ["published", "archived", "deleted"];

function selected(on: boolean): Html | null {
  return on ? html` selected` : null;
}

async function createDialog(app: AppContext, request: Request, create: NonNullable<View["create"]>): Promise<Html> {
  const visit = visitOf(request);
  const values = create.values ?? {};
  const { rows: accounts } = await searchAccounts(
    app.reads,
    visit.principal.tenantId,
    { type: "service_account", status: "published" },
    { limit: 1000, offset: 0 },
  );
  const type = values.accountType ?? "user";
  const expiration = values.expiration ?? "never";
  return dialog({
    id: "create-key",
    title: "Create API key",
    open: create.open,
    closeTo: API_KEYS_PATH,
    body: html`<form method="post" action="${API_KEYS_PATH}" class="stack">
      ${csrfField(visit)}${banner("error", create.error)}
      <label for="key-name">Name</label>
      <input
        id="key-name"
        name="name"
        type="text"
        required
        maxlength="255"
        value="${values.name ?? ""}"
        placeholder="Event Service Production Key"
      />
      <fieldset class="inline" data-account-type>
        <legend>Account Type</legend>
        <label class="choice" for="type-user"
          ><input
            type="radio"
            id="type-user"
            name="account_type"
            value="user"
            ${type === "user" ? html` checked` : null}
          />
          User Account</label
        >
        <label class="choice" for="type-service"
          ><input
            type="radio"
            id="type-service"
            name="account_type"
            value="service_account"
            ${type === "service_account" ? html` checked` : null}
          />
          Service Account</label
        >
      </fieldset>
      <div class="stack" data-show-for="service_account">
        <label for="key-identity">Mapped to Identity</label>
        <select id="key-identity" name="service_account_id">
          <option value="">Choose a service account</option>
          ${accounts.map((a) => html`<option value="${a.id}" ${selected(a.id === values.serviceAccountId)}>${a.name}</option>`)}
        </select>
        <p class="muted small">The key gets this service account's roles, fixed at creation.</p>
      </div>
      <label for="key-expiration">Expiration</label>
      <select id="key-expiration" name="expiration">
        ${EXPIRATIONS.map((e) => html`<option value="${e.value}" ${selected(e.value === expiration)}>${e.label}</option>`)}
      </select>
      <div class="stack" data-show-for-expiration="date">
        <label for="key-expires-on">Expires on (UTC)</label>
        <input id="key-expires-on" name="expires_on" type="date" value="${values.expiresOn ?? ""}" />
      </div>
      ${dialogActions(API_KEYS_PATH, "Create")}
    </form>`,
  });
}

function createdDialog(created: NonNullable<View["created"]>): Html {
  const { key } = created;
  return dialog({
    id: "key-created",
    title: created.rotated ? "Key rotated: here is the new key" : "API key created",
    open: true,
    closeTo: API_KEYS_PATH,
    className: "reveal",
    body: html`<p class="warning" role="alert"><strong>${SHOWN_ONCE}</strong></p>
      <label for="new-key">${key.secret.name}</label>
      <div class="copy-row">
        <input id="new-key" class="mono" type="text" readonly value="${key.apiKey}" spellcheck="false" />
        <button type="button" data-copy="new-key">Copy</button>
      </div>
      <p class="muted small" aria-live="polite" data-copy-status></p>
      <div class="actions"><a class="button" href="${API_KEYS_PATH}" data-close>Done</a></div>`,
  });
}

async function render(app: AppContext, request: Request, view: View): Promise<Response> {
  const visit = visitOf(request);
  const query = new URL(request.url).searchParams;
  const statusParam = query.get("status") as SecretStatus | null;
  const status = statusParam && STATUSES.includes(statusParam) ? statusParam : "published";
  const offset = offsetOf(query);
  const { rows, total } = await listKeys(app.reads, scopeOf(visit.principal), { status }, { limit: PAGE_SIZE, offset });
  const notice = NOTICES[query.get("notice") ?? ""];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const tableRows = rows.map(
    (k) =>
      html`<tr>
        <th scope="row">${k.name}</th>
        <td class="mono">${k.display_id}</td>
        <td>
          ${k.owner_name}<span class="muted small block"
            >${k.owner_type === "service_account" ? "Service Account" : "User Account"}</span
          >
        </td>
        <td>${rolesText(app.roles, JSON.parse(k.roles) as string[])}</td>
        <td>${statusBadge(k.status)}</td>
        <td>${when(k.created_at)}</td>
        <td>${when(k.last_used_at)}</td>
        <td>${k.expires_at ? when(k.expires_at) : html`<span class="muted">Never</span>`}</td>
        <td class="row-actions">
          ${
            k.status === "published" && may(visit, "secret:write")
              ? html`<a class="button small secondary" href="${API_KEYS_PATH}?rotate=${k.id}">Rotate</a>
                  <a class="button small danger" href="${API_KEYS_PATH}?revoke=${k.id}">Revoke</a>`
              : null
          }
        </td>
      </tr>`,
  );
  // A dialog's key may be on another page than this one.
  const find = (id: string) => {
    if (byId.has(id)) return byId.get(id);
    try {
      return getKey(app.db, scopeOf(visit.principal), id);
    } catch {
      return undefined;
    }
  };
  const revoking = view.revoke ? find(view.revoke.id) : undefined;
  const rotating = view.rotate ? find(view.rotate.id) : undefined;
  const content = html`${banner("notice", notice)}${banner("error", view.error)}
    <div class="toolbar">
      ${
        may(visit, "secret:write")
          ? html`<a class="button" href="${API_KEYS_PATH}?create=1" data-dialog="create-key">Create</a>`
          : null
      }
      <form method="get" action="${API_KEYS_PATH}" class="inline-form">
        <label for="status-filter">Show</label>
        <select id="status-filter" name="status" data-autosubmit>
          ${STATUSES.map((s) => html`<option value="${s}" ${selected(s === status)}>${s === "published" ? "Active keys" : s === "deleted" ? "Revoked keys" : "Archived keys"}</option>`)}
        </select>
        <button type="submit" class="secondary" data-when-no-script>Show</button>
      </form>
      <span class="muted small">${total} key${total === 1 ? "" : "s"} in this environment</span>
    </div>
    ${table(
      "API keys",
      ["Name", "Key", "Account", "Roles", "Status", "Created", "Last used", "Expires", "Actions"],
      tableRows,
      "No keys here yet.",
    )}
    ${pager({ path: API_KEYS_PATH, query, offset, shown: rows.length, total, drop: ["notice", "create", "created", "revoke", "rotate"] })}
    ${may(visit, "secret:verify") ? verifyBox(visit, view.verify) : null}
    ${may(visit, "secret:write") ? await createDialog(app, request, view.create ?? { open: false }) : null}
    ${view.created ? createdDialog(view.created) : null}
    ${
      revoking && view.revoke
        ? dialog({
            id: "revoke-key",
            title: `Revoke ${revoking.name}?`,
            open: true,
            closeTo: API_KEYS_PATH,
            body: html`<form method="post" action="${API_KEYS_PATH}/${revoking.id}/revoke" class="stack">
              ${csrfField(visit)}${banner("error", view.revoke.error)}
              <p class="warning">
                <strong>${revoking.display_id} stops working at once.</strong> The next request with it is refused. This
                cannot be undone.
              </p>
              ${dialogActions(API_KEYS_PATH, "Revoke", true)}
            </form>`,
          })
        : null
    }
    ${
      rotating && view.rotate
        ? dialog({
            id: "rotate-key",
            title: `Rotate ${rotating.name}`,
            open: true,
            closeTo: API_KEYS_PATH,
            body: html`<form method="post" action="${API_KEYS_PATH}/${rotating.id}/rotate" class="stack">
              ${csrfField(visit)}${banner("error", view.rotate.error)}
              <p>A new key with the same name, account, roles and expiry replaces ${rotating.display_id}.</p>
              <label for="grace">Keep the old key working for</label>
              <select id="grace" name="grace_period_seconds">
                ${GRACE_PERIODS.map((g) => html`<option value="${g.seconds}" ${selected(g.seconds === 86_400)}>${g.label}</option>`)}
              </select>
              ${dialogActions(API_KEYS_PATH, "Rotate")}
            </form>`,
          })
        : null
    }`;
  return htmlResponse(await signedInPage(app, visit, API_KEYS_PATH, "API Keys", content), { status: view.status });
}

/** Keys just made, waiting for the page that shows them once (see Reveals). */
const revealed = new Reveals<NonNullable<View["created"]>>();

export function apiKeysPage(app: AppContext, request: Request): Promise<Response> {
  const query = new URL(request.url).searchParams;
  const created = revealed.take(visitOf(request).principal.credential.id, query.get("created"));
  if (created) return render(app, request, { created });
  const revoke = query.get("revoke");
  const rotate = query.get("rotate");
  return render(app, request, {
    create: { open: query.get("create") === "1" },
    revoke: revoke ? { id: revoke } : undefined,
    rotate: rotate ? { id: rotate } : undefined,
  });
}

/** After a create or rotate: on to the page that shows the new key, once. */
function showOnce(request: Request, created: NonNullable<View["created"]>): Response {
  const id = revealed.put(visitOf(request).principal.credential.id, created);
  return redirect(`${API_KEYS_PATH}?created=${id}`);
}

/** The form's Expiration as the API's `expires_at` (absent: never). */
function expiresAtOf(values: CreateForm, now = Date.now()): string | undefined {
  const days = Number(values.expiration);
  if (values.expiration === "date") return values.expiresOn ? `${values.expiresOn}T00:00:00.000Z` : "";
  if (Number.isInteger(days) && days > 0) return new Date(now + days * DAY_MS).toISOString();
  return undefined;
}

export async function createApiKey(app: AppContext, request: Request, server: Server | null, form: URLSearchParams) {
  const values: CreateForm = {
    name: form.get("name") ?? "",
    accountType: form.get("account_type") ?? "user",
    serviceAccountId: field(form, "service_account_id"),
    expiration: form.get("expiration") ?? "never",
    expiresOn: field(form, "expires_on"),
  };
  const result = await attemptAs(app, request, server, (principal, audit) => {
    const expiresAt = expiresAtOf(values);
    const input = checkLike(CreateKeyBody, {
      name: values.name as string,
      ...(expiresAt === undefined ? {} : { expires_at: expiresAt }),
      // The API's own rule says what is missing: a service account key names its account.
      ...(values.accountType === "service_account" ? { service_account_id: values.serviceAccountId ?? "" } : {}),
    });
    return createKey(app, principal, audit, input);
  });
  if (result.ok) return showOnce(request, { key: result.value, rotated: false });
  return render(app, request, { create: { open: true, values, error: result.message }, status: result.status });
}

export async function revokeApiKey(app: AppContext, request: Request, server: Server | null, id: string) {
  const result = await attemptAs(app, request, server, (principal, audit) => revokeKey(app, principal, audit, id));
  if (result.ok) return redirect(`${API_KEYS_PATH}?notice=revoked`);
  return render(app, request, { error: result.message, status: result.status });
}

export async function rotateApiKey(
  app: AppContext,
  request: Request,
  server: Server | null,
  id: string,
  form: URLSearchParams,
) {
  const result = await attemptAs(app, request, server, (principal, audit) => {
    const grace = Number(form.get("grace_period_seconds") ?? "0");
    const input = checkLike(RotateKeyBody, { grace_period_seconds: grace });
    return rotateKey(app, principal, audit, id, input.grace_period_seconds ?? 0);
  });
  if (result.ok) return showOnce(request, { key: result.value, rotated: true });
  return render(app, request, { rotate: { id, error: result.message }, error: result.message, status: result.status });
}

export const VERIFY_PATH = `${API_KEYS_PATH}/verify`;

/**
 * "Verify a key", for an operator debugging a caller: what POST /v1/keys/verify answers for a
 * key presented in this environment. The key field is a password field, and the key is never
 * written back into the page.
 */
function verifyBox(visit: Visit, verify: View["verify"]): Html {
  const result = verify?.result;
  return html`<section class="panel verify" aria-labelledby="verify-title">
    <h2 id="verify-title">Verify a key</h2>
    <p class="muted small">
      What <code>POST /v1/keys/verify</code> answers for a key one of your services was given, in this environment.
    </p>
    <form method="post" action="${VERIFY_PATH}" class="stack">
      ${csrfField(visit)}${banner("error", verify?.error)}
      <label for="verify-key">Key</label>
      <input
        id="verify-key"
        name="key"
        type="password"
        autocomplete="off"
        spellcheck="false"
        required
        maxlength="512"
      />
      <label for="verify-permissions"
        >Permissions it must hold <span class="muted">(optional, comma-separated, such as orders:read)</span></label
      >
      <input id="verify-permissions" name="permissions" value="${verify?.permissions ?? ""}" maxlength="2000" />
      <div><button type="submit">Verify</button></div>
    </form>
    ${
      result
        ? html`<dl class="verdict" aria-live="polite">
            <dt>Answer</dt>
            <dd><span class="badge ${result.valid ? "ok" : "bad"}">${result.code}</span></dd>
            ${
              result.key_id
                ? html`<dt>Key</dt>
                    <dd class="mono">${result.key_id}</dd>
                    <dt>Account</dt>
                    <dd>
                      ${result.account?.name ?? ""} <span class="muted small mono">${result.account?.id ?? ""}</span>
                    </dd>
                    <dt>Roles</dt>
                    <dd>${(result.roles ?? []).join(", ")}</dd>
                    <dt>Permissions</dt>
                    <dd class="mono">${(result.permissions ?? []).join(", ")}</dd>
                    <dt>Expires</dt>
                    <dd>${result.expires_at ? when(result.expires_at) : "Never"}</dd>`
                : html`<dt>Why</dt>
                    <dd>
                      No key of this environment matches: unknown, revoked, of an archived account, or of another
                      environment.
                    </dd>`
            }
          </dl>`
        : null
    }
  </section>`;
}

export async function verifyApiKey(app: AppContext, request: Request, server: Server | null, form: URLSearchParams) {
  const permissions = form.get("permissions") ?? "";
  const result = await attemptAs(app, request, server, (principal, audit) => {
    const asked = permissions
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    const input = checkLike(VerifyKeyBody, {
      key: form.get("key") ?? "",
      ...(asked.length ? { permissions: asked } : {}),
    });
    return verifyKeyAudited(app, principal, audit, input);
  });
  if (result.ok) return render(app, request, { verify: { permissions, result: result.value } });
  return render(app, request, { verify: { permissions, error: result.message }, status: result.status });
}
