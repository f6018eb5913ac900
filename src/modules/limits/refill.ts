import type { Refill } from "./model";

// When credits refill (SPEC §14): daily at 00:00 UTC; monthly on refill_day (default the 1st),
// on the month's last day when it has fewer days. A refill SETS remaining to the amount, and is
// applied lazily by whoever next reads or spends after the boundary, so it is never late.

/** The latest refill boundary at or before `now`, as RFC 3339 UTC text (sorts as time). */
export function lastRefillBoundary(refill: Pick<Refill, "interval" | "refill_day">, now: number): string {
  const at = new Date(now);
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  if (refill.interval === "daily") return new Date(Date.UTC(year, month, at.getUTCDate())).toISOString();
  const day = refill.refill_day ?? 1;
  const thisMonth = monthlyBoundary(year, month, day);
  return thisMonth <= now
    ? new Date(thisMonth).toISOString()
    : new Date(monthlyBoundary(year, month - 1, day)).toISOString();
}

/** The first refill boundary after `now`, ms since the epoch: when a key out of credits can spend again. */
export function nextRefillBoundary(refill: Pick<Refill, "interval" | "refill_day">, now: number): number {
  const last = new Date(lastRefillBoundary(refill, now));
  if (refill.interval === "daily") return last.getTime() + 24 * 3600 * 1000;
  return monthlyBoundary(last.getUTCFullYear(), last.getUTCMonth() + 1, refill.refill_day ?? 1);
}

/** 00:00 UTC on `day` of the month, clamped to the month's last day. */
function monthlyBoundary(year: number, month: number, day: number): number {
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(year, month, Math.min(day, lastDay));
}

/**
 * The boundary a spend at `now` must refill at first, or "" when none is due: a refill not yet
 * applied since `refilledAt`. "" sorts before every timestamp, so SQL comparing
 * `refilled_at < boundary` finds nothing due.
 */
export function dueRefillBoundary(
  refill: Pick<Refill, "interval" | "refill_day"> | null,
  refilledAt: string | null,
  now: number,
): string {
  if (refill === null) return "";
  const boundary = lastRefillBoundary(refill, now);
  return refilledAt === null || refilledAt < boundary ? boundary : "";
}
