import type { AppContext } from "../../../context";
import { type CreatedKey, createKey } from "../../secrets/create";
import {
  CreateKeyBody,
  KEY_STATUS_WORDS,
  RotateKeyBody,
  type SecretStatus,
  type SecretWithOwnerRow,
} from "../../secrets/model";
import { getKey, type LinkedKey, listKeys, rotationLinks, scopeOf } from "../../secrets/read";
import { revokeKey } from "../../secrets/revoke";
import { rotateKey, whyNotRotatable } from "../../secrets/rotate";
import type { RoleCatalog } from "../../rbac/service";
import type { UserRow } from "../../users/model";
import { searchAccounts } from "../../users/search";
import { attemptAs, field, inFormWords } from "../forms";
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
  table,
} from "../layout";
import { DASHBOARD_PATH, redirect, visitOf, type Server, type Visit } from "../session";
import { Reveals } from "../reveal";
import { rolesText } from "./service-accounts";
import { limitsSummary } from "./limits-summary";
import { joinedLimits, limitsOf } from "../../limits/read";
import { VerifyKeyBody } from "../../verify/model";
import { type Verification, verifyKeyAudited } from "../../verify/service";
import { acknowledgeLeak, type LeaksToAcknowledge, leaksToAcknowledge } from "../../leaked-keys/acknowledge";
import type { LeakedKeyRow, LeakSource } from "../../leaked-keys/model";

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
/** Asked before the key shown once is closed away, unless its Copy button copied it. */
export const COPIED_QUESTION = "Have you copied it?";
export const FULL_ACCESS_WARNING =
  "Full access: this key can do everything, including making keys and changing accounts.";

/** The form's fields as its labels name them, for the API's messages about them (inFormWords). */
const CREATE_LABELS = { name: "Name", service_account_id: "Mapped to Identity", expires_at: "Expiration" };
const DATE_LABELS = { ...CREATE_LABELS, expires_at: "Expires on" };
const ROTATE_LABELS = { grace_period_seconds: "Keep the old key working for" };
const VERIFY_LABELS = { key: "Key", permissions: "Permissions it must hold" };

const NOTICES: Record<string, string> = {
  revoked: "API key revoked: it stopped working at once.",
  acknowledged: "Leak acknowledged.",
};

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

const STATUSES: SecretStatus[] = ["published", "deleted", "archived"];

/** The list's `?status=`: the API's word or the dashboard's (as the CLI takes them); active when neither. */
function statusOf(query: URLSearchParams): SecretStatus {
  const asked = query.get("status");
  return STATUSES.find((status) => status === asked || KEY_STATUS_WORDS[status] === asked) ?? "published";
}

/** The most the search box takes: a key's name is at most 255 characters. */
const SEARCH_MAX = 255;

function selected(on: boolean): Html | null {
  return on ? html` selected` : null;
}

/** The first day a key may expire on: tomorrow (UTC), as a key expires at the start of its day. */
function firstExpiryDate(now = Date.now()): string {
  return new Date(now + DAY_MS).toISOString().slice(0, 10);
}

/** Roles by name, each with its one line on what it allows, and a warning when they add up to full access. */
function grantsList(catalog: RoleCatalog, roles: string[]): Html {
  const fullAccess = catalog.grantsOf(roles).allows("*:*");
  return html`<ul class="grant-list">
      ${roles.map((id) => {
        const role = catalog.find(id);
        const root = catalog.grantsOf([id]).allows("*:*");
        return html`<li>
          <strong>${role?.name ?? id}</strong>${root ? html` <span class="badge root">root credential</span>` : null}
          <span class="muted small block">${role ? `${role.description}.` : "No longer a role: grants nothing."}</span>
        </li>`;
      })}
    </ul>
    ${fullAccess ? html`<p class="warning"><strong>${FULL_ACCESS_WARNING}</strong> Treat it as a root credential.</p>` : null}`;
}

/** "Billing worker, Ingest and 3 more": the accounts that share one set of roles. */
function namesOf(accounts: UserRow[]): string {
  const shown = accounts.slice(0, 3).map((a) => a.name);
  return accounts.length > 3 ? `${shown.join(", ")} and ${accounts.length - 3} more` : shown.join(", ");
}

/**
 * What the key will be able to do, before it is made: one panel for a User Account key (the
 * person's own roles) and one per set of roles the service accounts hold. The script shows the
 * one the form's choice leads to, as it changes; without it every panel shows, each saying
 * whose it is.
 */
