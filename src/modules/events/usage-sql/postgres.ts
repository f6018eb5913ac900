import type { UsageSql } from "./model";

// PostgreSQL answers what SQLite answers (sqlite.ts), value for value, with three differences to
// work around. Its float8 arithmetic raises an error (22003) where SQLite's gives ±Infinity or 0,
// and an error aborts the whole read (its transaction with it, so no rerun could follow): so no
// expression here lets a double overflow or underflow; sums are exact numerics, turned into a
// double with the range checked (±Infinity past it, which usage.ts reruns scaled as on SQLite);
// products and quotients that could round to 0 are taken apart. Its sum() of float8 adds naively,
// where SQLite's total() and avg() add with compensation (Kahan-Babuska-Neumaier), which gives the
// exact sum of the doubles rounded once for all but contrived inputs: so a sum here is exactly
// that. And its dates have no year 0000, which timestamps may name: dates are computed 400 years
// later (a whole cycle of the calendar, weekdays included) and written back 400 years earlier.

/**
 * `body`, which reads `name`: the value of `expression`, computed once. OFFSET 0 keeps PostgreSQL
 * from pulling the subquery up, which would copy the expression into every use of `name` (and so
 * multiply the work of nested ones).
 */
const withValue = (name: string, expression: string, body: string) =>
  `(SELECT ${body} FROM (SELECT ${expression} AS ${name} OFFSET 0) AS ${name}_of)`;

/** 2^1024 − 2^970, where rounding to a double reaches Infinity (the tie rounds to the even Infinity). */
const OVERFLOW = `${2n ** 1024n - 2n ** 970n}`;
/** 2^-1075, half the smallest double: a value no larger rounds to 0 (the tie to the even 0). */
const UNDERFLOW = `${5n ** 1075n}e-1075`;

/** Numeric column `x` as a double: ±Infinity past the range (NaN, from +∞ and −∞ added, as Infinity), 0 below it. */
const doubleOf = (x: string) => `CASE WHEN ${x} = 'NaN' THEN 'Infinity'::float8
  WHEN abs(${x}) >= ${OVERFLOW} THEN CASE WHEN ${x} > 0 THEN 'Infinity'::float8 ELSE '-Infinity'::float8 END
  WHEN abs(${x}) <= ${UNDERFLOW} THEN 0::float8
  ELSE ${x}::float8 END`;

/** Numeric column `x` as a double, NULL past the range of a double (as SQLite's NUMERIC). */
const finiteDoubleOf = (x: string) =>
  `CASE WHEN abs(${x}) >= ${OVERFLOW} THEN NULL WHEN abs(${x}) <= ${UNDERFLOW} THEN 0::float8 ELSE ${x}::float8 END`;

/**
 * Double `n` as the numeric it is exactly (float8 to numeric keeps 15 digits; its text, 17): an
 * integer as itself, anything else from its bits, significand × 2^exponent.
 */
const exactly = (n: string) =>
  withValue(
    "x",
    n,
    `CASE WHEN x = trunc(x) AND abs(x) < 9007199254740992 THEN x::bigint::numeric
    WHEN x = 'Infinity' THEN 'Infinity'::numeric
    WHEN x = '-Infinity' THEN '-Infinity'::numeric
    ELSE ${withValue(
      "bits",
      "('x' || encode(float8send(x), 'hex'))::bit(64)::bigint",
      `CASE WHEN bits < 0 THEN -1 ELSE 1 END
        * ((bits & 4503599627370495) + CASE WHEN (bits >> 52) & 2047 > 0 THEN 4503599627370496 ELSE 0 END)
        * CASE WHEN (bits >> 52) & 2047 >= 1075 THEN power(2::numeric, ((bits >> 52) & 2047) - 1075)
          ELSE power(5::numeric, 1075 - greatest((bits >> 52) & 2047, 1))
            * ('1e' || (greatest((bits >> 52) & 2047, 1) - 1075))::numeric END`,
    )} END`,
  );

/** The sum of doubles `n`, exact, as a double (NULL over none); the aggregate is the outer query's. */
const exactSum = (n: string) => withValue("s", `sum(${exactly(n)})`, doubleOf("s"));

const twoTo = (power: number) => `power(2::float8, ${power})`;

/**
 * `a` × `b` (b from 0 to 1, above 2^-500 unless 0) as IEEE arithmetic answers it, where float8
 * multiplication raises an error when a product of numbers other than 0 rounds to 0. Such a
 * product is recognised on `a` × 2^600 × `b`, which stays in range.
 */
