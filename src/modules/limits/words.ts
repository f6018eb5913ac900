import type { Credits, RateLimit } from "./model";

// Rate limits and credits as the dashboard and the CLI say them to a person ("100 per minute",
// "950 left, refilled to 1000 daily"), and a window typed as `60s` or `1h` read back in ms.

/** The units a window is said and typed in, largest first. */
export const DURATION_UNITS = [
  { suffix: "d", ms: 86_400_000, word: "day" },
  { suffix: "h", ms: 3_600_000, word: "hour" },
  { suffix: "m", ms: 60_000, word: "minute" },
  { suffix: "s", ms: 1000, word: "second" },
] as const;

/** A window in its largest whole unit: 60000 is 1 minute, 90000 is 90 seconds; ms when none fits. */
export function durationParts(ms: number): { count: number; unit: (typeof DURATION_UNITS)[number] | null } {
  const unit = DURATION_UNITS.find((u) => ms % u.ms === 0) ?? null;
  return { count: unit ? ms / unit.ms : ms, unit };
}

/** "per minute", "per 5 seconds", "per 1500 ms". */
function perDuration(ms: number): string {
  const { count, unit } = durationParts(ms);
  if (unit === null) return `per ${count} ms`;
  return count === 1 ? `per ${unit.word}` : `per ${count} ${unit.word}s`;
}

/** "100 per minute". */
export function rateLimitText(limit: Pick<RateLimit, "limit" | "duration_ms">): string {
  return `${limit.limit} ${perDuration(limit.duration_ms)}`;
}

/** Whether a limit counts every request of its key, or only where a verify call or forward rule names it. */
export function appliedText(limit: Pick<RateLimit, "auto_apply">): string {
  return limit.auto_apply ? "on every request" : "when named";
}

/** `60s`, `1m`, `1h`, `1d`, `1500ms` (a window as the CLI takes it), in ms; null when not one. */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,12})(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return null;
  const count = Number(match[1]);
  const unit = match[2] === "ms" ? 1 : (DURATION_UNITS.find((u) => u.suffix === match[2])?.ms ?? 0);
  return count * unit;
}

/** "daily at 00:00 UTC", "monthly on day 15". */
function refillText(refill: NonNullable<Credits["refill"]>): string {
  return refill.interval === "daily" ? "daily at 00:00 UTC" : `monthly on day ${refill.refill_day ?? 1}`;
}

/** "unlimited", "950 left", "950 left, refilled to 1000 daily at 00:00 UTC". */
export function creditsText(credits: Credits | null): string {
  if (credits === null || credits.remaining === null) return "unlimited";
  const left = `${credits.remaining} left`;
  return credits.refill ? `${left}, refilled to ${credits.refill.amount} ${refillText(credits.refill)}` : left;
}
