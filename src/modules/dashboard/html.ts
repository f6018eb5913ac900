/**
 * HTML built from tagged templates: every interpolated value is escaped, unless it is already
 * Html (a fragment built the same way). Arrays are joined; null, undefined and false render as
 * nothing. There is no other way to put text into a page, so nothing reaches one unescaped.
 *
 *   html`<td>${account.name}</td>`          // "<img …>" becomes "&lt;img …&gt;"
 *   html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>`
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return "";
  if (part instanceof Html) return part.text;
  if (Array.isArray(part)) return part.map(render).join("");
  return escapeHtml(String(part));
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] as string;
  for (let i = 0; i < values.length; i++) out += render(values[i] as Part) + (strings[i + 1] as string);
  return new Html(out);
}

const MINUTE_S = 60;
const HOUR_S = 3600;
const DAY_S = 86_400;
/** Past this many days a time shows as its date: "94 days ago" says less than 2026-05-01. */
const RELATIVE_DAYS = 30;

/**
 * How far a moment is from now, as people say it: "just now", "3 min ago", "5 h ago",
 * "2 days ago", "in 30 days"; past RELATIVE_DAYS, its UTC date (2026-05-01).
 */
export function relativeTime(at: Date, now: number): string {
  const seconds = Math.round((at.getTime() - now) / 1000);
  const size = Math.abs(seconds);
  const say = (count: number, unit: string) => (seconds < 0 ? `${count} ${unit} ago` : `in ${count} ${unit}`);
  if (size < MINUTE_S) return seconds > 0 ? "in under a minute" : "just now";
  if (size < HOUR_S) return say(Math.floor(size / MINUTE_S), "min");
  if (size < DAY_S) return say(Math.floor(size / HOUR_S), "h");
  const days = Math.floor(size / DAY_S);
  if (days <= RELATIVE_DAYS) return say(days, days === 1 ? "day" : "days");
  return at.toISOString().slice(0, 10);
}

/**
 * A time on a page: relative ("3 min ago"), with the exact UTC value on hover (`title`) and for
 * machines (`datetime`). Worked out on the server when the page is made, so it needs no script;
 * every page that shows a time uses this. An em dash for nothing.
 */
export function when(iso: string | null | undefined, now = Date.now()): Html {
  if (!iso) return html`<span class="muted">—</span>`;
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return html`<span>${iso}</span>`;
  const exact = at.toISOString();
  return html`<time datetime="${exact}" title="${exact.slice(0, 10)} ${exact.slice(11, 19)} UTC"
    >${relativeTime(at, now)}</time
  >`;
}