function grantsPanels(
  app: AppContext,
  visit: Visit,
  accounts: UserRow[],
): { panels: Html; keyOf: Map<string, string> } {
  const byRoles = new Map<string, UserRow[]>();
  for (const account of accounts) {
    const roles = account.roles;
    byRoles.set(roles, [...(byRoles.get(roles) ?? []), account]);
  }
  const keyOf = new Map<string, string>();
  const sets = [...byRoles.entries()].map(([roles, holders], i) => {
    for (const holder of holders) keyOf.set(holder.id, `roles-${i}`);
    return html`<div class="grants" data-grants-panel="roles-${i}">
      <p class="small">A key for <strong>${namesOf(holders)}</strong> gets these roles, fixed at creation:</p>
      ${grantsList(app.roles, JSON.parse(roles) as string[])}
    </div>`;
  });
  const panels = html`<div class="grants-box" aria-live="polite">
    <p class="grants-title">What this key can do</p>
    <div class="grants" data-grants-panel="user">
      <p class="small">A <strong>User Account</strong> key gets your roles:</p>
      ${grantsList(app.roles, visit.principal.credential.roles)}
    </div>
    ${sets}
    <p class="muted small" data-grants-panel="">Choose a service account: the key gets its roles, fixed at creation.</p>
  </div>`;
  return { panels, keyOf };
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
  // A service account when there is one: a key for the person is a key with all their roles
  // (full access for most), which is rarely what a service needs. With one account it is
  // chosen; with several the person chooses, so no identity is guessed for them.
  const type = values.accountType ?? (accounts.length > 0 ? "service_account" : "user");
  const identity = values.serviceAccountId ?? (accounts.length === 1 ? accounts[0]?.id : undefined);
  const expiration = values.expiration ?? "never";
  const { panels, keyOf } = grantsPanels(app, visit, accounts);
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
            data-grants="user"
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
          <option value="" data-grants="">Choose a service account</option>
          ${accounts.map((a) => html`<option value="${a.id}" data-grants="${keyOf.get(a.id) ?? ""}" ${selected(a.id === identity)}>${a.name}</option>`)}
        </select>
      </div>
      ${panels}
      <label for="key-expiration">Expiration</label>
      <select id="key-expiration" name="expiration">
        ${EXPIRATIONS.map((e) => html`<option value="${e.value}" ${selected(e.value === expiration)}>${e.label}</option>`)}
      </select>
      <div class="stack" data-show-for-expiration="date">
        <label for="key-expires-on">Expires on (UTC)</label>
        <input
          id="key-expires-on"
          name="expires_on"
          type="date"
          min="${firstExpiryDate()}"
          value="${values.expiresOn ?? ""}"
        />
        <p class="muted small">The key stops working at the start of that day (00:00 UTC).</p>
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
      <div class="actions"><a class="button" href="${API_KEYS_PATH}" data-close>Done</a></div>
      <div class="confirm-close warning" data-confirm-close hidden>
        <p role="alert"><strong>${COPIED_QUESTION}</strong> Once this closes, the key cannot be shown again.</p>
        <div class="actions">
          <button type="button" class="secondary" data-confirm-back>No, back to the key</button
          ><button type="button" data-confirm-discard>Yes, close</button>
        </div>
      </div>`,
  });
}

/** A key's status in the dashboard's words (KEY_STATUS_WORDS), styled by the API's. */
function keyStatusBadge(status: SecretStatus): Html {
  return html`<span class="badge ${status}">${KEY_STATUS_WORDS[status]}</span>`;
}

/** "59 min", "23 h", "6 days": how long until (or since) a moment, to the unit a person reads. */
function span(ms: number): string {
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  if (minutes < 1) return "less than a minute";
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} days`;
}

/**
 * A key's display id in a rotation note, which may break after its prefix (`sk_test_` then
 * `9343***2f0f`): unbroken, it was the Status column's narrowest width and pushed the API Keys
 * table past 1280 px; the Key column beside it still shows it whole.
 */
function breakableDisplayId(displayId: string): Html {
  const prefixEnd = displayId.lastIndexOf("_") + 1;
  return html`<span class="mono">${displayId.slice(0, prefixEnd)}<wbr />${displayId.slice(prefixEnd)}</span>`;
}

/**
 * Under a key's status, what a rotation made of it: the old key says when it stops and which key
 * replaced it, the new one which key it replaced. Both have the same name; this tells them apart.
 */
