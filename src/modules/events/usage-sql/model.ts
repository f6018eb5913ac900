// The SQL of POST /v1/events/usage that each engine writes its own way (usage.ts, windows.ts
// keep the logic: which events, which windows, which groups, when to run again scaled). Each
// member answers an expression from column expressions and parameter references (`@name`) as the
// query has them; both engines must answer the same values for the same events, to the bit.

export interface UsageSql {
  /** The value of the parameter naming property `name` for `number`, `value` and `groupValue`. */
  propertyPath(name: string): string;
  /**
   * The property at `path` (a parameter reference) as a number, or NULL: a JSON number, or text
   * that is one (`"42"`, `" 7 "`, `"1.5e3"`; the SDK sends every property as text). Anything
   * else (other text, JSON5 or hexadecimal forms, booleans, objects, text past the range of a
   * double such as `"1e999"`) is not a number; text below its smallest value is 0.
   */
  number(path: string): string;
  /**
   * The property at `path` as a value to count distinct values of or to group by alone: equal for
   * equal JSON values, where a boolean equals the number 1 or 0 and an object or array equals
   * the text of its JSON; NULL when missing or JSON null.
   */
  value(path: string): string;
  /** The same as one of several group keys: an object or array is then not equal to any text. */
  groupValue(path: string): string;
  /** Several group keys (`source`, `groupValue`s) as one value, equal when each is. */
  groupOf(keys: string[]): string;
  /** Number `n` times `@scale` (a power of two below 1), as a double: small values become 0, never an error. */
  scaled(n: string): string;
  /**
   * Number `n` times the share of [start_time, end_time) left after the event's timestamp:
   * (`@end_seconds` − its seconds since the epoch, to the millisecond) / `@span_seconds`.
   */
  weighted(n: string): string;
  /**
   * The sum of `n` over the rows, as a double; 0.0 over none. Past the range of a double it is
   * ±Infinity (or, when both ways, infinite anyway): never an error.
   */
  total(n: string): string;
  /** The average of the numbers `n` (the sum, as `total` rounds it, divided by their count); NULL over none. */
  average(n: string): string;
  /** `total` of the column `value`, NULL when no row has one. */
  readonly sumOfGroups: string;
  /**
   * The columns of LATEST over a group, the last named `value`: `n` (`number`, or `number`
   * scaled) of its newest event that has a number.
   */
  latest(number: string, n: string): string;
  /** The value of a parameter that shifts a timestamp by `minutes` (see `shifted`). */
  shiftOf(minutes: number): unknown;
  /** Timestamp text `ts` shifted by `shift` (an expression of `shiftOf` values), written the same way. */
  shifted(ts: string, shift: string): string;
  /** Integer `n` (0–99) as two digits. */
  twoDigits(n: string): string;
  /** The smaller of integers `a` and `b`. */
  smaller(a: string, b: string): string;
  /** The Monday on or before `day` (`YYYY-MM-DD` text, from 0000-01-03 on), as `YYYY-MM-DD`. */
  mondayOnOrBefore(day: string): string;
  /** The number of days of month `ym` (`YYYY-MM` text), 31 for 9999-12. */
  daysIn(ym: string): string;
  /** The month before `ym` (`YYYY-MM` text, after 0000-01), as `YYYY-MM`. */
  monthBefore(ym: string): string;
}
