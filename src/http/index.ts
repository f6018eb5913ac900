import { Elysia, ParseError, type ValidationError } from "elysia";
import { FilterRefused } from "../db/filters";
import { storeFailureOf } from "../db/health";
import { nextUlid } from "../db/ids";
import { ApiError, envelope, routeNotFound, serviceUnavailable, validationError } from "./errors";
import { ANY_HOST, type HostPolicy, hostHeaderPolicy, unknownHost } from "./hosts";
import type { Logger } from "./logging";
import type { Metrics } from "./metrics";
import { fromValidationError } from "./validation";

export const REQUEST_ID_HEADER = "x-request-id";
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

interface RequestMeta {
  id: string;
  startedAt: number;
  principalId?: string;
  /** Accounted for elsewhere (a sampled or limited auth failure): no line of its own. */
  unlogged?: boolean;
}

// Keyed by the Request, which every lifecycle stage can destructure. Hooks here destructure
// only what they use: a hook that takes Elysia's whole context makes Elysia assume every part
// of the request is needed, and parse cookies, query and headers on every route.
const requestMeta = new WeakMap<Request, RequestMeta>();

export function requestIdOf(request: Request): string | undefined {
  return requestMeta.get(request)?.id;
}

/** Lets the auth layer put the caller's id on the request's log line. */
export function notePrincipal(request: Request, principalId: string): void {
  const meta = requestMeta.get(request);
  if (meta) meta.principalId = principalId;
}

/** Leaves the request out of the request log: the auth failure limiter counts it instead. */
export function skipRequestLog(request: Request): void {
  const meta = requestMeta.get(request);
  if (meta) meta.unlogged = true;
}

/**
 * Transport concerns every route shares: request ids, the one error envelope for every
 * failure, and one log line per request. The JSON body parser (./body.ts) is not global: the
 * access declarations run it after the credential check.
 */
export function httpPlugin(
  logger: Logger,
  metrics: Metrics | null,
  hosts: { serves: HostPolicy; anyHostPaths: ReadonlySet<string> } = { serves: ANY_HOST, anyHostPaths: new Set() },
) {
  const servesHostHeader = hostHeaderPolicy(hosts.serves);
  const anyHost = hosts.serves === ANY_HOST;
  return new Elysia({ name: "http" })
    .onRequest(({ request, set }) => {
      const sent = request.headers.get(REQUEST_ID_HEADER);
      const id = sent && SANE_REQUEST_ID.test(sent) ? sent : nextUlid();
      requestMeta.set(request, { id, startedAt: performance.now() });
      set.headers[REQUEST_ID_HEADER] = id;
      // Bun builds request.url from the Host header; a malformed one ("a b", "x@y") makes the
      // URL unparseable for every later stage (body limits, links). Refused here, once.
      if (!URL.canParse(request.url)) throw validationError("Invalid Host header", { host: "is not a valid host" });
      // U+0000 in a path or query value: PostgreSQL's text cannot hold it, so neither engine takes it.
      if (request.url.includes("%00")) {
        throw validationError("The request address contains %00 (U+0000), which cannot be stored", {
          url: "must not contain %00",
        });
      }
      // A host this server does not answer to (src/http/hosts.ts), refused before any work; but
      // on the paths that answer any host (/health, forward-auth: see app.ts).
      if (!anyHost && !servesHostHeader(request.headers.get("host") ?? new URL(request.url).host)) {
        if (!hosts.anyHostPaths.has(new URL(request.url).pathname)) throw unknownHost();
      }
    })
    .onError({ as: "global" }, ({ code, error: raised, set, request, path }) => {
      const error = failureOf(code, raised);
      const apiError = toApiError(code, error);
      if (apiError.details?.problem === "busy") {
        logger.warn("store busy", { request_id: requestIdOf(request), method: request.method, path });
      } else if (apiError.status >= 500) {
        logger.error("unhandled error", {
          request_id: requestIdOf(request),
          method: request.method,
          path,
          error: error instanceof Error ? error.message : String(error),
          stack: error instanceof Error ? error.stack : undefined,
        });
      }
      set.status = apiError.status;
      set.headers["content-type"] = "application/json";
      // An error that says when to come back (a 429) says it in the standard header too.
      const retryAfter = apiError.details?.retry_after_seconds;
      if (typeof retryAfter === "number") set.headers["retry-after"] = String(retryAfter);
      if (apiError.headers) Object.assign(set.headers, apiError.headers);
      return envelope(apiError);
    })
    .onAfterResponse({ as: "global" }, ({ request, set, route, response }) => {
      const meta = requestMeta.get(request);
      // A handler that returns a Response (a redirect, a file) sets its status there, not in `set`.
      const status = response instanceof Response ? response.status : typeof set.status === "number" ? set.status : 200;
      const elapsedMs = meta ? performance.now() - meta.startedAt : 0;
      if (!meta?.unlogged) {
        logger.info("request", {
          request_id: meta?.id,
          method: request.method,
          route: route || null,
          // What was not found: the route alone (none, or a pattern) does not say.
          ...(status === 404 ? { path: loggablePath(request) } : {}),
          status,
          duration_ms: Math.round(elapsedMs * 100) / 100,
          principal_id: meta?.principalId ?? null,
        });
      }
      // Unknown paths share one label, so a scan of random URLs cannot grow the label set.
      metrics?.observeRequest(request.method, route || "(unmatched)", status, elapsedMs / 1000);
    });
}

