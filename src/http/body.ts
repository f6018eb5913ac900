import { payloadTooLarge, validationError } from "./errors";

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const BULK_BODY_LIMIT = 32 * 1024 * 1024;
/**
 * How deeply a body may nest arrays and objects. Real requests need a handful of levels (an
 * event's properties sit at depth 4 in a bulk body); a deep body is only ever an attack on
 * whatever walks it next: validation, error messages, SQLite's JSON functions.
 */
export const MAX_BODY_DEPTH = 32;

/**
 * Routes whose body differs from the default (1 MiB, parsed as JSON): a larger limit, and/or the
 * body handed to the handler as its bytes, which it has parsed and validated off the request
 * thread (events/bulk.ts): a body of 1,000 events costs milliseconds that every other request
 * would otherwise wait for.
 */
interface BodyRule {
  limit: number;
  bytes?: true;
}
const BODY_RULES: Record<string, BodyRule> = {
  "/v1/events/bulk": { limit: BULK_BODY_LIMIT, bytes: true },
};
const DEFAULT_RULE: BodyRule = { limit: DEFAULT_BODY_LIMIT };

function ruleFor(pathname: string): BodyRule {
  return BODY_RULES[pathname] ?? DEFAULT_RULE;
}

export function bodyLimitFor(pathname: string): number {
  return ruleFor(pathname).limit;
}

/** The parse hook every route that takes a body uses, after its access check (see the auth macros). */
export function requestBodyParser({ request }: { request: Request }): Promise<unknown> {
  const { limit, bytes } = ruleFor(new URL(request.url).pathname);
  return bytes ? readBody(request, limit) : parseJsonBody(request, limit);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Every request body is JSON, whatever Content-Type says (curl's `-d` sends form encoding by
 * default). Refused before anything walks it: a body over the size limit (readBody: never
 * held in memory past it), bytes that are not UTF-8, nesting deeper than MAX_BODY_DEPTH, and strings
 * that are not well-formed Unicode. Replacing bad bytes or lone surrogates with U+FFFD would
 * make different values equal: two distinct event_ids would collide and one event be dropped.
 */
export async function parseJsonBody(request: Request, limit: number): Promise<unknown> {
  return parseJsonBytes(await readBody(request, limit));
}

/** The same checks on a body already read (a webhook's, whose raw bytes were needed first). */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw validationError("Request body is not valid UTF-8");
  }
  if (text.trim() === "") return {};
  if (nestingExceeds(text, MAX_BODY_DEPTH)) {
    throw validationError(`Request body is nested deeper than ${MAX_BODY_DEPTH} levels`, {
      body: `must nest arrays and objects at most ${MAX_BODY_DEPTH} levels deep`,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw validationError("Request body is not valid JSON");
  }
  // Only a \uD800–\uDFFF escape can produce a lone surrogate from valid UTF-8; skip the walk otherwise.
  if (SURROGATE_ESCAPE.test(text)) {
    const field = stringAt(value, "", (s) => !s.isWellFormed());
    if (field !== undefined) {
      const name = field || "body";
      throw validationError(`${name} is not well-formed Unicode (it contains a lone surrogate)`, {
        [name]: "must be well-formed Unicode",
      });
    }
  }
  // U+0000 only comes from its escape (JSON forbids the raw character in strings). PostgreSQL's
  // text and JSON cannot hold it: refused on either engine, so no answer depends on the engine.
  if (NUL_ESCAPE.test(text)) {
    const field = stringAt(value, "", (s) => s.includes("\0"));
    if (field !== undefined) {
      const name = field || "body";
      throw validationError(`${name} contains the character U+0000, which cannot be stored`, {
        [name]: "must not contain U+0000",
      });
    }
  }
  return value;
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const NUL_ESCAPE = /\\u0000/;

/** One pass over the text, counting brackets outside strings; stops at the first level too deep. */
function nestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** The field path (`events[2].event_id`) of the first key or string that is `bad`, if any. */
function stringAt(value: unknown, path: string, bad: (s: string) => boolean): string | undefined {
  if (typeof value === "string") return bad(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = stringAt(value[i], `${path}[${i}]`, bad);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const child = path ? `${path}.${key}` : key;
      if (bad(key)) return path || "body";
      const found = stringAt(item, child, bad);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * The body's bytes as received, refused with a 413 past `limit`, never held in memory past it.
 * A declared length over the limit is refused before reading. A declared length within it is a
 * bound the transport keeps: Bun frames the body by it (bytes past it are the next request) and
 * refuses a request that also says `Transfer-Encoding` (a bare 400), so the body is read whole,
 * natively, the cheap way (a stream reader costs about 14 µs more per request). A body that
 * declares no length (chunked) is counted as it streams.
 */
export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    if (Number(declared) > limit) throw payloadTooLarge(limit);
    return new Uint8Array(await request.arrayBuffer());
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw payloadTooLarge(limit);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
}