const product = (a: string, b: string) => `(SELECT CASE WHEN a IS NULL THEN NULL
    WHEN abs(a) >= ${twoTo(-400)} OR b = 0 THEN a * b
    WHEN abs(a * ${twoTo(600)} * b) > ${twoTo(-475)} THEN a * b
    ELSE 0::float8 END
  FROM (SELECT ${a} AS a, ${b} AS b OFFSET 0) AS factors)`;

/**
 * Double `a` ÷ count `c` (> 0), where a quotient rounding to 0 would raise an error: such a
 * quotient is counted in units of 2^-1074 (a × 2^1074, in two steps to stay in range).
 */
const quotient = (a: string, c: string) => `CASE WHEN abs(${a}) >= ${twoTo(-1000)} OR ${a} = 0 THEN ${a} / ${c}
  ELSE round(${a} * ${twoTo(537)} * ${twoTo(537)} / ${c}) * ${twoTo(-1074)} END`;

/**
 * A JSON string (its raw JSON, quotes and escapes included) whose text is a JSON number, with
 * JSON's whitespace around it (which JSON.stringify writes escaped), as SQLite's json_valid reads it.
 */
const NUMBER_TEXT = String.raw`^"(?: |\\[tnr])*-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?(?: |\\[tnr])*"$`;
/** The same, its sign, digits, fraction and exponent captured (slower to match). */
const NUMBER_PARTS = String.raw`^"(?: |\\[tnr])*(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?(?: |\\[tnr])*"$`;

/**
 * The double that text `raw` (a JSON string matching NUMBER_TEXT) holds, or NULL past the range of
 * a double. Short text with an exponent below 1000 is read as a numeric as it is; other text only
 * once its decimal magnitude is known to be near the range of a double (`"1e999999"` is no number,
 * `"1e-999999"` is 0, and either would be an error to numeric); 800 significant digits (and a 1
 * for any nonzero beyond) round as all of them do.
 */
const numberInText = (raw: string, text: string) => `CASE WHEN length(${raw}) <= 400 AND ${raw} !~ '[eE][+-]?[0-9]{4}'
  THEN ${withValue("x", `(${text})::numeric`, finiteDoubleOf("x"))}
  ELSE ${withValue(
    "m",
    `regexp_match(${raw}, '${NUMBER_PARTS}')`,
    withValue(
      "significant",
      "ltrim(m[2] || coalesce(m[3], ''), '0')",
      withValue(
        "magnitude",
        "coalesce(m[4], '0')::numeric + length(m[2]) - 1 - (length(m[2] || coalesce(m[3], '')) - length(significant))",
        withValue(
          "x",
          `CASE WHEN significant = '' OR magnitude < -325 THEN 0::numeric
            WHEN magnitude > 308 THEN NULL
            ELSE (m[1] || '0.' || left(significant, 800)
              || CASE WHEN rtrim(substr(significant, 801), '0') <> '' THEN '1' ELSE '' END
              || 'e' || (magnitude + 1))::numeric END`,
          finiteDoubleOf("x"),
        ),
      ),
    ),
  )} END`;

/** The property at `path` as JSON, `v` (text as it was stored: an object's JSON as JSON.stringify wrote it). */
const withProperty = (path: string, body: string) => withValue("v", `properties::json -> ${path}::text`, body);

/**
 * A property as text that is equal when SQLite's json_extract answers equal values: a string is
 * its text, a number its JSON, a boolean the number 1 or 0, an object or array its JSON tagged
 * `objectTag` (`s`: equal to the same text; `j`: to nothing else). A string holding U+0000, which
 * PostgreSQL's text cannot, is its raw JSON, equal only to the same string.
 */
const comparable = (path: string, objectTag: "s" | "j") =>
  withProperty(
    path,
    `CASE json_typeof(v)
    WHEN 'string' THEN CASE WHEN strpos(v::text, '\\u0000') > 0 THEN 'r' || v::text ELSE 's' || (v #>> '{}') END
    WHEN 'number' THEN 'n' || v::text
    WHEN 'boolean' THEN CASE WHEN v::text = 'true' THEN 'n1' ELSE 'n0' END
    WHEN 'null' THEN NULL
    ELSE '${objectTag}' || v::text END`,
  );

/** Where a timestamp's date is computed: 400 years (146,097 days, 20,871 weeks) later. */
const YEARS_AHEAD = 400;
const yearAhead = (text: string) => `substr(${text}, 1, 4)::int + ${YEARS_AHEAD}`;
const dateAhead = (day: string) => `make_date(${yearAhead(day)}, substr(${day}, 6, 2)::int, substr(${day}, 9, 2)::int)`;

