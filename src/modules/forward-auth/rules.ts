import type { Config } from "../../config";
import type { LimitAsk } from "../auth/model";

export interface ForwardRule {
  /** Its place in forward_auth.rules, for logs and tests. */
  index: number;
  host: string | null;
  methods: ReadonlySet<string> | null;
  matchesPath(path: string): boolean;
  /** What the credential must allow; null for a public rule. */
  permission: string | null;
  /** What a request it allows asks of the key's limits (SPEC §14): the limits it names, and its cost in credits. */
  limits: LimitAsk;
}

/**
 * The rule that decides a request: the first that matches its host, method and path. The host is
 * asked for only if a rule names one.
 */
export type RuleMatcher = (host: () => string, method: string, path: string) => ForwardRule | undefined;

export function compileRules(rules: Config["forward_auth"]["rules"]): RuleMatcher {
  const compiled: ForwardRule[] = rules.map((rule, index) => ({
    index,
    host: rule.host?.toLowerCase() ?? null,
    methods: rule.methods ? new Set(rule.methods) : null,
    matchesPath: pathMatcher(normalizedRulePath(rule.path)),
    permission: rule.public ? null : (rule.permission as string),
    limits: {
      named: (rule.ratelimits ?? []).map((limit) => ({ name: limit.name, cost: limit.cost ?? 1 })),
      credits: rule.cost ?? 1,
    },
  }));
  return (host, method, path) => {
    let hostname: string | undefined;
    return compiled.find(
      (rule) =>
        (rule.host === null || rule.host === (hostname ??= host())) &&
        (rule.methods === null || rule.methods.has(method)) &&
        rule.matchesPath(path),
    );
  };
}

/** A rule's path as written, its empty segments dropped as a request's are ("/api/" is "/api"). */
function normalizedRulePath(path: string): string {
  return `/${path.split("/").filter(Boolean).join("/")}`;
}

/**
 * `*` matches within one segment, `**` any number of segments; a path without `*` is a prefix
 * on segment boundaries: `/api` covers `/api` and `/api/v1/x`, never `/apis`.
 */
function pathMatcher(pattern: string): (path: string) => boolean {
  if (!pattern.includes("*")) {
    if (pattern === "/") return () => true;
    return (path) => path === pattern || path.startsWith(`${pattern}/`);
  }
  const source = pattern
    .split(/(\*\*|\*)/)
    .map((part) => (part === "**" ? ".*" : part === "*" ? "[^/]*" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  const regex = new RegExp(`^${source}$`);
  return (path) => regex.test(path);
}

/** A path with nothing to decode or resolve: segments of unreserved characters, none of them "." or "..". */
const PLAIN_PATH = /^(\/(?!\.\.?(?:\/|$))[A-Za-z0-9\-._~!$&'()*+,=:@]+)+$/;

/**
 * The path of a forwarded request as its upstream will resolve it, or null when it cannot be
 * judged safely. A rule must see what the upstream will serve, or a public rule could open a
 * guarded one: `/public/../admin` is `/admin`, `/%61dmin` is `/admin`, `//admin` and
 * `/admin;v=1` are `/admin` to many servers. So the query goes, each segment is percent-decoded,
 * parameters after `;` are dropped, empty and `.` segments dropped and `..` applied. An encoded
 * slash or backslash (`%2F`, `%5C`), a raw backslash, bad percent-encoding or a control
 * character is refused: servers disagree on what those mean.
 */
export function normalizedPath(uri: string): string | null {
  const end = uri.search(/[?#]/);
  const raw = end < 0 ? uri : uri.slice(0, end);
  // Nearly every path is already plain: nothing encoded, no dot or empty segment, no ";".
  if (PLAIN_PATH.test(raw)) return raw;
  if (!raw.startsWith("/") || /%2f|%5c|\\/i.test(raw)) return null;
  const out: string[] = [];
  for (const encoded of raw.split("/")) {
    let segment: string;
    try {
      segment = decodeURIComponent(encoded);
    } catch {
      return null;
    }
    // Control characters (a NUL, a line break) never belong in a path; refused, not matched.
    if (/[\u0000-\u001f\u007f]/.test(segment)) return null;
    const semicolon = segment.indexOf(";");
    if (semicolon >= 0) segment = segment.slice(0, semicolon);
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return `/${out.join("/")}`;
}
