import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { notePrincipal } from "../../http";
import { ApiError, envelope } from "../../http/errors";
import { addressMatcher, hostnameOf, isLoopback, trustsAllLoopback } from "../../http/hosts";
import { errorResponses } from "../../http/openapi";
import { ACCESS_DETAIL_KEY } from "../auth";
import { AccessOutcome, accessDenied, type Principal } from "../auth/model";
import { AUTHORIZATION_HEADER, ENVIRONMENT_HEADER } from "../auth/service";
import { compileRules, normalizedPath } from "./rules";

export const FORWARD_AUTH_PATH = "/v1/auth/forward";
/** How the forward-auth route shows in the route table: it judges the forwarded request's credential, not its caller's. */
export const FORWARDED_ACCESS = "forwarded";

/** What an allowed request's upstream is told, by these headers (and only these). */
export const IDENTITY_HEADERS = {
  accountId: "x-tollgate-account-id",
  accountType: "x-tollgate-account-type",
  keyId: "x-tollgate-key-id",
  tenantId: "x-tollgate-tenant-id",
  environmentId: "x-tollgate-environment-id",
  roles: "x-tollgate-roles",
} as const;

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
/** `?mode=nginx`, the one query the route reads (read off the URL: no query parsing per request). */
const NGINX_MODE = "?mode=nginx";

/**
 * `{ forwardAuth: true }`: the declaration of GET (any method) /v1/auth/forward. No credential of
 * the caller's (a proxy) is asked for: the route judges the credential of the request the proxy
 * forwards, by forward_auth.rules. No body is read, whatever the method.
 */
function forwardAuthAccess() {
  return new Elysia({ name: "forward-auth-access" }).macro({
    forwardAuth: {
      detail: { [ACCESS_DETAIL_KEY]: FORWARDED_ACCESS, security: [{ ApiKeyAuth: [] }] } as Record<string, unknown>,
      parse: () => ({}),
    },
  });
}

/**
 * Forward-auth for Caddy forward_auth, Traefik ForwardAuth and nginx auth_request (SPEC §13).
 * The proxy asks about each request before passing it upstream; Tollgate answers 200 with the
 * caller's identity in X-Tollgate-* headers, or refuses with 401 (with WWW-Authenticate), 403
 * or 429 (with Retry-After), each with the error envelope and its code and message also in
 * X-Tollgate-Code and X-Tollgate-Message. The original method, path and host come from
 * X-Forwarded-Method/-Uri/-Host (or X-Original-Method/-URI/-Host), believed only from
 * forward_auth.trusted_proxies; the first rule that matches decides; none matches: 403.
 *
 * nginx turns any answer of its auth_request but 2xx, 401 and 403 into a 500 for the client. With
 * `?mode=nginx`, every other refusal (a 429, a 503) is answered 403 with its real status in
 * X-Tollgate-Status, which the README's nginx setup turns back into that status for the client.
 */
