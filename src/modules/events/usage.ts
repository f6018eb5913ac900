import type { Static } from "elysia";
import type { Queries, Store } from "../../db";
import type { Engine } from "../../db/store";
import { invalidOperation, validationError } from "../../http/errors";
import { READ_BUDGET_MS } from "../../db/read-budget";
import { findScopeKey, type Scope } from "./scopes";
import { filterOf } from "./filters";
import {
  type Aggregation,
  DEFAULT_USAGE_RANGE_MS,
  MAX_USAGE_WINDOWS,
  PROPERTY_NAME_PATTERN,
  eventsTooExpensive,
  type UsageBody,
  type UsageSchema,
  type WindowSize,
} from "./model";
import { windowStart, windowsTouched, firstBoundaryFrom } from "./windows";
import { isTimeZone } from "../../http/schemas";
import { localToUtc, type OffsetPeriod, offsetMinutesAt, offsetPeriods } from "./timezones";
import type { UsageSql } from "./usage-sql/model";
import { SQLITE_USAGE_SQL } from "./usage-sql/sqlite";
import { POSTGRES_USAGE_SQL } from "./usage-sql/postgres";

export type UsageQuery = Static<typeof UsageBody>;
export type UsageResult = Static<typeof UsageSchema>;

// POST /v1/events/usage: every aggregation and window the Flexprice API names, over
// [start_time, end_time) (default: the 7 days before end_time, default now), in UTC; windows
// in windows.ts. At the end, the customer portal's usage: counts by event name.

/** The SQL that differs between engines (usage-sql/): each answers the same values. */
const USAGE_SQL: Record<Engine, UsageSql> = { sqlite: SQLITE_USAGE_SQL, postgres: POSTGRES_USAGE_SQL };

/**
 * Values past the range of a double. Every number here is a double, and a sum (or the sum of
 * the groups' or buckets' values) can pass ±1.8e308, where a sum becomes ±Infinity and stays
 * there even when later values bring the true sum back into range (+∞ and −∞ together are
 * answered as +∞). So an aggregate first runs as asked, exact to the last bit; only if a value
 * came out infinite does it run again with every number read scaled by SCALE (2^-64, exact for
 * all but values below 1e-289), where no sum of fewer than 2^64 values can overflow, and the
 * values are scaled back: a true value within range comes back finite, one past it is a 400
 * (valueTooLarge), never Infinity.
 */
const SCALE = 2 ** -64;

/**
 * The number each event contributes: a property's value as a number, or NULL (UsageSql.number:
 * text that is a number counts, the SDK sends every property as text; anything else is ignored
 * rather than coerced), or that scaled by SCALE (see above).
 */
const numberRead = (sql: UsageSql, scaled: boolean) => (scaled ? sql.scaled(sql.number("@path")) : sql.number("@path"));

/**
 * One value over a set of events, for every aggregation but LATEST (see UsageSql.latest), from
 * `n`, the number each event contributes. SUM_WITH_MULTIPLIER is the SUM: its multiplier is
 * applied to the results (see aggregate), where an overflow can be blamed on it.
 */
const AGGREGATE: Record<Exclude<Aggregation, "LATEST">, (sql: UsageSql, n: string) => string> = {
  COUNT: () => "count(*)",
  SUM: (sql, n) => sql.total(n),
  SUM_WITH_MULTIPLIER: (sql, n) => sql.total(n),
  AVG: (sql, n) => sql.average(n),
  MAX: (_, n) => `max(${n})`,
  COUNT_UNIQUE: (sql) => `count(DISTINCT ${sql.value("@path")})`,
  // Flexprice's meaning: each value weighed by the share of [start_time, end_time) left after
  // its event (a value sent halfway through the range counts half).
  WEIGHTED_SUM: (sql, n) => sql.total(sql.weighted(n)),
};

/** What each aggregation is over no events at all, as SQL itself would answer. */
const EMPTY_VALUE: Record<Aggregation, number | null> = {
  COUNT: 0,
  SUM: 0,
  SUM_WITH_MULTIPLIER: 0,
  WEIGHTED_SUM: 0,
  COUNT_UNIQUE: 0,
  AVG: null,
  MAX: null,
  LATEST: null,
};

const refuse = (field: string, detail: string) => validationError(`${field} ${detail}`, { [field]: detail });

/** A value past ±1.8e308 (Number.MAX_VALUE), the range of a double; the multiplier's doing or not. */
function valueTooLarge(byMultiplier: boolean) {
  const range = `past ±${Number.MAX_VALUE.toPrecision(2)}, the range of a double`;
  if (byMultiplier) {
    const detail = `makes the value too large to represent (${range})`;
    return invalidOperation(`multiplier ${detail}; use a smaller multiplier or a shorter range`, {
      multiplier: detail,
    });
  }
  return invalidOperation(`The usage value is too large to represent (${range}); narrow the range or the filters`);
}

