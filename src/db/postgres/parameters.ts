import { LRUCache } from "lru-cache";
import type { Params } from "../store";

// The store's SQL takes `?` (values in order) or `@name` (one object of values); PostgreSQL takes
// `$1`, `$2`… only. The text is rewritten once per distinct statement and the rewrite cached;
// string literals, quoted names and comments are left as they are.

interface Rewrite {
  text: string;
  /** Where each `$n` takes its value: an index into positional values, or a name of the object. */
  sources: (number | string)[];
}

const rewrites = new LRUCache<string, Rewrite>({ max: 512 });

/** The statement as PostgreSQL reads it, with its values in `$n` order. */
export function translate(text: string, params: Params): { text: string; values: unknown[] } {
  let rewrite = rewrites.get(text);
  if (!rewrite) {
    rewrite = rewriteOf(text);
    rewrites.set(text, rewrite);
  }
  const named = params.length === 1 && isValueObject(params[0]) ? (params[0] as Record<string, unknown>) : null;
  const values = rewrite.sources.map((source) => {
    const value = typeof source === "number" ? params[source] : named?.[source];
    if (value === undefined) {
      if (typeof source === "string" && (named === null || !(source in named))) {
        throw new Error(`missing value for @${source}`);
      }
      return null;
    }
    return value;
  });
  return { text: rewrite.text, values };
}

function isValueObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

const NAME_START = /[A-Za-z_]/;
const NAME_PART = /[A-Za-z0-9_]/;

function rewriteOf(text: string): Rewrite {
  const sources: (number | string)[] = [];
  const byName = new Map<string, number>();
  let positional = 0;
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === "'" || c === '"') {
      const end = closingQuote(text, i, c);
      out += text.slice(i, end);
      i = end;
    } else if (c === "-" && next === "-") {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? text.length : end;
      out += text.slice(i, stop);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop);
      i = stop;
    } else if (c === "?") {
      sources.push(positional++);
      out += `$${sources.length}`;
      i++;
    } else if (c === "@" && next !== undefined && NAME_START.test(next)) {
      let end = i + 1;
      while (end < text.length && NAME_PART.test(text[end] as string)) end++;
      const name = text.slice(i + 1, end);
      let n = byName.get(name);
      if (n === undefined) {
        sources.push(name);
        n = sources.length;
        byName.set(name, n);
      }
      out += `$${n}`;
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return { text: out, sources };
}

/** The index just past the quote closing the one at `start` (a doubled quote is part of the text). */
function closingQuote(text: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === quote) {
      if (text[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return text.length;
}
