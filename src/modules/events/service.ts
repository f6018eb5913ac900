import type { Static } from "elysia";
import { type Queries } from "../../db";
import { newId, nowIso } from "../../db/ids";
import { notFound, validationError } from "../../http/errors";
import { findScopeKey, type Scope } from "./scopes";
import {
  type EventRow,
  type EventSchema,
  type IngestEventBody,
  MAX_PROPERTIES_BYTES,
  MAX_PROPERTIES_DEPTH,
} from "./model";

export type { Scope };

export type EventInput = Static<typeof IngestEventBody>;
export type EventResponse = Static<typeof EventSchema>;

/**
 * Normalises one event for the store: timestamps to UTC, a generated event_id when none was
 * sent, properties held to their size and depth limits. Everything the store's CHECKs would
 * refuse is refused here, before the event joins a batch shared with other callers' events.
 * `field` prefixes error details (`events[3].`) for bulk requests.
 */
export function prepareEvent(scopeKey: number, input: EventInput, now: string, field = ""): EventRow {
  const properties = JSON.stringify(input.properties ?? {});
  const refuse = (detail: string) =>
    validationError(`${field}properties ${detail}`, { [`${field}properties`]: detail });
  if (Buffer.byteLength(properties) > MAX_PROPERTIES_BYTES) {
    throw refuse(`must be at most ${MAX_PROPERTIES_BYTES} bytes as JSON`);
  }
  if (depthOf(input.properties ?? {}) > MAX_PROPERTIES_DEPTH) {
    throw refuse(`must nest at most ${MAX_PROPERTIES_DEPTH} levels deep`);
  }
  return {
    scope: scopeKey,
    id: input.event_id ?? newId("event"),
    event_name: input.event_name,
    external_customer_id: input.external_customer_id,
    customer_id: input.customer_id ?? null,
    timestamp: input.timestamp === undefined ? now : new Date(input.timestamp).toISOString(),
    source: input.source ?? null,
    properties,
    ingested_at: now,
  };
}

/** Levels of arrays and objects, counting the value itself; stops counting past the limit. */
function depthOf(value: unknown, depth = 1): number {
  if (typeof value !== "object" || value === null) return depth - 1;
  if (depth > MAX_PROPERTIES_DEPTH) return depth;
  let deepest = depth;
  for (const item of Object.values(value)) deepest = Math.max(deepest, depthOf(item, depth + 1));
  return deepest;
}

export function prepareEvents(scopeKey: number, inputs: EventInput[]): EventRow[] {
  const now = nowIso();
  return inputs.map((input, i) => prepareEvent(scopeKey, input, now, `events[${i}].`));
}

export function toEventResponse(row: EventRow, environmentId: string): EventResponse {
  return {
    id: row.id,
    event_name: row.event_name,
    external_customer_id: row.external_customer_id,
    customer_id: row.customer_id,
    timestamp: row.timestamp,
    source: row.source,
    properties: JSON.parse(row.properties),
    environment_id: environmentId,
  };
}

export async function getEvent(db: Queries, scope: Scope, id: string): Promise<EventResponse> {
  const key = await findScopeKey(db, scope);
  const row =
    key === undefined
      ? undefined
      : ((await db.get("SELECT * FROM events WHERE scope = ? AND id = ?", key, id)) as EventRow | undefined);
  if (!row) throw notFound("Event not found");
  return toEventResponse(row, scope.environmentId);
}
