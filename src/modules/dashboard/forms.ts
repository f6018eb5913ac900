import { ApiError } from "../../http/errors";
import type { AppContext } from "../../context";
import type { Principal } from "../auth/model";
import { auditContextOf } from "../audit/context";
import type { AuditContext } from "../audit/model";
import { type Server, visitOf } from "./session";

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

/**
 * `attempt` for a signed-in change: the call gets the person's principal and the audit context of
 * this request (who, from where), as every dashboard action that writes passes them to the service.
 */
export async function attemptAs<T>(
  app: AppContext,
  request: Request,
  server: Server | null,
  call: (principal: Principal, audit: AuditContext) => T | Promise<T>,
) {
  const { principal } = visitOf(request);
  return attempt(async () => call(principal, await auditContextOf(app, { principal, request, server })));
}

/**
 * A refusal in the words of the form that was sent: a message that begins with an API field's
 * name (`service_account_id must not be empty`) names the field as the form labels it
 * (`Mapped to Identity must not be empty`). Only the page says it so; the API keeps its words.
 */
export function inFormWords(message: string, labels: Record<string, string>): string {
  for (const [field, label] of Object.entries(labels)) {
    if (message.startsWith(`${field} `)) return `${label}${message.slice(field.length)}`;
  }
  return message;
}
