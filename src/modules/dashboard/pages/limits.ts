import type { AppContext } from "../../../context";
import { checkLike } from "../../../http/validation";
import {
  type Credits,
  type Limits,
  LimitsBody,
  type LimitsInput,
  MAX_DURATION_MS,
  MAX_RATE_LIMITS,
  MIN_DURATION_MS,
  RATE_LIMIT_NAME_PATTERN,
} from "../../limits/model";
import { joinedLimits, limitsOf, readLimits } from "../../limits/read";
import { resetKeyCredits } from "../../secrets/reset-credits";
import { resetAccountCredits } from "../../users/reset-credits";
import { appliedText, creditsText, DURATION_UNITS, durationParts, rateLimitText } from "../../limits/words";
import type { Permission } from "../../rbac/model";
import { effectiveStatus, getKey, scopeOf } from "../../secrets/read";
import { setKeyLimits } from "../../secrets/limits";
import { setAccountLimits } from "../../users/limits";
import { findUser } from "../../users/service";
import { attempt, attemptAs, field, inFormWords } from "../forms";
import { html, type Html } from "../html";
import { banner, csrfField, htmlResponse, may, type SectionPath, signedInPage } from "../layout";
import { redirect, type Server, type Visit, visitOf } from "../session";
import { notFoundPage } from "./not-found";
import { API_KEYS_PATH } from "./api-keys";
import { SERVICE_ACCOUNTS_PATH } from "./service-accounts";

// A key's or a service account's rate limits and credits (SPEC §14), on a page of their own:
// what holds now, and, for someone who may change them, plain forms (no script needed) that
// call the same services as PUT …/limits. A refusal is shown in the API's own words.

/** Blank rows the rate limits form offers for new limits (within MAX_RATE_LIMITS in all). */
const BLANK_ROWS = 3;

/** A window's units as the form offers them: the CLI's, and ms for a window in no whole second. */
const UNITS = [...DURATION_UNITS, { suffix: "ms", ms: 1, word: "millisecond" }] as const;

/**
 * The API's rule for a limit's name as an input's `pattern`: anchored already, and compiled with
 * the `v` flag, where a `-` in a class must be escaped.
 */
const NAME_INPUT_PATTERN = RATE_LIMIT_NAME_PATTERN.slice(1, -1).replace("-]", "\\-]");

export type OwnerKind = "key" | "account";

/** Whose limits a page is about, as it shows them. */
interface Owner {
  kind: OwnerKind;
  id: string;
  name: string;
  /** Under the title: what the owner is. */
  about: Html;
  section: SectionPath;
  limits: Limits;
  /** For a key of a service account: what the account shares with its keys in this environment. */
  shared: { name: string; path: string; limits: Limits } | null;
  /** Why its limits cannot change (a revoked key, an archived account), or null. */
  closed: string | null;
}

interface OwnerKindSpec {
  listPath: string;
  write: Permission;
  load: (app: AppContext, visit: Visit, id: string) => Promise<Owner | undefined>;
  set: typeof setKeyLimits | typeof setAccountLimits;
  reset: typeof resetKeyCredits | typeof resetAccountCredits;
}