/**
 * The usage request as it will run: defaults filled in, and every field that would make the
 * answer mean something other than what was asked refused with a 400 naming it. Runs on the
 * reader thread like the rest of the read, but before any SQL, so a bad request reads nothing.
 */
interface UsagePlan {
  query: UsageQuery;
  aggregation: Aggregation;
  start: string;
  end: string;
  /** The windows' size: bucket_size, else window_size. */
  window: WindowSize | null;
  /** MONTH windows' billing_anchor in UTC (`YYYY-MM-DDTHH:MM:SS.mmmZ`), else null. */
  anchor: string | null;
  /** bucket_size: the whole range's value is the sum of the windows'. */
  bucketed: boolean;
  multiplier: number;
  /** The time zone windows are cut in (null: UTC), and its offsets over the range. */
  zone: { name: string; periods: OffsetPeriod[] } | null;
  /** What values add up over, per window: `source`, or `properties.<name>` (group_by, or group_by_property). */
  groups: string[];
}

const GROUP_KEY = new RegExp(`^(source|properties\\.${PROPERTY_NAME_PATTERN.slice(1, -1)})$`);

/** group_by, or Flexprice's older group_by_property: one of them, each key checked. */
function groupsOf(q: UsageQuery): string[] {
  if (q.group_by !== undefined && q.group_by.length > 0 && q.group_by_property !== undefined) {
    throw refuse("group_by", "and group_by_property say the same thing: send one of them");
  }
  if (q.group_by_property !== undefined) return [`properties.${q.group_by_property}`];
  const groups = [...new Set(q.group_by ?? [])];
  const bad = groups.findIndex((key) => !GROUP_KEY.test(key));
  if (bad >= 0) {
    throw validationError(`group_by[${bad}] must be source or properties.<name>`, {
      [`group_by[${bad}]`]: "must be source or properties.<name>",
    });
  }
  return groups;
}

/** The zone's local wall time of instant `ms`, written as if it were UTC (`YYYY-MM-DDTHH:MM:SS.mmmZ`). */
function wallTime(zone: string, ms: number): string {
  return new Date(ms + offsetMinutesAt(zone, ms) * 60_000).toISOString();
}

function planOf(q: UsageQuery, now: number): UsagePlan {
  const aggregation = q.aggregation_type;
  if (aggregation !== "COUNT" && q.property_name === undefined) {
    throw validationError(`property_name is required for ${aggregation}`, { property_name: "is required" });
  }
  let multiplier = 1;
  if (q.multiplier !== undefined) {
    if (aggregation !== "SUM_WITH_MULTIPLIER") {
      throw refuse("multiplier", "applies to SUM_WITH_MULTIPLIER only");
    }
    multiplier = Number(q.multiplier);
    if (!Number.isFinite(multiplier) || multiplier <= 0) throw refuse("multiplier", "must be a number greater than 0");
  }
  if (q.bucket_size !== undefined) {
    if (aggregation !== "MAX" && aggregation !== "SUM") {
      throw refuse("bucket_size", "applies to MAX and SUM only (use window_size for windows)");
    }
    if (q.window_size !== undefined && q.window_size !== q.bucket_size) {
      throw refuse(
        "bucket_size",
        "sets the windows of a bucketed MAX or SUM: leave window_size out, or send the same size",
      );
    }
  }
  const window = q.bucket_size ?? q.window_size ?? null;
  const groups = groupsOf(q);
  const zoneName = q.timezone === undefined || q.timezone === "UTC" ? null : q.timezone;
  if (zoneName !== null && !isTimeZone(zoneName)) {
    throw refuse("timezone", "must be an IANA time zone name, such as Europe/Paris or America/New_York");
  }
  // In a zone, every window (and a billing anchor) is counted and cut on local wall time.
  const local = (ms: number) => (zoneName === null ? ms : Date.parse(wallTime(zoneName, ms)));
  const anchor =
    window === "MONTH" && q.billing_anchor !== undefined
      ? new Date(local(Date.parse(q.billing_anchor))).toISOString()
      : null;
  const endMs = q.end_time === undefined ? now : Date.parse(q.end_time);
  let startMs = q.start_time === undefined ? endMs - DEFAULT_USAGE_RANGE_MS : Date.parse(q.start_time);
  // The default 7 days in MINUTE windows are exactly the cap when they start on a minute and
  // one more otherwise (almost always, with end_time now): a default the caller did not choose
  // starts at the first whole window instead of being refused.
  if (
    q.start_time === undefined &&
    window !== null &&
    windowsTouched(window, anchor, local(startMs), local(endMs)) > MAX_USAGE_WINDOWS
  ) {
    startMs =
      zoneName === null
        ? firstBoundaryFrom(window, startMs)
        : localToUtc(zoneName, firstBoundaryFrom(window, local(startMs)));
  }
  const span = endMs - startMs;
  if (span <= 0) {
    throw validationError("end_time must be after start_time", { end_time: "must be after start_time" });
  }
  if (window !== null) {
    const windows = windowsTouched(window, anchor, local(startMs), local(endMs));
    if (windows > MAX_USAGE_WINDOWS) {
      const field = q.bucket_size !== undefined ? "bucket_size" : "window_size";
      const detail = `gives ${windows} windows from start_time to end_time (counting the partial ones at either end), more than ${MAX_USAGE_WINDOWS}; use a larger window or a shorter range`;
      throw validationError(`${field} ${window} ${detail}`, { [field]: detail });
    }
  }
  return {
    query: q,
    aggregation,
    start: new Date(startMs).toISOString(),
    end: new Date(endMs).toISOString(),
    window,
    anchor,
    bucketed: q.bucket_size !== undefined,
    multiplier,
    zone:
      zoneName === null || window === null
        ? null
        : { name: zoneName, periods: offsetPeriods(zoneName, startMs, endMs) },
    groups,
  };
}