function rotationNote(
  key: SecretWithOwnerRow,
  links: { replacedBy?: LinkedKey; replaces?: LinkedKey },
  now: number,
): Html | null {
  const notes: Html[] = [];
  if (links.replacedBy) {
    const until = key.expires_at === null ? null : Date.parse(key.expires_at) - now;
    const when =
      key.status !== "published" || until === null
        ? null
        : until > 0
          ? `expires in ${span(until)}, `
          : `expired ${span(until)} ago, `;
    notes.push(html`${when}replaced by ${breakableDisplayId(links.replacedBy.display_id)}`);
  }
  if (links.replaces) notes.push(html`replaces ${breakableDisplayId(links.replaces.display_id)}`);
  return notes.length
    ? html`<span class="rotation muted small block">${notes.map((n, i) => html`${i ? "; " : ""}${n}`)}</span>`
    : null;
}

/** Who found a leaked key, as the banner says it. */
const REPORTED_BY: Record<LeakSource, string> = {
  report: "by someone who found it",
  github: "by GitHub secret scanning",
  operator: "by an operator (tollgate keys leaked)",
};

/** One leaked key in the banner: what, when, by whom, where, whether it still works; and Acknowledge. */
function leakItem(visit: Visit, key: LeakedKeyRow): Html {
  const writes = may(visit, "secret:write");
  const revoked = key.status === "deleted";
  return html`<li>
    <div class="leak-what">
      <strong>${key.name}</strong> <span class="mono">${key.display_id}</span>
      <span class="small block"
        >Reported leaked ${when(key.leaked_at)}
        ${REPORTED_BY[key.leak_source ?? "report"]}${
          key.leak_url ? html`, found at <a href="${key.leak_url}" rel="noopener noreferrer">${key.leak_url}</a>` : null
        }.</span
      >
      <span class="small block"
        >${revoked ? "It was revoked at once: it no longer works." : html`<strong>It still works:</strong> revoke it, or rotate it and revoke the old one.`}</span
      >
    </div>
    ${
      writes
        ? html`<div class="leak-actions">
            ${revoked ? null : html`<a class="button small danger" href="${API_KEYS_PATH}?revoke=${key.id}">Revoke</a>`}
            <form method="post" action="${API_KEYS_PATH}/${key.id}/acknowledge-leak">
              ${csrfField(visit)}
              <button type="submit" class="small secondary" aria-label="Acknowledge the leak of ${key.name}">
                Acknowledge
              </button>
            </form>
          </div>`
        : null
    }
  </li>`;
}

/**
 * The keys reported leaked that their owner has not acknowledged (SPEC §16), above the list, until
 * someone who may change keys acknowledges each: this environment's named, the others' counted.
 */
function leakBanner(visit: Visit, leaks: LeaksToAcknowledge): Html | null {
  const { shown, total, elsewhere } = leaks;
  if (total === 0 && elsewhere.length === 0) return null;
  const more = total - shown.length;
  return html`<section class="banner leak" aria-labelledby="leaks-title">
    <h2 id="leaks-title">
      ${total === 0 ? "Leaked keys in another environment" : total === 1 ? "A key was reported leaked" : `${total} keys were reported leaked`}
    </h2>
    ${
      total > 0
        ? html`<p class="small">
              Whoever holds a leaked key can use it until it is revoked. Find out how it got out, give its users a new
              key, then acknowledge it here.
            </p>
            <ul class="leak-list">
              ${shown.map((key) => leakItem(visit, key))}
            </ul>
            ${more > 0 ? html`<p class="small">And ${more} more: acknowledging some shows the next.</p>` : null}`
        : null
    }
    ${elsewhere.map(
      (env) =>
        html`<p class="small">
          ${env.name}: ${env.count} leaked key${env.count === 1 ? "" : "s"} to acknowledge. Switch to it with the
          Environment menu above.
        </p>`,
    )}
  </section>`;
}

