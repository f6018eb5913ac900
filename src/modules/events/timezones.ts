// Usage windows in a time zone (POST /v1/events/usage `timezone`, an IANA name): a DAY window runs
// from local midnight to local midnight, a WEEK from its local Monday, a MONTH from the local 1st.
// Events are stored in UTC; SQL shifts each one to local wall time by the zone's offset at its
// instant (from the offset periods found here), windows are cut on that wall time, and each
// window's start is turned back into the UTC instant it is.

const MINUTE_MS = 60_000;
const WEEK_MS = 7 * 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      era: "short",
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** The zone's offset from UTC at instant `ms`, in whole minutes (local = UTC + offset). */
export function offsetMinutesAt(zone: string, ms: number): number {
  const parts: Record<string, string> = {};
  for (const part of formatterOf(zone).formatToParts(new Date(ms))) parts[part.type] = part.value;
  const wall = new Date(0);
  wall.setUTCFullYear(
    parts.era === "BC" ? 1 - Number(parts.year) : Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
  );
  wall.setUTCHours(Number(parts.hour), Number(parts.minute), Number(parts.second), 0);
  const wholeSecond = ms - (((ms % 1000) + 1000) % 1000);
  return Math.round((wall.getTime() - wholeSecond) / MINUTE_MS);
}

/** A stretch of time with one offset: until (exclusive) `untilMs`; the last one has none. */
export interface OffsetPeriod {
  untilMs: number | null;
  offsetMinutes: number;
}

/**
 * The zone's offsets over [startMs, endMs), each with the instant it ends: looked at week by week
 * (zones change offset at most a few times a year, never twice in a week), each change then
 * found to the minute by halving.
 */
export function offsetPeriods(zone: string, startMs: number, endMs: number): OffsetPeriod[] {
  const periods: OffsetPeriod[] = [];
  let at = startMs;
  let offset = offsetMinutesAt(zone, at);
  for (let next = at + WEEK_MS; at < endMs; next += WEEK_MS) {
    const probe = Math.min(next, endMs);
    const later = offsetMinutesAt(zone, probe);
    if (later !== offset) {
      let low = at;
      let high = probe;
      while (high - low > MINUTE_MS) {
        const middle = low + Math.floor((high - low) / 2 / MINUTE_MS) * MINUTE_MS;
        if (offsetMinutesAt(zone, middle) === offset) low = middle;
        else high = middle;
      }
      periods.push({ untilMs: high, offsetMinutes: offset });
      offset = later;
    }
    at = probe;
  }
  periods.push({ untilMs: null, offsetMinutes: offset });
  return periods;
}

/**
 * The UTC instant of a local wall time (given as if it were UTC): the wall time less the offset
 * in force then. (A wall time a change to summer time skipped has no instant; it lands next to
 * the change. Window starts are midnights and month starts, which the changes avoid.)
 */
export function localToUtc(zone: string, wallMs: number): number {
  const guess = wallMs - offsetMinutesAt(zone, wallMs) * MINUTE_MS;
  return wallMs - offsetMinutesAt(zone, guess) * MINUTE_MS;
}
