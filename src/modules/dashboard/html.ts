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