export async function aggregateUsage(
  store: Store,
  scope: Scope,
  q: UsageQuery,
  budgetMs = READ_BUDGET_MS,
  now = Date.now(),
): Promise<UsageResult> {
  const plan = planOf(q, now);
  const sql = USAGE_SQL[store.engine];
  return store.withinBudget(budgetMs, eventsTooExpensive, (read) => aggregate(read, sql, scope, plan));
}

/** One row per key (the window, the group, both or neither): SELECT keys…, value. */
function perKey(
  sql: UsageSql,
  aggregation: Aggregation,
  n: string,
  where: string,
  keys: { bucket?: string; group?: string },
): string {
  const columns: string[] = [];
  const groupBy: string[] = [];
  if (keys.bucket !== undefined) {
    columns.push(`${keys.bucket} AS bucket`);
    groupBy.push("bucket");
  }
  if (keys.group !== undefined) {
    columns.push(`${keys.group} AS grp`);
    groupBy.push("grp");
  }
  columns.push(
    aggregation === "LATEST" ? sql.latest(sql.number("@path"), n) : `${AGGREGATE[aggregation](sql, n)} AS value`,
  );
  return `SELECT ${columns.join(", ")} FROM events WHERE ${where}${groupBy.length > 0 ? ` GROUP BY ${groupBy.join(", ")}` : ""}`;
}

async function aggregate(db: Queries, sql: UsageSql, scope: Scope, plan: UsagePlan): Promise<UsageResult> {
  const { query: q, aggregation } = plan;
  const key = await findScopeKey(db, scope);
  let values: Values = { overall: EMPTY_VALUE[aggregation], windows: [] };
  let unscale = 1;
  if (key !== undefined) {
    const reading = readingOf(db, sql, key, plan);
    values = await readValues(db, reading, false);
    if (!allFinite(values)) {
      values = await readValues(db, reading, true);
      unscale = 1 / SCALE;
    }
  }
  const { multiplier } = plan;
  const valueOf = (read: number | null) => {
    if (read === null) return null;
    const value = read * multiplier * unscale;
    if (!Number.isFinite(value)) throw valueTooLarge(multiplier !== 1 && Number.isFinite(read * unscale));
    return value;
  };
  return {
    event_name: q.event_name,
    type: aggregation,
    value: valueOf(values.overall),
    results: values.windows.map((w) => ({ window_size: startOf(plan, w.bucket), value: valueOf(w.value) })),
  };
}

/** A window's start as the UTC instant it is: in a zone, SQL answered it in local wall time. */
function startOf(plan: UsagePlan, bucket: string): string {
  return plan.zone === null ? bucket : new Date(localToUtc(plan.zone.name, Date.parse(bucket))).toISOString();
}

/**
 * An event's local wall time in SQL: its UTC timestamp shifted by the zone's offset at its
 * instant, one CASE branch per offset the range sees (usually one or two).
 */
function localTimestamp(sql: UsageSql, periods: OffsetPeriod[], params: Record<string, unknown>): string {
  const shift = (i: number, minutes: number) => {
    params[`tz_shift_${i}`] = sql.shiftOf(minutes);
    return `@tz_shift_${i}`;
  };
  const last = periods.length - 1;
  const branches = periods.slice(0, last).map((period, i) => {
    params[`tz_until_${i}`] = new Date(period.untilMs as number).toISOString();
    return `WHEN timestamp < @tz_until_${i} THEN ${shift(i, period.offsetMinutes)}`;
  });
  const modifier =
    branches.length === 0
      ? shift(last, (periods[last] as OffsetPeriod).offsetMinutes)
      : `CASE ${branches.join(" ")} ELSE ${shift(last, (periods[last] as OffsetPeriod).offsetMinutes)} END`;
  return sql.shifted("timestamp", modifier);
}