const KINDS: Record<OwnerKind, OwnerKindSpec> = {
  key: {
    listPath: API_KEYS_PATH,
    write: "secret:write",
    load: async (app, visit, id) => {
      const found = await attempt(() => getKey(app.db, scopeOf(visit.principal), id));
      if (!found.ok) return undefined;
      const key = found.value;
      const status = effectiveStatus(key);
      const account = key.owner_type === "service_account";
      return {
        kind: "key",
        id: key.id,
        name: key.name,
        about: html`<span class="mono">${key.display_id}</span>, a key of ${account ? "service account" : "user"}
          <strong>${key.owner_name}</strong>`,
        section: API_KEYS_PATH,
        limits: limitsOf(joinedLimits(key)),
        shared: account
          ? {
              name: key.owner_name,
              path: `${SERVICE_ACCOUNTS_PATH}/${key.user_id}/limits`,
              limits: await readLimits(app.db, {
                tenantId: key.tenant_id,
                environmentId: key.environment_id,
                ownerId: key.user_id,
              }),
            }
          : null,
        closed:
          status === "published"
            ? null
            : `This key is ${status === "deleted" ? "revoked" : "disabled (its account is archived)"}: its limits cannot be changed.`,
      };
    },
    set: setKeyLimits,
    reset: resetKeyCredits,
  },
  account: {
    listPath: SERVICE_ACCOUNTS_PATH,
    write: "user:write",
    load: async (app, visit, id) => {
      const { tenantId, environmentId } = visit.principal;
      const account = await findUser(app.db, tenantId, id);
      if (account?.type !== "service_account") return undefined;
      return {
        kind: "account",
        id: account.id,
        name: account.name,
        about: html`A service account: these are shared by all its keys in this environment. A key's own limit of the
        same name comes first, and a key with credits of its own spends those.`,
        section: SERVICE_ACCOUNTS_PATH,
        limits: await readLimits(app.db, { tenantId, environmentId, ownerId: account.id }),
        shared: null,
        closed: account.status === "published" ? null : "This account is archived: its limits cannot be changed.",
      };
    },
    set: setAccountLimits,
    reset: resetAccountCredits,
  },
};

/** The page of an owner's limits; its forms post to `…/limits`, `…/credits` and `…/credits/reset`. */
function limitsPath(kind: OwnerKind, id: string): string {
  return `${KINDS[kind].listPath}/${id}/limits`;
}

function creditsPath(kind: OwnerKind, id: string): string {
  return `${KINDS[kind].listPath}/${id}/credits`;
}

const NOTICES: Record<string, string> = {
  ratelimits: "Rate limits saved: they hold from the next request.",
  credits: "Credits saved.",
  reset: "Credits reset.",
};

/** One row of the rate limits form, as typed. */
interface RowValues {
  name: string;
  limit: string;
  every: string;
  unit: string;
  applied: "auto" | "named";
  /** An existing limit's row, which has a Remove box; `remove` when it is ticked. */
  existing: boolean;
  remove: boolean;
}

interface CreditsValues {
  remaining: string;
  refill: string;
  amount: string;
  day: string;
}

interface View {
  rows?: RowValues[];
  ratelimitsError?: string;
  credits?: CreditsValues;
  creditsError?: string;
  resetTo?: string;
  resetError?: string;
  status?: number;
}

function rowsOf(limits: Limits): RowValues[] {
  const rows: RowValues[] = limits.ratelimits.map((limit) => {
    const { count, unit } = durationParts(limit.duration_ms);
    return {
      name: limit.name,
      limit: String(limit.limit),
      every: String(count),
      unit: unit?.suffix ?? "ms",
      applied: limit.auto_apply ? "auto" : "named",
      existing: true,
      remove: false,
    };
  });
  const blank = Math.max(0, Math.min(BLANK_ROWS, MAX_RATE_LIMITS - rows.length));
  for (let i = 0; i < blank; i++) {
    rows.push({ name: "", limit: "", every: "", unit: "m", applied: "auto", existing: false, remove: false });
  }
  return rows;
}

function creditsValuesOf(credits: Credits | null): CreditsValues {
  return {
    remaining: credits?.remaining === null || credits === null ? "" : String(credits.remaining),
    refill: credits?.refill?.interval ?? "",
    amount: credits?.refill ? String(credits.refill.amount) : "",
    day: credits?.refill?.refill_day ? String(credits.refill.refill_day) : "",
  };
}

const selected = (on: boolean) => (on ? html` selected` : null);

