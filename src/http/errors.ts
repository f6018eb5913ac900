import { t } from "elysia";

export type ErrorCode =
  | "not_found"
  | "already_exists"
  | "version_conflict"
  | "validation_error"
  | "invalid_operation"
  | "permission_denied"
  | "http_client_error"
  | "database_error"
  | "system_error"
  | "internal_error"
  | "service_unavailable"
  | "too_many_requests"
  | "not_implemented";

export type ErrorDetails = Record<string, unknown>;

/** The one failure type handlers and services throw; the error plugin turns it into the envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
    /** A machine name for why, where one exists (the access outcome), for metrics. */
    readonly reason?: string,
    /** Response headers that belong to this refusal (a 429's RateLimit headers). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const validationError = (message: string, details?: ErrorDetails) =>
  new ApiError(400, "validation_error", message, details);
export const invalidOperation = (message: string, details?: ErrorDetails) =>
  new ApiError(400, "invalid_operation", message, details);
export const notFound = (message = "Resource not found") => new ApiError(404, "not_found", message);
/** What the router answers for a path no route serves; also a route that declines a path. */
export const routeNotFound = () => notFound("Route not found");
export const alreadyExists = (message: string) => new ApiError(409, "already_exists", message);
/** 503: the service cannot do this now (the store cannot keep a write); nothing was done. */
export const serviceUnavailable = (message: string, details?: ErrorDetails) =>
  new ApiError(503, "service_unavailable", message, details);
/** 501: a documented Flexprice operation that needs machinery Tollgate does not have (billing); the message says which. */
export const notImplemented = (message: string) => new ApiError(501, "not_implemented", message);

/**
 * The 501 of a Flexprice operation in Tollgate's groups that needs billing machinery: `what` is
 * the thing asked for ("A customer's entitlements").
 */
export const needsBilling = (what: string) =>
  notImplemented(
    `${what}: this needs billing (plans, prices, subscriptions, meters, wallets), which Tollgate does not keep; it is an access service, so ask the Flexprice API`,
  );
export const payloadTooLarge = (limit: number) =>
  new ApiError(413, "validation_error", `Request body is larger than the limit of ${limit} bytes`, { limit });

/**
 * The one error body, readable by both generations of Flexprice clients (SPEC §0): the flat
 * `code`, `message`, `http_status_code` and `details` that SDKs 2.1 and later read (Flexprice
 * since April 2026), and the nested `success`/`error` that @flexprice/sdk 2.0.x reads.
 * `details` is always an object, empty when there is nothing to add.
 */
export interface ErrorEnvelope {
  code: ErrorCode;
  message: string;
  http_status_code: number;
  details: ErrorDetails;
  success: false;
  error: { message: string; internal_error: ErrorCode; details: ErrorDetails };
}

export function envelope(error: ApiError): ErrorEnvelope {
  const details = error.details ?? {};
  return {
    code: error.code,
    message: error.message,
    http_status_code: error.status,
    details,
    success: false,
    error: { message: error.message, internal_error: error.code, details },
  };
}

/** The envelope as a response schema, for the OpenAPI document. */
export const ErrorEnvelopeSchema = t.Object(
  {
    code: t.String({ description: "The error code, as error.internal_error" }),
    message: t.String({ description: "Human-readable, safe to show" }),
    http_status_code: t.Integer({ description: "The response's status" }),
    details: t.Record(t.String(), t.Unknown()),
    success: t.Literal(false),
    error: t.Object({
      message: t.String(),
      internal_error: t.String(),
      details: t.Record(t.String(), t.Unknown()),
    }),
  },
  { title: "ErrorResponse" },
);