export function forwardAuthController(app: AppContext) {
  const trusted = addressMatcher(app.config.forward_auth.trusted_proxies);
  // Bound to loopback, a server is reached from this machine only (the kernel drops loopback
  // traffic arriving from elsewhere): when every loopback address is trusted, each peer is, and
  // Bun's requestIP (about 4 µs a request) need not be asked. Without a server (app.handle),
  // the peer is always asked.
  const everyPeerTrusted =
    isLoopback(app.config.server.host) && trustsAllLoopback(app.config.forward_auth.trusted_proxies);
  const ruleFor = compileRules(app.config.forward_auth.rules);
  const keyHeader = app.config.auth.api_key.header;

  // Who the peer is taken to be then: some loopback address, all alike to the failure budget.
  const loopbackPeer = app.config.server.host.includes(":") ? "::1" : "127.0.0.1";

  function peerOf(request: Request, server: ForwardContext["server"]): string | null {
    if (server && everyPeerTrusted) return loopbackPeer;
    const peer = server?.requestIP(request)?.address ?? app.authenticator.addressOf(request);
    if (!trusted(peer)) throw accessDenied(AccessOutcome.UntrustedProxy);
    return peer;
  }

  async function judge(request: Request, server: ForwardContext["server"]): Promise<Principal | null> {
    const peer = peerOf(request, server);
    const { headers } = request;
    const uri = headers.get("x-forwarded-uri") ?? headers.get("x-original-uri");
    const path = uri === null ? null : normalizedPath(uri);
    if (path === null) throw accessDenied(AccessOutcome.UnjudgeableRequest);
    const method = (
      headers.get("x-forwarded-method") ??
      headers.get("x-original-method") ??
      request.method
    ).toUpperCase();
    const rule = ruleFor(() => hostnameOf(forwardedHost(headers)), method, path);
    if (rule === undefined) throw accessDenied(AccessOutcome.NoForwardRule);
    if (rule.permission === null) return null;
    return app.authenticator.forwardedPrincipal(
      request,
      credentialOf(headers, keyHeader),
      headers.get(ENVIRONMENT_HEADER),
      rule.permission,
      rule.limits,
      () => clientBehind(headers, peer),
    );
  }

  const answer = async ({ request, set, server }: ForwardContext) => {
    const nginx = request.url.endsWith(NGINX_MODE);
    let principal: Principal | null;
    try {
      principal = await judge(request, server);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return refusal(error, set, nginx);
    }
    for (const [name, value] of Object.entries(identityOf(principal))) set.headers[name] = value;
    // Always both, empty when no limit applied, as the identity headers: a proxy that copies
    // them (Caddy's copy_headers) then never passes on a placeholder or a client's own.
    set.headers["ratelimit-policy"] = principal?.limitHeaders?.["ratelimit-policy"] ?? "";
    set.headers.ratelimit = principal?.limitHeaders?.ratelimit ?? "";
    if (principal) notePrincipal(request, principal.userId);
    return "";
  };
  return (
    new Elysia({ tags: ["Forward-auth"] })
      .use(forwardAuthAccess())
      .get(FORWARD_AUTH_PATH, answer, {
        forwardAuth: true,
        response: { 200: t.String(), ...errorResponses(401, 403, 429) },
        detail: {
          summary:
            "Forward-auth for reverse proxies (any method): may the forwarded request pass? 200 with identity headers, or 401/403/429",
        },
      })
      // nginx's auth_request asks with the original request's method; the answer is the same.
      .all(FORWARD_AUTH_PATH, answer, { forwardAuth: true, detail: { hide: true } })
  );
}

interface ForwardContext {
  request: Request;
  set: { status?: unknown; headers: Record<string, string | number> };
  server: { requestIP(request: Request): { address: string } | null } | null;
}

/** The host the forwarded request named. */
function forwardedHost(headers: Headers): string {
  return headers.get("x-forwarded-host") ?? headers.get("x-original-host") ?? headers.get("host") ?? "";
}

/** The key of the forwarded request: the configured key header, else `Authorization: Bearer <key>`. */
function credentialOf(headers: Headers, keyHeader: string): string | null {
  const key = headers.get(keyHeader);
  if (key !== null) return key;
  const authorization = headers.get(AUTHORIZATION_HEADER);
  return authorization === null ? null : (BEARER.exec(authorization)?.[1] ?? null);
}

/**
 * The client behind the proxy, for the failed-credential budget: the last address of
 * X-Forwarded-For (what the proxy saw; earlier entries are the client's own claims), else
 * X-Real-IP, else the proxy itself.
 */
function clientBehind(headers: Headers, peer: string | null): string | null {
  const forwarded = headers.get("x-forwarded-for");
  const last = forwarded?.split(",").at(-1)?.trim();
  return last || headers.get("x-real-ip")?.trim() || peer;
}

/**
 * Every identity header, on every 200: empty for a public rule's anonymous caller. A proxy that
 * copies them onto the upstream request then always overwrites what a client sent under the same
 * names, instead of leaving a client's header in place when Tollgate named no one.
 */
function identityOf(principal: Principal | null): Record<string, string> {
  return {
    [IDENTITY_HEADERS.accountId]: principal?.userId ?? "",
    [IDENTITY_HEADERS.accountType]: principal?.userType ?? "",
    [IDENTITY_HEADERS.keyId]: principal?.credential.id ?? "",
    [IDENTITY_HEADERS.tenantId]: principal?.tenantId ?? "",
    [IDENTITY_HEADERS.environmentId]: principal?.environmentId ?? "",
    [IDENTITY_HEADERS.roles]: principal?.credential.roles.join(",") ?? "",
  };
}

function refusal(error: ApiError, set: { status?: unknown; headers: Record<string, string | number> }, nginx: boolean) {
  set.headers["content-type"] = "application/json";
  set.headers["x-tollgate-code"] = error.code;
  set.headers["x-tollgate-message"] = error.message;
  if (error.status === 401) set.headers["www-authenticate"] = 'Bearer realm="tollgate"';
  const retryAfter = error.details?.retry_after_seconds;
  if (typeof retryAfter === "number") set.headers["retry-after"] = String(retryAfter);
  if (error.headers) Object.assign(set.headers, error.headers);
  let status = error.status;
  if (nginx && status !== 401 && status !== 403) {
    set.headers["x-tollgate-status"] = String(status);
    status = 403;
  }
  set.status = status;
  return envelope(error);
}