/** The longest path a log line carries; a scan's 8 KB paths are cut here. */
const LOGGED_PATH_MAX = 256;
/** A run of characters as long as a key, a session token or a JWT part (ids are shorter), wherever it is. */
const CREDENTIAL_LIKE = /[A-Za-z0-9_-]{40,}/g;

/**
 * The path of a request as a log line may carry it: never the query string (setup and portal
 * links carry their token there), and a run as long as a key or token, such as a key pasted
 * into an address by mistake, replaced by `[redacted]`.
 */
export function loggablePath(request: Request): string {
  const path = new URL(request.url).pathname.replace(CREDENTIAL_LIKE, "[redacted]");
  return path.length > LOGGED_PATH_MAX ? `${path.slice(0, LOGGED_PATH_MAX)}…` : path;
}

/**
 * What actually went wrong. Elysia wraps whatever a `parse` hook throws in a ParseError (400),
 * and the parse stage runs more than the JSON parser: the access check runs there first (auth
 * macros), so a store failure or a bug while checking a key arrives wrapped. Only a failure to
 * read the body as JSON (an ApiError from ./body.ts, or a SyntaxError) is the client's fault.
 */
export function failureOf(code: string | number, error: unknown): unknown {
  if (code !== "PARSE" || !(error instanceof Error)) return error;
  const { cause } = error;
  return cause === undefined || cause instanceof SyntaxError ? error : cause;
}

function isStoreBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^SQLITE_(BUSY|LOCKED)(_|$)/.test(code);
}

function toApiError(code: string | number, error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  // A search the store layer cannot apply as asked (src/db/filters.ts): the request's fault.
  if (error instanceof FilterRefused) return validationError(error.message, { [error.field]: error.rule });
  // SQLite could not keep the write (disk full, I/O error, read-only, damaged file): the
  // service is unavailable, not broken; nothing was stored. Its own words stay in the log.
  const storeFailure = storeFailureOf(error);
  if (storeFailure) {
    return serviceUnavailable(`The store is unavailable: ${storeFailure.says}`, { problem: storeFailure.problem });
  }
  // Another process (the CLI beside the server) held the write lock past the busy timeout:
  // nothing was written and nothing is broken; the same request will succeed in a moment.
  if (isStoreBusy(error)) {
    return serviceUnavailable("The store is busy (another process is writing to it); retry shortly", {
      problem: "busy",
      retry_after_seconds: 1,
    });
  }
  switch (code) {
    case "VALIDATION":
      // Elysia also checks what a handler returns against the route's response schema; a
      // mismatch there is our bug (a value out of range, a field left out), not the client's.
      return (error as ValidationError).type === "response"
        ? new ApiError(500, "internal_error", "Internal server error")
        : fromValidationError(error as ValidationError);
    case "NOT_FOUND":
      return routeNotFound();
    case "PARSE":
      // Still Elysia's ParseError: the body was not JSON. Otherwise failureOf unwrapped what the
      // access check threw: the server's fault, not the client's.
      return error instanceof ParseError
        ? new ApiError(400, "validation_error", "Request body is not valid JSON")
        : new ApiError(500, "internal_error", "Internal server error");
    case "INVALID_COOKIE_SIGNATURE":
    case "INVALID_FILE_TYPE":
      return new ApiError(400, "validation_error", "Invalid request");
    default:
      return new ApiError(500, "internal_error", "Internal server error");
  }
}