async function render(app: AppContext, request: Request, view: View): Promise<Response> {
  // Balances spent in memory are written first, so the limits under each name show them as they are.
  await app.credits.flush();
  const visit = visitOf(request);
  const query = new URL(request.url).searchParams;
  const status = statusOf(query);
  const search = (query.get("q") ?? "").trim().slice(0, SEARCH_MAX);
  const offset = offsetOf(query);
  const scope = scopeOf(visit.principal);
  const { rows, total } = await listKeys(app.reads, scope, { status, search }, { limit: PAGE_SIZE, offset });
  const links = await rotationLinks(app.db, scope, rows);
  const leaks = await leaksToAcknowledge(app.db, scope);
  const now = Date.now();
  const notice = NOTICES[query.get("notice") ?? ""];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const tableRows = rows.map(
    (k) =>
      html`<tr>
        <th scope="row">${k.name}${limitsSummary(limitsOf(joinedLimits(k), now))}</th>
        <td class="mono">${k.display_id}</td>
        <td>
          ${k.owner_name}<span class="muted small block"
            >${k.owner_type === "service_account" ? "Service Account" : "User Account"}</span
          >
        </td>
        <td>${rolesText(app.roles, JSON.parse(k.roles) as string[])}</td>
        <td>
          ${keyStatusBadge(k.status)}${rotationNote(k, { replacedBy: links.replacedBy.get(k.id), replaces: links.replaces.get(k.id) }, now)}
        </td>
        <td>${when(k.created_at)}</td>
        <td>${when(k.last_used_at)}</td>
        <td>${k.expires_at ? when(k.expires_at) : html`<span class="muted">Never</span>`}</td>
        <td class="row-actions">
          <a class="button small secondary" href="${API_KEYS_PATH}/${k.id}/limits" aria-label="Limits of ${k.name}"
            >Limits</a
          >
          ${
            may(visit, "secret:write")
              ? html`${
                  whyNotRotatable(k, now) === null
                    ? html`<a class="button small secondary" href="${API_KEYS_PATH}?rotate=${k.id}">Rotate</a>`
                    : null
                }
                ${
                  k.status === "published"
                    ? html`<a class="button small danger" href="${API_KEYS_PATH}?revoke=${k.id}">Revoke</a>`
                    : null
                }`
              : null
          }
        </td>
      </tr>`,
  );
  // A dialog's key may be on another page than this one.
  const find = async (id: string) => {
    if (byId.has(id)) return byId.get(id);
    try {
      return await getKey(app.db, scope, id);
    } catch {
      return undefined;
    }
  };
  const revoking = view.revoke ? await find(view.revoke.id) : undefined;
  // Rotate is asked in its dialog while the key can be rotated; otherwise (replaced meanwhile,
  // expired, gone) the page says why, once, and offers no dialog that could only fail again.
  const rotating = view.rotate ? await find(view.rotate.id) : undefined;
  const rotatable = rotating !== undefined && whyNotRotatable(rotating, now) === null;
  const rotateRefusal =
    view.rotate && !rotatable ? (view.rotate.error ?? (rotating ? whyNotRotatable(rotating, now) : null)) : null;
  const matching = search ? ` matching “${search}”` : "";
  const content = html`${banner("notice", notice)}${banner("error", view.error ?? rotateRefusal)}
    ${leakBanner(visit, leaks)}
    <div class="toolbar">
      ${
        may(visit, "secret:write")
          ? html`<a class="button" href="${API_KEYS_PATH}?create=1" data-dialog="create-key">Create</a>`
          : null
      }
      <form method="get" action="${API_KEYS_PATH}" class="inline-form key-filters" role="search">
        <label for="status-filter">Show</label>
        <select id="status-filter" name="status" data-autosubmit>
          ${STATUSES.map((s) => html`<option value="${s}" ${selected(s === status)}>${KEY_STATUS_WORDS[s].replace(/^./, (c) => c.toUpperCase())} keys</option>`)}
        </select>
        <button type="submit" class="secondary" data-when-no-script>Show</button>
        <label for="key-search">Search</label>
        <input
          id="key-search"
          name="q"
          type="search"
          value="${search}"
          maxlength="${SEARCH_MAX}"
          placeholder="Name or key prefix"
        />
        <button type="submit" class="secondary">Search</button>
      </form>
      <span class="muted small"
        >${total} ${KEY_STATUS_WORDS[status]} key${total === 1 ? "" : "s"}${matching} in this environment</span
      >
    </div>
    ${table(
      "API keys",
      ["Name", "Key", "Account", "Roles", "Status", "Created", "Last used", "Expires", "Actions"],
      tableRows,
      search ? `No ${KEY_STATUS_WORDS[status]} key${matching}.` : "No keys here yet.",
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
      rotating && rotatable && view.rotate
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
  const page = await signedInPage(app, visit, API_KEYS_PATH, "API Keys", content, {
    address: request.method === "POST" ? addressOf(view, rotatable) : undefined,
  });
  return htmlResponse(page, { status: view.status });
}

/**
 * The GET address of what a POST's answer shows (a refused form again, a verification): a reload
 * then reads the page instead of sending the form again, and the dialog shown is still open.
 */
function addressOf(view: View, rotatable: boolean): string {
  if (view.create?.open) return `${API_KEYS_PATH}?create=1`;
  if (view.rotate && rotatable) return `${API_KEYS_PATH}?rotate=${encodeURIComponent(view.rotate.id)}`;
  return API_KEYS_PATH;
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
  if (values.expiration === "date") return `${values.expiresOn}T00:00:00.000Z`;
  if (Number.isInteger(days) && days > 0) return new Date(now + days * DAY_MS).toISOString();
  return undefined;
}

/**
 * What is wrong with "On a date" before the API is asked: no date, or one that is not after today.
 * The API would refuse both too, in words about a timestamp field this form does not have.
 */
function expiryDateProblem(values: CreateForm, now = Date.now()): string | null {
  if (values.expiration !== "date") return null;
  const date = values.expiresOn ?? "";
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
    return "Choose a date for Expires on, or another Expiration";
  }
  const first = firstExpiryDate(now);
  if (date < first) return `Expires on must be a date after today: ${first} or later (UTC)`;
  return null;
}

export async function createApiKey(app: AppContext, request: Request, server: Server | null, form: URLSearchParams) {
  const values: CreateForm = {
    name: form.get("name") ?? "",
    accountType: form.get("account_type") ?? "user",
    serviceAccountId: field(form, "service_account_id"),
    expiration: form.get("expiration") ?? "never",
    expiresOn: field(form, "expires_on"),
  };
  const dateProblem = expiryDateProblem(values);
  if (dateProblem !== null)
    return render(app, request, { create: { open: true, values, error: dateProblem }, status: 400 });
  const result = await attemptAs(app, request, server, async (principal, audit) => {
    const expiresAt = expiresAtOf(values);
    const input = checkLike(CreateKeyBody, {
      name: values.name as string,
      ...(expiresAt === undefined ? {} : { expires_at: expiresAt }),
      // The API's own rule says what is missing: a service account key names its account.
      ...(values.accountType === "service_account" ? { service_account_id: values.serviceAccountId ?? "" } : {}),
    });
    return await createKey(app, principal, audit, input);
  });
  if (result.ok) return showOnce(request, { key: result.value, rotated: false });
  const error = inFormWords(result.message, values.expiration === "date" ? DATE_LABELS : CREATE_LABELS);
  return render(app, request, { create: { open: true, values, error }, status: result.status });
}

export async function revokeApiKey(app: AppContext, request: Request, server: Server | null, id: string) {
  const result = await attemptAs(
    app,
    request,
    server,
    async (principal, audit) => await revokeKey(app, principal, audit, id),
  );
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
  // The replacement takes over the balance as spent so far.
  await app.credits.flush();
  const result = await attemptAs(app, request, server, async (principal, audit) => {
    const grace = Number(form.get("grace_period_seconds") ?? "0");
    const input = checkLike(RotateKeyBody, { grace_period_seconds: grace });
    return await rotateKey(app, principal, audit, id, input.grace_period_seconds ?? 0);
  });
  if (result.ok) return showOnce(request, { key: result.value, rotated: true });
  // Said once: in the rotate dialog when the key can still be rotated, else on the page (render).
  return render(app, request, {
    rotate: { id, error: inFormWords(result.message, ROTATE_LABELS) },
    status: result.status,
  });
}

/** The banner's Acknowledge: the owner has seen a key's leak; the banner stops naming it. */
export async function acknowledgeLeakedKey(app: AppContext, request: Request, server: Server | null, id: string) {
  const result = await attemptAs(
    app,
    request,
    server,
    async (principal, audit) => await acknowledgeLeak(app, principal, audit, id),
  );
  if (result.ok) return redirect(`${API_KEYS_PATH}?notice=acknowledged`);
  return render(app, request, { error: result.message, status: result.status });
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
  const result = await attemptAs(app, request, server, async (principal, audit) => {
    const asked = permissions
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    const input = checkLike(VerifyKeyBody, {
      key: form.get("key") ?? "",
      ...(asked.length ? { permissions: asked } : {}),
    });
    return await verifyKeyAudited(app, principal, audit, input);
  });
  if (result.ok) return render(app, request, { verify: { permissions, result: result.value } });
  const error = inFormWords(result.message, VERIFY_LABELS);
  return render(app, request, { verify: { permissions, error }, status: result.status });
}
