import type { WindowSize } from "./model";
import type { UsageSql } from "./usage-sql/model";

// Usage windows: where the window holding an event starts (in SQL, from its stored timestamp),
// and how many windows a range touches (to refuse a range with too many before reading it).

// Each expression reads `ts`, the timestamp text it is given: the stored UTC timestamp, or (with a
// time zone) the event's local wall time written the same way (see timezones.ts); the SQL that
// differs between engines comes from `sql`.
const minutesOf = (step: number) => (sql: UsageSql, ts: string) =>
  `substr(${ts}, 1, 14) || ${sql.twoDigits(`CAST(substr(${ts}, 15, 2) AS INTEGER) / ${step} * ${step}`)} || ':00.000Z'`;
const hoursOf = (step: number) => (sql: UsageSql, ts: string) =>
  `substr(${ts}, 1, 11) || ${sql.twoDigits(`CAST(substr(${ts}, 12, 2) AS INTEGER) / ${step} * ${step}`)} || ':00:00.000Z'`;

/**
 * Timestamps lie in the years 0000–9999, where SQLite's date functions stop: past 9999 they
 * answer NULL, before 0000 a year such as -0001. A window that would start before the first
 * instant (the week or billing month holding the first days of 0000) starts at FIRST_INSTANT,
 * and no date arithmetic here leaves the years.
 */
const FIRST_INSTANT = "'0000-01-01T00:00:00.000Z'";
/** The first Monday of year 0000 (the 1st was a Saturday): weeks before it start at FIRST_INSTANT. */
const FIRST_MONDAY = "'0000-01-03'";

/**
 * Window start as RFC 3339, computed in SQL from timestamp text `ts` (always
 * `YYYY-MM-DDTHH:MM:SS.mmmZ`). Windows of minutes and hours are aligned to the day, weeks start
 * on Monday (as Flexprice documents them), months on the 1st.
 */
const WINDOW_START: Record<WindowSize, (sql: UsageSql, ts: string) => string> = {
  MINUTE: (_, ts) => `substr(${ts}, 1, 16) || ':00.000Z'`,
  "15MIN": minutesOf(15),
  "30MIN": minutesOf(30),
  HOUR: (_, ts) => `substr(${ts}, 1, 13) || ':00:00.000Z'`,
  "3HOUR": hoursOf(3),
  "6HOUR": hoursOf(6),
  "12HOUR": hoursOf(12),
  DAY: (_, ts) => `substr(${ts}, 1, 10) || 'T00:00:00.000Z'`,
  WEEK: (sql, ts) => `CASE WHEN ${ts} < ${FIRST_MONDAY} THEN ${FIRST_INSTANT}
    ELSE ${sql.mondayOnOrBefore(`substr(${ts}, 1, 10)`)} || 'T00:00:00.000Z' END`,
  MONTH: (_, ts) => `substr(${ts}, 1, 7) || '-01T00:00:00.000Z'`,
};

/** The start of a billing month in month `ym` (YYYY-MM text): the anchor's day, or the month's last if shorter. */
const anchoredStartIn = (sql: UsageSql, ym: string) =>
  `${ym} || '-' || ${sql.twoDigits(sql.smaller("@anchor_day", sql.daysIn(ym)))} || @anchor_time`;

/** Whether the event is in the first month there is: a billing month it began before the anchor starts at FIRST_INSTANT. */
const inFirstMonth = (ts: string) => `substr(${ts}, 1, 7) = '0000-01'`;

/**
 * MONTH with billing_anchor: months from the anchor's day and time of day to the same in the next
 * month; an anchor on the 29th to 31st falls on the last day of shorter months.
 */
const anchoredMonthStart = (
  sql: UsageSql,
  ts: string,
) => `CASE WHEN ${ts} >= ${anchoredStartIn(sql, `substr(${ts}, 1, 7)`)}
  THEN ${anchoredStartIn(sql, `substr(${ts}, 1, 7)`)}
  WHEN ${inFirstMonth(ts)} THEN ${FIRST_INSTANT}
  ELSE ${anchoredStartIn(sql, sql.monthBefore(`substr(${ts}, 1, 7)`))} END`;

/**
 * The same for an anchor on the 1st to the 28th, which every month has: a comparison of the
 * text from the day on (`DDTHH:MM:SS.mmmZ`) with the anchor's, and date arithmetic only for
 * events before the anchor in their month. A third of the cost per event.
 */
