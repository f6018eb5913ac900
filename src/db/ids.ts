import { ulid } from "ulid";

export type IdPrefix = "tenant" | "env" | "usr" | "sec" | "cust" | "event" | "aud" | "req";

/** A type prefix and a ULID, so ids sort by creation time and say what they name. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}

/** RFC 3339 in UTC with milliseconds, the one timestamp format on the wire and in the store. */
export function nowIso(): string {
  return new Date().toISOString();
}
