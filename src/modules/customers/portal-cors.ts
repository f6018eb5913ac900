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

/**
 * CORS for /v1/customer/portal/* only (SPEC §7); no other route answers cross-origin.
 *
 * - A preflight (OPTIONS) is answered 204 before routing, so it needs no route of its own: to
 *   an allowed origin with GET and X-Session-Token (whatever else was asked: the browser then
 *   refuses the rest), to any other origin with no allow header at all, which the browser takes
 *   as a refusal.
 * - Every response of these routes, errors included (a page must be able to read "Invalid or
 *   expired session token"), carries Access-Control-Allow-Origin for an allowed Origin, and
 *   always `Vary: Origin`, since it depends on it.
 *
 * No credentials mode: the token travels in a header, never in a cookie.
 */
export function portalCors(config: Config) {
  const allowed = allowedPortalOrigins(config);
  return new Elysia({ name: "portal-cors" }).onRequest(({ request, set }) => {
    if (!isPortalApi(request.url)) return;
    set.headers.vary = "Origin";
    const origin = request.headers.get("origin");
    const allow = origin !== null && allowed.has(origin);
    if (allow) {
      set.headers["access-control-allow-origin"] = origin;
      set.headers["access-control-expose-headers"] = "Retry-After, X-Request-ID";
    }
    if (request.method !== "OPTIONS") return;
    if (allow) {
      delete set.headers["access-control-expose-headers"];
      set.headers["access-control-allow-methods"] = "GET";
      set.headers["access-control-allow-headers"] = "X-Session-Token";
      set.headers["access-control-max-age"] = String(PREFLIGHT_MAX_AGE_SECONDS);
    }
    set.status = 204;
    return "";
  });
}