const earlyAnchoredMonthStart = (sql: UsageSql, ts: string) => `CASE WHEN substr(${ts}, 9) >= @anchor_from_day
  THEN substr(${ts}, 1, 8) || @anchor_from_day
  WHEN ${inFirstMonth(ts)} THEN ${FIRST_INSTANT}
  ELSE ${sql.monthBefore(`substr(${ts}, 1, 7)`)} || '-' || @anchor_from_day END`;

const DAY_MS = 86_400_000;
/** The length of each window but a month, whose length varies (see windowNumber). */
const WINDOW_MS: Record<Exclude<WindowSize, "MONTH">, number> = {
  MINUTE: 60_000,
  "15MIN": 900_000,
  "30MIN": 1_800_000,
  HOUR: 3_600_000,
  "3HOUR": 10_800_000,
  "6HOUR": 21_600_000,
  "12HOUR": 43_200_000,
  DAY: DAY_MS,
  WEEK: 7 * DAY_MS,
};
/** Weeks start on Monday: 1970-01-05, four days after the epoch, was one. */
const MONDAY_AFTER_EPOCH_MS = 4 * DAY_MS;

/**
 * The window holding instant `ms`, as a number: consecutive windows have consecutive numbers,
 * so a range [start, end) touches windowNumber(end - 1) - windowNumber(start) + 1 windows,
 * counting the partial ones at either end. `anchor`: MONTH's billing_anchor, in UTC, or null.
 */
function windowNumber(window: WindowSize, anchor: string | null, ms: number): number {
  if (window !== "MONTH") {
    const offset = window === "WEEK" ? MONDAY_AFTER_EPOCH_MS : 0;
    return Math.floor((ms - offset) / WINDOW_MS[window]);
  }
  const month = new Date(ms).getUTCFullYear() * 12 + new Date(ms).getUTCMonth();
  if (anchor === null) return month;
  // The anchor's day and time in this month (its last day if shorter): before it, the billing
  // month began in the month before.
  const anchorInMonth = new Date(ms);
  anchorInMonth.setUTCMonth(anchorInMonth.getUTCMonth() + 1, 0); // the month's last day
  anchorInMonth.setUTCDate(Math.min(Number(anchor.slice(8, 10)), anchorInMonth.getUTCDate()));
  anchorInMonth.setUTCHours(0, 0, 0, 0);
  const timeOfDay = ((Date.parse(anchor) % DAY_MS) + DAY_MS) % DAY_MS;
  return ms < anchorInMonth.getTime() + timeOfDay ? month - 1 : month;
}

/**
 * The first window boundary at or after `ms` (for a MONTH, `ms` itself: a default range never
 * reaches the cap in months). Moves a defaulted start off a partial first window.
 */
export function firstBoundaryFrom(window: WindowSize, ms: number): number {
  if (window === "MONTH") return ms;
  const offset = window === "WEEK" ? MONDAY_AFTER_EPOCH_MS : 0;
  const size = WINDOW_MS[window];
  return Math.ceil((ms - offset) / size) * size + offset;
}

/** How many windows [startMs, endMs) touches, counting the partial ones at either end. */
export function windowsTouched(window: WindowSize, anchor: string | null, startMs: number, endMs: number): number {
  return windowNumber(window, anchor, endMs - 1) - windowNumber(window, anchor, startMs) + 1;
}

/**
 * The SQL of the start of the window holding an event, for windows of `window` (MONTH from
 * `anchor`, its billing_anchor, when there is one), read from timestamp text `ts` (the stored
 * UTC `timestamp`, or an event's local wall time); sets the parameters it reads.
 */
export function windowStart(
  sql: UsageSql,
  window: WindowSize,
  anchor: string | null,
  params: Record<string, unknown>,
  ts = "timestamp",
): string {
  if (window !== "MONTH" || anchor === null) return WINDOW_START[window](sql, ts);
  const day = Number(anchor.slice(8, 10));
  if (day <= 28) {
    params.anchor_from_day = anchor.slice(8);
    return earlyAnchoredMonthStart(sql, ts);
  }
  params.anchor_day = day;
  params.anchor_time = anchor.slice(10);
  return anchoredMonthStart(sql, ts);
}
