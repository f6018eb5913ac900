import { Value } from "@sinclair/typebox/value";
import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { nowIso } from "../../db/ids";
import { validationError, ErrorEnvelopeSchema, needsBilling } from "../../http/errors";
import { errorResponses } from "../../http/openapi";
import { MAX_OFFSET } from "../../http/pagination";
import {
  BulkIngestBody,
  EventDetailSchema,
  EventListQuery,
  EventPageSchema,
  EventQueryBody,
  IngestEventBody,
  MAX_FILTER_VALUES,
  MAX_PAGE_SIZE,
  MAX_PROPERTY_FILTERS,
  PropertyFilters,
  UsageBody,
  UsageSchema,
} from "./model";
import { authPlugin } from "../auth";
import { type Scope, scopeKeyFor } from "./scopes";
import type { EventQuery } from "./pages";
import { getEvent, prepareEvent } from "./service";

const Accepted = t.Object({ message: t.String(), event_id: t.String() }, { title: "EventAccepted" });
const BulkAccepted = t.Object({ message: t.String() }, { title: "EventsAccepted" });

/** GET /v1/events takes the query body's filters as query parameters. */
function queryFromParams(params: typeof EventListQuery.static): EventQuery {
  const { property_filters, page_size, offset, ...rest } = params;
  const query: EventQuery = { ...rest };
  if (offset !== undefined) {
    const value = Number(offset);
    if (value > MAX_OFFSET) {
      const detail = `must be a whole number from 0 to ${MAX_OFFSET}`;
      throw validationError(`offset ${detail}`, { offset: detail });
    }
    query.offset = value;
  }
  if (page_size !== undefined) {
    const size = Number(page_size);
    if (size < 1 || size > MAX_PAGE_SIZE) {
      throw validationError(`page_size must be between 1 and ${MAX_PAGE_SIZE}`, {
        page_size: `must be between 1 and ${MAX_PAGE_SIZE}`,
      });
    }
    query.page_size = size;
  }
  if (property_filters !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(property_filters);
    } catch {
      parsed = undefined;
    }
    // The body's schema, so both forms have the same limits.
    if (!Value.Check(PropertyFilters, parsed)) {
      const detail = `must be a JSON object of at most ${MAX_PROPERTY_FILTERS} property names, each to a list of 1 to ${MAX_FILTER_VALUES} values`;
      throw validationError('property_filters must be a JSON object like {"region":["us","eu"]}', {
        property_filters: detail,
      });
    }
    query.property_filters = parsed as EventQuery["property_filters"];
  }
  return query;
}

