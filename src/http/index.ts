import { Elysia, type ValidationError } from "elysia";
import { storeFailureOf } from "../db/health";
import { nextUlid } from "../db/ids";
import { ApiError, envelope, serviceUnavailable } from "./errors";
import type { Logger } from "./logging";
import type { Metrics } from "./metrics";
import { fromValidationError } from "./validation";

export const REQUEST_ID_HEADER = "x-request-id";
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

interface RequestMeta {
  id: string;
  startedAt: number;
  principalId?: string;
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

/**
 * Transport concerns every route shares: request ids, the one error envelope for every
 * failure, and one log line per request. The JSON body parser (./body.ts) is not global: the
 * access declarations run it after the credential check.
 */
export function httpPlugin(logger: Logger, metrics: Metrics | null) {
  return new Elysia({ name: "http" })
    .onRequest(({ request, set }) => {
      const sent = request.headers.get(REQUEST_ID_HEADER);
      const id = sent && SANE_REQUEST_ID.test(sent) ? sent : nextUlid();
      requestMeta.set(request, { id, startedAt: performance.now() });
      set.headers[REQUEST_ID_HEADER] = id;
    })
    .onError({ as: "global" }, ({ code, error, set, request, path }) => {
      const apiError = toApiError(code, error);
      if (apiError.status >= 500) {
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
      return envelope(apiError);
    })
    .onAfterResponse({ as: "global" }, ({ request, set, route, response }) => {
      const meta = requestMeta.get(request);
      // A handler that returns a Response (a redirect, a file) sets its status there, not in `set`.
      const status = response instanceof Response ? response.status : typeof set.status === "number" ? set.status : 200;
      const elapsedMs = meta ? performance.now() - meta.startedAt : 0;
      logger.info("request", {
        request_id: meta?.id,
        method: request.method,
        route: route || null,
        status,
        duration_ms: Math.round(elapsedMs * 100) / 100,
        principal_id: meta?.principalId ?? null,
      });
      // Unknown paths share one label, so a scan of random URLs cannot grow the label set.
      metrics?.observeRequest(request.method, route || "(unmatched)", status, elapsedMs / 1000);
    });
}

function toApiError(code: string | number, error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  // SQLite could not keep the write (disk full, I/O error, read-only, damaged file): the
  // service is unavailable, not broken; nothing was stored. Its own words stay in the log.
  const storeFailure = storeFailureOf(error);
  if (storeFailure) {
    return serviceUnavailable(`The store is unavailable: ${storeFailure.says}`, { problem: storeFailure.problem });
  }
  // Elysia wraps whatever the body parser throws in a ParseError; ours are already ApiErrors.
  if (code === "PARSE" && (error as Error).cause instanceof ApiError) return (error as Error).cause as ApiError;
  switch (code) {
    case "VALIDATION":
      return fromValidationError(error as ValidationError);
    case "NOT_FOUND":
      return new ApiError(404, "not_found", "Route not found");
    case "PARSE":
      return new ApiError(400, "validation_error", "Request body is not valid JSON");
    case "INVALID_COOKIE_SIGNATURE":
    case "INVALID_FILE_TYPE":
      return new ApiError(400, "validation_error", "Invalid request");
    default:
      return new ApiError(500, "internal_error", "Internal server error");
  }
}
