import { ErrorEnvelopeSchema } from "./errors";

/**
 * Declares the error envelope for each status a route can fail with, for the OpenAPI document.
 * A route that can answer 401 can also answer 429: past the failed-attempt limit, a refused
 * credential is answered 429 instead (auth/failure-limiter.ts), so 429 comes with every 401.
 */
export function errorResponses<S extends number>(...statuses: S[]): Record<S | 429, typeof ErrorEnvelopeSchema> {
  const all: number[] = statuses.includes(401 as S) ? [...statuses, 429] : statuses;
  return Object.fromEntries(all.map((s) => [s, ErrorEnvelopeSchema])) as Record<S | 429, typeof ErrorEnvelopeSchema>;
}