export function eventsController(app: AppContext) {
  return (
    new Elysia({ prefix: "/v1/events", tags: ["Events"] })
      .use(authPlugin(app))
      .post(
        "",
        async ({ principal, body, set }) => {
          const row = prepareEvent(await scopeKeyFor(app.db, principal), body, nowIso());
          await app.events.write([row]);
          app.metrics?.eventsIngested(1);
          set.status = 202;
          return { message: "Event accepted for processing", event_id: row.id };
        },
        {
          permission: "event:write",
          body: IngestEventBody,
          response: { 202: Accepted, ...errorResponses(400, 401, 403, 413, 503) },
          detail: {
            summary: "Ingest one usage event",
            description: "Answered after the event is committed. Idempotent on event_id within the environment.",
          },
        },
      )
      .post(
        "/bulk",
        async ({ principal, body, set }) => {
          // The body's bytes (http/body.ts): parsed, validated and prepared by the event writer.
          const events = await app.events.writeBulk({
            scopeKey: await scopeKeyFor(app.db, principal),
            bytes: body as Uint8Array,
          });
          app.metrics?.eventsIngested(events);
          set.status = 202;
          return { message: "Events accepted for processing" };
        },
        {
          permission: "event:write",
          response: { 202: BulkAccepted, ...errorResponses(400, 401, 403, 413, 503) },
          detail: {
            summary: "Ingest 1 to 1000 events, all or nothing",
            // Validated where it is stored, not by the route (see the handler): described here.
            requestBody: {
              required: true,
              content: { "application/json": { schema: BulkIngestBody as unknown as Record<string, unknown> } },
            },
          },
        },
      )
      // Flexprice operations of this group that need billing: a 501 saying so, not a 404.
      .post(
        "/usage/meter",
        () => {
          throw needsBilling("Usage by meter");
        },
        {
          permission: "event:read",
          response: { 501: ErrorEnvelopeSchema, ...errorResponses(401, 403) },
          detail: { summary: "Not served (501): usage by meter needs meters" },
        },
      )
      .post(
        "/analytics",
        () => {
          throw needsBilling("Usage analytics");
        },
        {
          permission: "event:read",
          response: { 501: ErrorEnvelopeSchema, ...errorResponses(401, 403) },
          detail: { summary: "Not served (501): usage analytics needs features and prices" },
        },
      )
      // The SDK's path and the server's for the same operation.
      .post(
        "/huggingface-inference",
        () => {
          throw needsBilling("Hugging Face billing data");
        },
        {
          permission: "event:read",
          response: { 501: ErrorEnvelopeSchema, ...errorResponses(401, 403) },
          detail: { summary: "Not served (501): Hugging Face billing data needs billing" },
        },
      )
      .post(
        "/huggingface-billing",
        () => {
          throw needsBilling("Hugging Face billing data");
        },
        {
          permission: "event:read",
          response: { 501: ErrorEnvelopeSchema, ...errorResponses(401, 403) },
          detail: { summary: "Not served (501): Hugging Face billing data needs billing" },
        },
      )
      .post("/query", ({ principal, body }) => app.reads.query(principal, body), {
        permission: "event:read",
        body: EventQueryBody,
        response: { 200: EventPageSchema, ...errorResponses(400, 401, 403) },
        detail: {
          summary: "Find events by filters, one keyset page at a time",
          description:
            "Pages are ordered by timestamp (or event_name with sort=event_name), newest first unless order=asc. " +
            "iter_last_key continues after a page, iter_first_key fetches the page before it (newest first: what " +
            "arrived since); offset skips rows from the start of the range, and the response's offset is the next page's.",
        },
      })
      .get("", ({ principal, query }) => app.reads.query(principal, queryFromParams(query)), {
        permission: "event:read",
        query: EventListQuery,
        response: { 200: EventPageSchema, ...errorResponses(400, 401, 403) },
        detail: { summary: "Find events (the query body's filters as query parameters)" },
      })
      .post("/usage", ({ principal, body }) => app.reads.usage(principal, body), {
        permission: "event:read",
        body: UsageBody,
        response: { 200: UsageSchema, ...errorResponses(400, 401, 403) },
        detail: {
          summary:
            "Aggregate usage (COUNT, SUM, AVG, MAX, COUNT_UNIQUE, LATEST, SUM_WITH_MULTIPLIER, WEIGHTED_SUM), optionally per window",
          description:
            "Over [start_time, end_time), by default the 7 days before end_time (default: now). Numbers sent as text " +
            "count as numbers; other values are ignored by the aggregations that read numbers.",
        },
      })
      // The current Flexprice route for one event (its SDK's getEvent); /:id below is the older one.
      .get("/lookup", async ({ principal, query }) => await eventDetail(app, principal, query.id), {
        permission: "event:read",
        query: t.Object(
          { id: t.String({ minLength: 1, maxLength: 255, error: "Please provide a valid event ID" }) },
          { additionalProperties: false },
        ),
        response: { 200: EventDetailSchema, ...errorResponses(400, 401, 403, 404) },
        detail: {
          summary: "One event by its event_id (?id=); status is processed: Tollgate has no processing pipeline",
        },
      })
      .get("/:id", async ({ principal, params }) => await eventDetail(app, principal, params.id), {
        permission: "event:read",
        params: t.Object({ id: t.String() }),
        response: { 200: EventDetailSchema, ...errorResponses(401, 403, 404) },
        detail: { summary: "One event by its event_id" },
      })
  );
}

/**
 * An event and its processing status: always `processed`, since an event is stored whole when
 * it is acknowledged and Tollgate meters nothing further (no subscriptions or prices to match).
 */
async function eventDetail(app: AppContext, scope: Scope, id: string) {
  return {
    event: await getEvent(app.db, scope, id),
    status: "processed" as const,
    debug_tracker: null,
    processed_events: null,
  };
}
