import { FormatRegistry, type IntegerOptions, type StringOptions, Type } from "@sinclair/typebox";

/**
 * RFC 3339 date-time with a required offset (`Z` or `±hh:mm`), and a real calendar date:
 * `2030-02-30T00:00:00Z` is refused rather than rolled over to March.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

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
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetOk = m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetOk
  );
}

FormatRegistry.Set("rfc3339", isRfc3339);

/** Deliberately loose: something@domain.tld, no spaces. Deliverability is not ours to judge. */
export const EMAIL_PATTERN = "^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$";

/** A timestamp field: RFC 3339, any offset; services store it as UTC. */
export function Timestamp(options: StringOptions = {}) {
  return Type.String({ ...options, format: "rfc3339" });
}

FormatRegistry.Set("name", (value) => {
  const trimmed = value.trim();
  return trimmed.length >= 1 && trimmed.length <= 255;
});

/** A display name: 1 to 255 characters once surrounding spaces are trimmed (services store it trimmed). */
export function Name() {
  return Type.String({ format: "name", maxLength: 4096 });
}

/**
 * A JSON integer, and only that. Elysia's own `t.Integer` also accepts numeric strings
 * ("60"), which SPEC.md §0 counts as a wrong type.
 */
export function Int(options: IntegerOptions = {}) {
  return Type.Integer(options);
}