/** What holds now: a table of the rate limits and a line on the credits. */
function current(limits: Limits, caption: string, headingId: string): Html {
  return html`${
      limits.ratelimits.length === 0
        ? html`<p>No rate limits.</p>`
        : html`<div class="table-wrap" role="region" aria-labelledby="${headingId}" tabindex="0">
            <table>
              <caption class="visually-hidden">
                ${caption}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Limit</th>
                  <th scope="col">Counted</th>
                </tr>
              </thead>
              <tbody>
                ${limits.ratelimits.map(
                  (limit) =>
                    html`<tr>
                      <th scope="row" class="mono">${limit.name}</th>
                      <td>${rateLimitText(limit)}</td>
                      <td>${appliedText(limit)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
    <p>Credits: <strong>${creditsText(limits.credits)}</strong></p>`;
}

function rateLimitRow(row: RowValues, i: number): Html {
  const id = (part: string) => `rl-${part}-${i}`;
  const title = row.existing ? `Rate limit ${i + 1}` : `New rate limit ${i + 1}`;
  return html`<fieldset class="limit-row">
    <legend>${title}</legend>
    <div class="limit-fields">
      <div class="stack">
        <label for="${id("name")}">Name</label>
        <input
          id="${id("name")}"
          name="name-${i}"
          type="text"
          maxlength="64"
          pattern="${NAME_INPUT_PATTERN}"
          spellcheck="false"
          value="${row.name}"
          placeholder="requests"
        />
      </div>
      <div class="stack">
        <label for="${id("limit")}">Requests</label>
        <input id="${id("limit")}" name="limit-${i}" type="number" min="1" step="1" value="${row.limit}" />
      </div>
      <div class="stack">
        <label for="${id("every")}">Per</label>
        <div class="per">
          <input
            id="${id("every")}"
            name="every-${i}"
            type="number"
            min="1"
            step="1"
            value="${row.every}"
            placeholder="1"
          />
          <label class="visually-hidden" for="${id("unit")}">${title}: unit of the window</label>
          <select id="${id("unit")}" name="unit-${i}">
            ${UNITS.map((u) => html`<option value="${u.suffix}" ${selected(u.suffix === row.unit)}>${u.word}s</option>`)}
          </select>
        </div>
      </div>
      <div class="stack">
        <label for="${id("applied")}">Counted</label>
        <select id="${id("applied")}" name="applied-${i}">
          <option value="auto" ${selected(row.applied === "auto")}>On every request</option>
          <option value="named" ${selected(row.applied === "named")}>When named</option>
        </select>
      </div>
      ${
        row.existing
          ? html`<input type="hidden" name="existing-${i}" value="1" /><label
                class="choice remove"
                for="${id("remove")}"
                ><input
                  type="checkbox"
                  id="${id("remove")}"
                  name="remove-${i}"
                  value="1"
                  ${row.remove ? html` checked` : null}
                />
                Remove</label
              >`
          : null
      }
    </div>
  </fieldset>`;
}

function forms(visit: Visit, owner: Owner, view: View): Html {
  const base = limitsPath(owner.kind, owner.id);
  const rows = view.rows ?? rowsOf(owner.limits);
  const credits = view.credits ?? creditsValuesOf(owner.limits.credits);
  const counted = owner.limits.credits !== null && owner.limits.credits.remaining !== null;
  const refillAmount = owner.limits.credits?.refill?.amount;
  return html`<section class="panel wide" aria-labelledby="ratelimits-title">
      <h2 id="ratelimits-title">Set rate limits</h2>
      <p class="muted small">
        At most the number of requests per sliding window. “On every request” counts each request of the key; “When
        named” counts only when a verify call or a forward-auth rule names the limit. Fill in a new row to add one; tick
        Remove to drop one. A changed limit keeps its current count.
      </p>
      <form method="post" action="${base}#ratelimits-title" class="stack">
        ${csrfField(visit)}${banner("error", view.ratelimitsError)}
        <input type="hidden" name="rows" value="${rows.length}" />
        ${rows.map(rateLimitRow)}
        <button type="submit">Save rate limits</button>
      </form>
    </section>
    <section class="panel" aria-labelledby="credits-title">
      <h2 id="credits-title">Set credits</h2>
      <form method="post" action="${creditsPath(owner.kind, owner.id)}#credits-title" class="stack">
        ${csrfField(visit)}${banner("error", view.creditsError)}
        <label for="credits-remaining">Remaining credits</label>
        <input
          id="credits-remaining"
          name="remaining"
          type="number"
          min="0"
          step="1"
          value="${credits.remaining}"
          aria-describedby="credits-remaining-hint"
        />
        <p id="credits-remaining-hint" class="muted small">Empty: unlimited (nothing is counted).</p>
        <label for="credits-refill">Refill</label>
        <select id="credits-refill" name="refill">
          <option value="" ${selected(credits.refill === "")}>No refill</option>
          <option value="daily" ${selected(credits.refill === "daily")}>Daily, at 00:00 UTC</option>
          <option value="monthly" ${selected(credits.refill === "monthly")}>Monthly</option>
        </select>
        <label for="credits-amount">Refill amount</label>
        <input id="credits-amount" name="amount" type="number" min="0" step="1" value="${credits.amount}" />
        <p class="muted small">A refill sets the remaining credits to this amount.</p>
        <label for="credits-day">Refill day (monthly)</label>
        <input
          id="credits-day"
          name="refill_day"
          type="number"
          min="1"
          max="31"
          step="1"
          value="${credits.day}"
          placeholder="1"
          aria-describedby="credits-day-hint"
        />
        <p id="credits-day-hint" class="muted small">Past the month's end, its last day.</p>
        <button type="submit">Save credits</button>
      </form>
    </section>
    ${
      counted
        ? html`<section class="panel" aria-labelledby="reset-title">
            <h2 id="reset-title">Reset credits</h2>
            <form method="post" action="${creditsPath(owner.kind, owner.id)}/reset#reset-title" class="stack">
              ${csrfField(visit)}${banner("error", view.resetError)}
              <label for="reset-to">Reset to</label>
              <input
                id="reset-to"
                name="to"
                type="number"
                min="0"
                step="1"
                value="${view.resetTo ?? ""}"
                placeholder="${refillAmount ?? ""}"
                aria-describedby="reset-to-hint"
              />
              <p id="reset-to-hint" class="muted small">
                ${refillAmount === undefined ? "The number of credits to reset to." : `Empty: the refill amount, ${refillAmount}.`}
              </p>
              <button type="submit" class="secondary">Reset credits</button>
            </form>
          </section>`
        : null
    }`;
}

async function render(app: AppContext, request: Request, kind: OwnerKind, id: string, view: View): Promise<Response> {
  // Balances spent in memory are written first, so the page shows them as they are.
  await app.credits.flush();
  const visit = visitOf(request);
  const owner = await KINDS[kind].load(app, visit, id);
  if (!owner) return notFoundPage(app, request);
  const notice = NOTICES[new URL(request.url).searchParams.get("notice") ?? ""];
  const writable = owner.closed === null && may(visit, KINDS[kind].write);
  const { shared } = owner;
  // A refusal whose form is not shown (the key was revoked meanwhile) is said at the top.
  const unshown = writable ? null : (view.ratelimitsError ?? view.creditsError ?? view.resetError);
  const content = html`${banner("notice", notice)}${banner("error", unshown)}
    <p><a href="${KINDS[kind].listPath}">← ${kind === "key" ? "API Keys" : "Service Accounts"}</a></p>
    <p class="lead">${owner.about}</p>
    ${owner.closed ? html`<p class="warning">${owner.closed}</p>` : null}
    <section class="limits-now" aria-labelledby="now-title">
      <h2 id="now-title">${kind === "key" ? "This key's own" : "Now"}</h2>
      ${current(owner.limits, `Rate limits of ${owner.name}`, "now-title")}
    </section>
    ${
      shared
        ? html`<section class="limits-now" aria-labelledby="shared-title">
            <h2 id="shared-title">Shared by its service account, ${shared.name}</h2>
            <p class="muted small">
              Apply too, unless the key has its own limit of the same name; without credits of its own, the key spends
              these.${may(visit, "user:read") ? html` <a href="${shared.path}">The account's limits</a>` : null}
            </p>
            ${current(shared.limits, `Rate limits shared by ${shared.name}`, "shared-title")}
          </section>`
        : null
    }
    ${writable ? forms(visit, owner, view) : null}`;
  const path = limitsPath(kind, id);
  const page = await signedInPage(app, visit, owner.section, `Limits of ${owner.name}`, content, {
    returnTo: KINDS[kind].listPath,
    address: request.method === "POST" ? path : undefined,
  });
  return htmlResponse(page, { status: view.status });
}

export function limitsPage(app: AppContext, request: Request, kind: OwnerKind, id: string): Promise<Response> {
  return render(app, request, kind, id, {});
}

/** A number as typed, for the schema to judge: digits become a number, anything else stays text it refuses. */
function numberish(text: string): number | string {
  return /^\d{1,16}$/.test(text.trim()) ? Number(text.trim()) : text;
}

/**
 * A count typed that is not a whole number of 0 or more, said in the form's words: the API's
 * schema would call remaining credits, which may be null, "not one of the accepted types".
 */
function countProblem(fields: [label: string, text: string][]): string | null {
  const bad = fields.find(([, text]) => text.trim() !== "" && !/^\d{1,16}$/.test(text.trim()));
  return bad ? `${bad[0]} must be a whole number, 0 or more` : null;
}

/**
 * The form's rows as the API's `ratelimits`, and the API's field names for them in the form's
 * words (`ratelimits[0].limit` is "Rate limit 2: Requests" when the first row was removed).
 * A window the units cannot make (not a whole number, out of range) is said here, in the form's
 * words, rather than as milliseconds the form never showed.
 */
function ratelimitsOf(
  rows: RowValues[],
): { ratelimits: unknown[]; labels: Record<string, string> } | { problem: string } {
  const ratelimits: unknown[] = [];
  const labels: Record<string, string> = { ratelimits: "Rate limits" };
  for (const [i, row] of rows.entries()) {
    if (row.remove || (row.name.trim() === "" && row.limit.trim() === "")) continue;
    const title = row.existing ? `Rate limit ${i + 1}` : `New rate limit ${i + 1}`;
    const every = row.every.trim() === "" ? 1 : numberish(row.every);
    const unit = UNITS.find((u) => u.suffix === row.unit);
    if (typeof every !== "number" || every < 1 || unit === undefined) {
      return { problem: `${title}: Per must be a whole number of seconds, minutes, hours or days` };
    }
    const durationMs = every * unit.ms;
    if (durationMs < MIN_DURATION_MS || durationMs > MAX_DURATION_MS) {
      return { problem: `${title}: the window must be from 1 second to 30 days` };
    }
    const at = `ratelimits[${ratelimits.length}]`;
    labels[`${at}.name`] = `${title}: Name`;
    labels[`${at}.limit`] = `${title}: Requests`;
    labels[`${at}.duration_ms`] = `${title}: Per`;
    ratelimits.push({
      name: row.name.trim(),
      limit: numberish(row.limit),
      duration_ms: durationMs,
      auto_apply: row.applied === "auto",
    });
  }
  return { ratelimits, labels };
}

function rowsFrom(form: URLSearchParams): RowValues[] {
  const count = Math.min(Math.max(0, Math.trunc(Number(form.get("rows"))) || 0), MAX_RATE_LIMITS + BLANK_ROWS);
  return Array.from({ length: count }, (_, i) => ({
    name: form.get(`name-${i}`) ?? "",
    limit: form.get(`limit-${i}`) ?? "",
    every: form.get(`every-${i}`) ?? "",
    unit: form.get(`unit-${i}`) ?? "s",
    applied: form.get(`applied-${i}`) === "named" ? ("named" as const) : ("auto" as const),
    existing: form.get(`existing-${i}`) === "1",
    remove: form.get(`remove-${i}`) === "1",
  }));
}

/**
 * Where a saved change leads: the page, its notice, and its top. Each form's address names its
 * own heading (`…/credits#credits-title`), so a refusal, shown in the form, is where the browser
 * scrolls to on a narrow screen; a redirect without a fragment would keep that one.
 */
function doneAddress(kind: OwnerKind, id: string, notice: string): string {
  return `${limitsPath(kind, id)}?notice=${notice}#main`;
}

/** Saves a change of `kind`'s limits; a refusal shows the form again as sent, with the API's words. */
async function save(
  app: AppContext,
  request: Request,
  server: Server | null,
  kind: OwnerKind,
  id: string,
  input: () => LimitsInput,
  labels: Record<string, string>,
  notice: string,
  refused: (message: string) => View,
): Promise<Response> {
  // The change is audited against the balance as spent so far.
  await app.credits.flush();
  const result = await attemptAs(app, request, server, async (principal, audit) => {
    const checked = checkLike(LimitsBody, input());
    return await KINDS[kind].set(app, principal, audit, id, checked);
  });
  if (result.ok) return redirect(doneAddress(kind, id, notice));
  const view = refused(inFormWords(result.message, labels));
  return render(app, request, kind, id, { ...view, status: result.status });
}

export async function saveRateLimits(
  app: AppContext,
  request: Request,
  server: Server | null,
  kind: OwnerKind,
  id: string,
  form: URLSearchParams,
): Promise<Response> {
  const rows = rowsFrom(form);
  const made = ratelimitsOf(rows);
  if ("problem" in made) return render(app, request, kind, id, { rows, ratelimitsError: made.problem, status: 400 });
  return save(
    app,
    request,
    server,
    kind,
    id,
    () => ({ ratelimits: made.ratelimits as LimitsInput["ratelimits"] }),
    made.labels,
    "ratelimits",
    (message) => ({ rows, ratelimitsError: message }),
  );
}

const CREDITS_LABELS = {
  "credits.remaining": "Remaining credits",
  "credits.refill.amount": "Refill amount",
  "credits.refill.refill_day": "Refill day",
  "credits.refill.interval": "Refill",
};

export async function saveCredits(
  app: AppContext,
  request: Request,
  server: Server | null,
  kind: OwnerKind,
  id: string,
  form: URLSearchParams,
): Promise<Response> {
  const values: CreditsValues = {
    remaining: form.get("remaining") ?? "",
    refill: form.get("refill") ?? "",
    amount: form.get("amount") ?? "",
    day: form.get("refill_day") ?? "",
  };
  const problem =
    countProblem([
      ["Remaining credits", values.remaining],
      ["Refill amount", values.amount],
      ["Refill day", values.day],
    ]) ?? (values.refill !== "" && values.amount.trim() === "" ? "Refill amount is needed with a refill" : null);
  if (problem !== null) {
    return render(app, request, kind, id, { credits: values, creditsError: problem, status: 400 });
  }
  const input = (): LimitsInput => {
    const remaining = field(form, "remaining");
    // No number and no refill: unlimited, which is no credits at all.
    if (remaining === undefined && values.refill === "") return { credits: null };
    const refill =
      values.refill === ""
        ? null
        : {
            interval: values.refill,
            amount: numberish(values.amount),
            // The day is the monthly refill's; a daily one ignores the field.
            ...(values.refill === "monthly" && values.day.trim() !== "" ? { refill_day: numberish(values.day) } : {}),
          };
    return {
      credits: { remaining: remaining === undefined ? null : numberish(remaining), refill },
    } as LimitsInput;
  };
  return save(app, request, server, kind, id, input, CREDITS_LABELS, "credits", (message) => ({
    credits: values,
    creditsError: message,
  }));
}

export async function resetCredits(
  app: AppContext,
  request: Request,
  server: Server | null,
  kind: OwnerKind,
  id: string,
  form: URLSearchParams,
): Promise<Response> {
  const typed = field(form, "to");
  const problem = countProblem([["Reset to", typed ?? ""]]);
  if (problem !== null) return render(app, request, kind, id, { resetTo: typed, resetError: problem, status: 400 });
  const to = typed === undefined ? undefined : Number(typed.trim());
  await app.credits.flush();
  const result = await attemptAs(app, request, server, async (principal, audit) => {
    // Held to the API's rule for remaining credits (at most MAX_AMOUNT) before anything is read.
    if (to !== undefined) checkLike(LimitsBody, { credits: { remaining: to } });
    return await KINDS[kind].reset(app, principal, audit, id, to);
  });
  if (result.ok) return redirect(doneAddress(kind, id, "reset"));
  return render(app, request, kind, id, {
    resetTo: typed,
    resetError: inFormWords(result.message, { "credits.remaining": "Reset to" }),
    status: result.status,
  });
}
