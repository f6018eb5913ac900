// How an error crosses between the main thread and the store threads (the readers, the event
// writer): an ApiError whole (status, code, details), anything else with SQLite's code kept
// (SQLITE_IOERR…) for the HTTP layer to answer with.
import { ApiError, type ErrorCode } from "../../http/errors";

export interface WireError {
  message: string;
  status?: number;
  code?: string;
  details?: Record<string, unknown>;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof ApiError) {
    return { message: error.message, status: error.status, code: error.code, details: error.details };
  }
  const { message, code } = error as { message?: unknown; code?: unknown };
  return { message: String(message ?? error), ...(typeof code === "string" ? { code } : {}) };
}

/** The error as the main thread would have thrown it. */
export function fromWireError(error: WireError): Error {
  if (error.status !== undefined) {
    return new ApiError(error.status, error.code as ErrorCode, error.message, error.details);
  }
  return Object.assign(new Error(error.message), error.code ? { code: error.code } : {});
}