/** Seconds since the epoch of the `timestamp` column, to the millisecond, as SQLite's unixepoch(…, 'subsec'). */
const SECONDS = `((${dateAhead("timestamp")} - DATE '${1970 + YEARS_AHEAD}-01-01')::bigint * 86400000
    + substr(timestamp, 12, 2)::int * 3600000 + substr(timestamp, 15, 2)::int * 60000
    + substr(timestamp, 18, 2)::int * 1000 + substr(timestamp, 21, 3)::int)::float8 / 1000`;

/**
 * Timestamp `t` (400 years ahead) as timestamp text, as SQLite's strftime writes it: a year
 * before 0000 as -001, none after 9999. Sorted as text byte by byte, as the stored timestamps
 * are (not by the database's collation). No subquery: a window's start reads it many times, and
 * a subquery per read costs more than the arithmetic.
 */
const localText = (t: string) => {
  const year = `(extract(year from ${t})::int - ${YEARS_AHEAD})`;
  return `((CASE WHEN ${year} > 9999 THEN NULL
    WHEN ${year} < 0 THEN '-' || lpad((-${year})::text, 3, '0') ELSE lpad(${year}::text, 4, '0') END
    || to_char(${t}, '-MM-DD"T"HH24:MI:SS.MS"Z"')) COLLATE "C")`;
};

export const POSTGRES_USAGE_SQL: UsageSql = {
  propertyPath: (name) => name,
  number: (path) =>
    withProperty(
      path,
      `CASE json_typeof(v) WHEN 'number' THEN v::text::float8
      WHEN 'string' THEN CASE WHEN v::text ~ '${NUMBER_TEXT}' THEN ${numberInText("v::text", "v #>> '{}'")} END END`,
    ),
  value: (path) => comparable(path, "s"),
  groupValue: (path) => comparable(path, "j"),
  groupOf: (keys) => (keys.length === 1 ? (keys[0] as string) : `json_build_array(${keys.join(", ")})::text`),
  scaled: (n) => product(n, "@scale::float8"),
  weighted: (n) => product(n, `((@end_seconds::float8 - ${SECONDS}) / @span_seconds::float8)`),
  total: (n) => `coalesce(${exactSum(n)}, 0::float8)`,
  average: (n) => `(SELECT CASE WHEN c > 0 THEN ${quotient("d", "c")} END
    FROM (SELECT ${doubleOf("s")} AS d, c FROM (SELECT sum(${exactly(n)}) AS s, count(${n}) AS c OFFSET 0) AS sums OFFSET 0) AS average)`,
  sumOfGroups: `CASE WHEN count(value) > 0 THEN ${exactSum("value::float8")} END`,
  // n is NULL exactly when number is: the newest of the rest, n read once per event.
  latest: (_number, n) => `(array_remove(array_agg(${n} ORDER BY timestamp DESC, seq DESC), NULL))[1] AS value`,
  shiftOf: (minutes) => minutes,
  shifted: (ts, shift) =>
    localText(
      `(make_timestamp(${yearAhead(ts)}, substr(${ts}, 6, 2)::int, substr(${ts}, 9, 2)::int,
      substr(${ts}, 12, 2)::int, substr(${ts}, 15, 2)::int, substr(${ts}, 18, 6)::float8)
      + make_interval(mins => (${shift})::int))`,
    ),
  twoDigits: (n) => `lpad((${n})::text, 2, '0')`,
  smaller: (a, b) => `least((${a})::int, ${b})`,
  mondayOnOrBefore: (day) => `(SELECT lpad((extract(year from monday)::int - ${YEARS_AHEAD})::text, 4, '0')
      || to_char(monday, '-MM-DD')
    FROM (SELECT d - (extract(isodow from d)::int - 1) AS monday FROM (SELECT ${dateAhead(day)} AS d) AS ahead) AS week)`,
  daysIn: (ym) =>
    `CAST(extract(day from make_date(${yearAhead(ym)}, substr(${ym}, 6, 2)::int, 1) + interval '1 month' - interval '1 day') AS integer)`,
  monthBefore: (ym) => `(SELECT lpad((m / 12)::text, 4, '0') || '-' || lpad((m % 12 + 1)::text, 2, '0')
    FROM (SELECT substr(${ym}, 1, 4)::int * 12 + substr(${ym}, 6, 2)::int - 2 AS m) AS months)`,
};
