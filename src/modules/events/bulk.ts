// A bulk request's body, from its raw bytes to the rows to store: what used to run on the request
// thread (JSON parse, validation, preparation: about 5 ms for 1,000 events) runs here, on the
// event writer's thread, so a bulk request costs the request thread only the reading of its bytes.
import { parseJsonBytes } from "../../http/body";
import { checkLike } from "../../http/validation";
import { BulkIngestBody, type EventRow } from "./model";
import { type EventInput, prepareEvents } from "./service";

/**
 * The rows of a bulk body, or the ApiError its request is answered with: the same checks and the
 * same 400s, field by field, as a body Elysia validated on the route (test/events.test.ts).
 */
export function prepareBulk(scopeKey: number, bytes: Uint8Array): EventRow[] {
  const body = checkLike(BulkIngestBody, parseJsonBytes(bytes) as { events: EventInput[] });
  return prepareEvents(scopeKey, body.events);
}
