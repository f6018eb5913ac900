import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { ValidationError } from "elysia";
import { ApiError } from "../../http/errors";
import { fromValidationError } from "../../http/validation";

/**
 * Checks form input against the API's own request schema, so a refusal says what the API would
 * say (`name must be …`, `Type must be …`): the same words, from the same rules.
 */
export function checkLike<T>(schema: TSchema, value: T): T {
  if (!Value.Check(schema, value)) throw fromValidationError(new ValidationError("body", schema, value));
  return value;
}

/** A form field as text, or undefined when absent or blank. */
export function field(form: URLSearchParams, name: string): string | undefined {
  const value = form.get(name);
  return value === null || value.trim() === "" ? undefined : value;
}

/**
 * Runs a service call; an ApiError (a refusal in the API's words) comes back as its status and
 * message for the page to show. Anything else is a bug or the store failing: thrown on.
 */
export async function attempt<T>(
  call: () => T | Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; status: number; message: string; error: ApiError }> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    if (error instanceof ApiError) return { ok: false, status: error.status, message: error.message, error };
    throw error;
  }
}
