import { ErrorEnvelopeSchema } from "./errors";

/** Declares the error envelope for each status a route can fail with, for the OpenAPI document. */
export function errorResponses<S extends number>(...statuses: S[]): Record<S, typeof ErrorEnvelopeSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorEnvelopeSchema])) as Record<S, typeof ErrorEnvelopeSchema>;
}