/** What an aggregate read: its value over the range and per window, as SQL answered them. */
interface Values {
  overall: number | null;
  windows: { bucket: string; value: number | null }[];
}

const allFinite = (values: Values) =>
  [values.overall, ...values.windows.map((w) => w.value)].every((v) => v === null || Number.isFinite(v));

/** The parts of a usage plan's SQL that do not depend on scaling: the filter, and the keys. */
interface Reading {
  sql: UsageSql;
  aggregation: Aggregation;
  bucketed: boolean;
  where: string;
  params: Record<string, unknown>;
  bucket: string | undefined;
  group: string | undefined;
}

function readingOf(db: Queries, sql: UsageSql, key: number, plan: UsagePlan): Reading {
  const { query: q, aggregation } = plan;
  const { clauses, params } = filterOf(db.dialect, key, {
    event_name: q.event_name,
    external_customer_id: q.external_customer_id,
    customer_id: q.customer_id,
    start_time: plan.start,
    end_time: plan.end,
    property_filters: q.filters,
  });
  if (q.property_name !== undefined) params.path = sql.propertyPath(q.property_name);
  if (aggregation === "WEIGHTED_SUM") {
    params.end_seconds = Date.parse(plan.end) / 1000;
    params.span_seconds = (Date.parse(plan.end) - Date.parse(plan.start)) / 1000;
  }
  // group_by (or group_by_property): the aggregation per value of those keys (events without
  // one are a group of their own), then the groups' values added up, per window and over the
  // range, as Flexprice documents it. For SUM and COUNT that changes nothing; for MAX it is "the
  // sum of each group's maximum" (the peak per server, summed).
  const keys = plan.groups.map((key, i) => {
    if (key === "source") return "source";
    params[`group_path_${i}`] = sql.propertyPath(key.slice("properties.".length));
    const path = `@group_path_${i}`;
    return plan.groups.length === 1 ? sql.value(path) : sql.groupValue(path);
  });
  const group = keys.length === 0 ? undefined : sql.groupOf(keys);

  const ts = plan.zone === null ? "timestamp" : `(${localTimestamp(sql, plan.zone.periods, params)})`;
  const bucket = plan.window === null ? undefined : windowStart(sql, plan.window, plan.anchor, params, ts);
  return { sql, aggregation, bucketed: plan.bucketed, where: clauses.join(" AND "), params, bucket, group };
}

/** The aggregate over the range and per window; with `scaled`, of every number times SCALE. */
async function readValues(db: Queries, reading: Reading, scaled: boolean): Promise<Values> {
  const { sql, aggregation, where, bucket, group } = reading;
  const params = scaled ? { ...reading.params, scale: SCALE } : reading.params;
  const n = numberRead(sql, scaled);
  let windows: Values["windows"] = [];
  if (bucket !== undefined) {
    const perWindow =
      group === undefined
        ? `SELECT bucket, value FROM (${perKey(sql, aggregation, n, where, { bucket })}) AS per_key ORDER BY bucket`
        : `SELECT bucket, ${sql.sumOfGroups} AS value FROM (${perKey(sql, aggregation, n, where, { bucket, group })}) AS per_key
           GROUP BY bucket ORDER BY bucket`;
    windows = (await db.all(perWindow, params)) as typeof windows;
  }

  let overall: number | null;
  if (reading.bucketed) {
    // A bucketed MAX is the sum of each bucket's maximum (Flexprice's "bucketed max" meter);
    // for SUM, the sum of the buckets' sums is the sum.
    const values = windows.map((w) => w.value).filter((v): v is number => v !== null);
    overall = values.length > 0 ? values.reduce((a, b) => a + b, 0) : null;
  } else if (group !== undefined) {
    overall = (await db.value(
      `SELECT ${sql.sumOfGroups} FROM (${perKey(sql, aggregation, n, where, { group })}) AS per_key`,
      params,
    )) as number | null;
  } else if (aggregation === "LATEST") {
    // The newest event with a number: read from the newest end of the index, no full scan.
    overall = ((await db.value(
      `SELECT value FROM (SELECT ${n} AS value, timestamp, seq FROM events WHERE ${where}) AS numbered
       WHERE value IS NOT NULL ORDER BY timestamp DESC, seq DESC LIMIT 1`,
      params,
    )) ?? null) as number | null;
  } else {
    overall = (await db.value(`SELECT ${AGGREGATE[aggregation](sql, n)} FROM events WHERE ${where}`, params)) as
      number | null;
  }
  return { overall: overall ?? EMPTY_VALUE[aggregation], windows };
}
