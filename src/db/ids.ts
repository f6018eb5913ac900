import { monotonicFactory } from "ulid";

export type IdPrefix = "tenant" | "env" | "usr" | "sec" | "cust" | "event" | "aud" | "whevt";

// ulid's default generator asks the OS for one random byte per character; draw them from a
// pool refilled 4 KiB at a time instead. Monotonic: ids made in the same millisecond still sort.
const pool = new Uint8Array(4096);
let offset = pool.length;
function pooledRandom(): number {
  if (offset >= pool.length) {
    crypto.getRandomValues(pool);
    offset = 0;
  }
  return (pool[offset++] as number) / 256;
}

export const nextUlid: () => string = monotonicFactory(pooledRandom);

/** A type prefix and a ULID, so ids sort by creation time and say what they name. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${nextUlid()}`;
}

/** RFC 3339 in UTC with milliseconds, the one timestamp format on the wire and in the store. */
export function nowIso(): string {
  return new Date().toISOString();
}
