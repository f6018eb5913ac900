import type { UsageSql } from "./model";

const property = (path: string) => `json_extract(properties, ${path})`;

export const SQLITE_USAGE_SQL: UsageSql = {
  propertyPath: (name) => `$."${name}"`,
  // The nested CASEs matter: json_type fails on text that is not JSON, so it only runs once
  // json_valid (strict JSON, no JSON5) said it is.
  number: (path) => `CASE json_type(properties, ${path})
  WHEN 'integer' THEN ${property(path)}
  WHEN 'real' THEN ${property(path)}
  WHEN 'text' THEN CASE WHEN json_valid(${property(path)}) THEN
    CASE WHEN json_type(${property(path)}) IN ('integer', 'real')
      AND abs(json_extract(${property(path)}, '$')) <= 1.7976931348623157e308
    THEN json_extract(${property(path)}, '$') END END
END`,
  // json_extract answers a string as its text, a boolean as 1 or 0, an object as its JSON text.
  value: property,
  groupValue: property,
  // json_array keeps the JSON of an object (json_extract marks it as JSON), so it is not text there.
  groupOf: (keys) => (keys.length === 1 ? (keys[0] as string) : `json_array(${keys.join(", ")})`),
  scaled: (n) => `(${n}) * @scale`,
  // The share first, then the product: a value times the seconds left would pass the range of a
  // double long before the value does.
  weighted: (n) => `(${n}) * ((@end_seconds - unixepoch(timestamp, 'subsec')) / @span_seconds)`,
  // total(), not sum(): sum() of integers fails for good once a range holds values adding up past
  // 2^63; total() adds as floating point (compensated: Kahan-Babuska-Neumaier), and passes to
  // ±Infinity past the range of a double.
  total: (n) => `total(${n})`,
  average: (n) => `avg(${n})`,
  // Groups past the range both ways add up to NaN, which SQLite answers as NULL: that is answered
  // as +Infinity (1e999), never as "no number".
  sumOfGroups: "CASE WHEN count(value) > 0 THEN coalesce(total(value), 1e999) END",
  // With exactly one max() in a grouped SELECT, SQLite takes the bare column `value` from the row
  // holding that max; events without a number have no key, so they are never that row.
  latest: (
    number,
    n,
  ) => `max(CASE WHEN (${number}) IS NOT NULL THEN timestamp || printf('%020d', seq) END) AS latest_key,
  ${n} AS value`,
  shiftOf: (minutes) => `${minutes >= 0 ? "+" : "-"}${Math.abs(minutes)} minutes`,
  shifted: (ts, shift) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${ts}, ${shift})`,
  twoDigits: (n) => `printf('%02d', ${n})`,
  smaller: (a, b) => `min(${a}, ${b})`,
  mondayOnOrBefore: (day) => `date(${day}, '-6 days', 'weekday 1')`,
  // The day before the next month's 1st, which SQLite answers with NULL only for 9999-12 (it has
  // no year 10000), a month of 31 days.
  daysIn: (ym) => `coalesce(CAST(strftime('%d', ${ym} || '-01', '+1 month', '-1 day') AS INTEGER), 31)`,
  monthBefore: (ym) => `strftime('%Y-%m', ${ym} || '-01', '-1 month')`,
};
