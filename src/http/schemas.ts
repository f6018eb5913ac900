import { FormatRegistry, type IntegerOptions, type StringOptions, type TSchema, Type } from "@sinclair/typebox";
import { t } from "elysia";

/**
 * RFC 3339 date-time with a required offset (`Z` or `±hh:mm`), and a real calendar date:
 * `2030-02-30T00:00:00Z` is refused rather than rolled over to March. The instant it names must
 * also fall in UTC years 0000 to 9999: services store timestamps as UTC ISO strings and compare
 * them as text, and `9999-12-31T23:00:00-23:59` would become `+010000-01-01T…`, which sorts
 * before every other year (and `0000-01-01T00:00:00+01:00` would become `-000001-…`).
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;

export const MIN_UTC_YEAR = 0;
export const MAX_UTC_YEAR = 9999;

export function isRfc3339(value: string): boolean {
  const m = RFC3339.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const offsetHours = m[10] === undefined ? 0 : Number(m[10]);
  const offsetMinutes = m[11] === undefined ? 0 : Number(m[11]);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
  if (offsetHours > 23 || offsetMinutes > 59) return false;
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0 to 99 as 1900 to 1999 (wrong leap years).
  const instant = new Date(0);
  instant.setUTCFullYear(year, month, 0);
  if (day < 1 || day > instant.getUTCDate()) return false;
  const sign = m[9] === "-" ? -1 : 1;
  instant.setUTCFullYear(year, month - 1, day);
  instant.setUTCHours(hour, minute - sign * (offsetHours * 60 + offsetMinutes), second, 0);
  const utcYear = instant.getUTCFullYear();
  return utcYear >= MIN_UTC_YEAR && utcYear <= MAX_UTC_YEAR;
}

FormatRegistry.Set("rfc3339", isRfc3339);

/** What a value that fails `isRfc3339` is told, by the API and by the CLI. */
export const TIMESTAMP_RULE = "must be an RFC 3339 timestamp with an offset, such as 2025-11-14T10:00:00Z";

/** Deliberately loose: something@domain.tld, no spaces. Deliverability is not ours to judge. */
export const EMAIL_PATTERN = "^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$";

export const EMAIL_RULE = "must be a valid email";

const CLEARS = "An empty string or null clears it";

/** Optional text of a record, at most `maxLength` characters; an empty string or null clears it (services store null). */
export function ClearableText(maxLength: number) {
  return t.Optional(
    t.Nullable(
      t.String({
        maxLength,
        error: `must be a string of at most ${maxLength} characters, or null`,
        description: CLEARS,
      }),
    ),
  );
}

/**
 * An optional email of a record (a customer's, a tenant's billing email): an email, or an empty
 * string or null, which clear it (services store null), as Flexprice's `omitempty,email` reads.
 */
export function ClearableEmail() {
  return t.Optional(
    t.Nullable(
      t.String({
        maxLength: 320,
        pattern: `^$|${EMAIL_PATTERN}`,
        error: EMAIL_RULE,
        description: CLEARS,
      }),
    ),
  );
}

/** A timestamp field: RFC 3339, any offset; services store it as UTC. */
export function Timestamp(options: StringOptions = {}) {
  return Type.String({ ...options, format: "rfc3339" });
}

/** A display name is 1 to 255 characters once trimmed; services store it trimmed. */
export function isName(value: string): boolean {
  const trimmed = value.trim();
  return trimmed.length >= 1 && trimmed.length <= 255;
}

FormatRegistry.Set("name", isName);

export const NAME_RULE = "must be 1 to 255 characters, not counting surrounding spaces";

/** A display name: 1 to 255 characters once surrounding spaces are trimmed (services store it trimmed). */
export function Name() {
  return Type.String({ format: "name", maxLength: 4096 });
}

/**
 * A JSON integer, and only that. Elysia's own `t.Integer` also accepts numeric strings
 * ("60"), which SPEC.md §0 counts as a wrong type. In a request schema, give it a `maximum`
 * (a test walks every route to check): JSON numbers such as `1e300` or `2^63` are integers to
 * JavaScript but not to SQLite, and would fail in the store with a 500 instead of a 400 here.
 */
export function Int(options: IntegerOptions = {}) {
  return Type.Integer(options);
}

export interface StringMapOptions {
  maxKeyLength: number;
  maxKeys: number;
}

/**
 * A JSON object of string keys to `value`, keys 1 to `maxKeyLength` characters, at most
 * `maxKeys` of them. TypeBox's `Record` ignores `minLength`/`maxLength` on its key schema; a
 * key pattern with `additionalProperties: false` is what holds keys to a length. `keyError` is
 * the detail the validation error gives for a key that breaks the rule (see validation.ts).
 */
export function StringMap<T extends TSchema>(value: T, { maxKeyLength, maxKeys }: StringMapOptions) {
  return Type.Record(Type.String({ pattern: `^[\\s\\S]{1,${maxKeyLength}}$` }), value, {
    additionalProperties: false,
    maxProperties: maxKeys,
    keyError: `keys must be 1 to ${maxKeyLength} characters`,
  });
}

/** Like Stripe's metadata: string values, bounded so a row stays small (customers, people). */
export const METADATA_MAX_KEYS = 50;
export const METADATA_MAX_KEY_LENGTH = 40;
export const METADATA_MAX_VALUE_LENGTH = 500;

export function Metadata(options: { description?: string } = {}) {
  const map = StringMap(Type.String({ maxLength: METADATA_MAX_VALUE_LENGTH }), {
    maxKeyLength: METADATA_MAX_KEY_LENGTH,
    maxKeys: METADATA_MAX_KEYS,
  });
  return options.description ? { ...map, description: options.description } : map;
}

/** Whether `name` is a time zone this runtime knows (IANA names, such as Asia/Kolkata; UTC). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
