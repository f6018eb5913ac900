import { Elysia } from "elysia";
import type { Config } from "../../config";

/** The routes a customer's browser calls from a portal page, possibly on another origin. */
export const PORTAL_API_PREFIX = "/v1/customer/portal/";

/** How long a browser may reuse a preflight's answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * The origins whose pages may call the portal routes: `customer_portal.allowed_origins`, else
 * the origin of `customer_portal.url`. With neither, none: the page Tollgate serves itself at
 * /portal calls from its own origin, which needs no CORS. Origins are compared as text, in the
 * form browsers send and config validation insists on (scheme://host[:port]).
 */
export function allowedPortalOrigins(config: Config): ReadonlySet<string> {
  const { url, allowed_origins } = config.customer_portal;
  if (allowed_origins.length > 0) return new Set(allowed_origins);
  return new Set(url ? [new URL(url).origin] : []);
}

/** The path of a request URL starts with the portal prefix (without parsing the whole URL). */
function isPortalApi(url: string): boolean {
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  return pathStart >= 0 && url.startsWith(PORTAL_API_PREFIX, pathStart);
}

interface PreflightContext {
  request: Request;
  set: { headers: Record<string, string | number>; status?: number | string };
}

/** How a preflight route is declared: public (a preflight never carries a credential), not in the API document. */
export const PREFLIGHT_ROUTE = { public: true, detail: { hide: true, summary: "CORS preflight" } } as const;

/**
 * CORS for /v1/customer/portal/* only (SPEC §7); no other route answers cross-origin.
 *
 * - `headers`, a request hook: every response of these routes, errors included (a page must be
 *   able to read "Invalid or expired session token"), carries Access-Control-Allow-Origin for an
 *   allowed Origin, and always `Vary: Origin`, since it depends on it.
 * - `preflight`, the handler of each portal route's OPTIONS: 204, allowing an allowed origin GET
 *   with X-Session-Token (whatever else was asked: the browser then refuses the rest); any other
 *   origin gets no allow header at all, which the browser takes as a refusal.
 *
 * No credentials mode: the token travels in a header, never in a cookie.
 */
export function portalCors(config: Config) {
  const allowed = allowedPortalOrigins(config);
  const allowedOrigin = (request: Request) => {
    const origin = request.headers.get("origin");
    return origin !== null && allowed.has(origin) ? origin : null;
  };
  const headers = new Elysia().onRequest(({ request, set }) => {
    if (!isPortalApi(request.url)) return;
    set.headers.vary = "Origin";
    const origin = allowedOrigin(request);
    if (origin === null) return;
    set.headers["access-control-allow-origin"] = origin;
    if (request.method !== "OPTIONS") set.headers["access-control-expose-headers"] = "Retry-After, X-Request-ID";
  });
  const preflight = ({ request, set }: PreflightContext) => {
    if (allowedOrigin(request) !== null) {
      set.headers["access-control-allow-methods"] = "GET";
      set.headers["access-control-allow-headers"] = "X-Session-Token";
      set.headers["access-control-max-age"] = String(PREFLIGHT_MAX_AGE_SECONDS);
    }
    set.status = 204;
    return "";
  };
  return { headers, preflight };
}
