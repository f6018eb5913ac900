import { t } from "elysia";
import { ApiError } from "../../http/errors";
import { MAX_OFFSET } from "../../http/pagination";
import { Int, Timestamp } from "../../http/schemas";

export const MAX_PROPERTIES_BYTES = 16 * 1024;
export const MAX_BULK_EVENTS = 1000;
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 50;
/** Levels of arrays and objects inside `properties`, the object itself included. */
export const MAX_PROPERTIES_DEPTH = 16;
/** property_filters: at most this many properties, each with at most MAX_FILTER_VALUES values. */
export const MAX_PROPERTY_FILTERS = 20;
export const MAX_FILTER_VALUES = 100;
export const MAX_FILTER_VALUE_LENGTH = 255;
/** A windowed usage query may produce at most this many windows (a week of minutes). */
export const MAX_USAGE_WINDOWS = 10_080;
/** Usage without start_time or end_time covers the 7 days before end_time (default: now), as in Flexprice. */
export const DEFAULT_USAGE_RANGE_MS = 7 * 86_400_000;
/** iter_first_key and iter_last_key: a sort=event_name cursor carries the event name (up to 255 characters). */
export const MAX_CURSOR_LENGTH = 4096;

/** An event read past its budget (src/db/read-budget.ts). */
export const eventsTooExpensive = (budgetMs: number) =>
  new ApiError(
    400,
    "invalid_operation",
    `This query reads more events than can be answered within ${budgetMs} ms; narrow it with start_time and end_time, event_name or external_customer_id`,
    { budget_ms: budgetMs },
  );

export const IngestEventBody = t.Object(
  {
    event_name: t.String({ minLength: 1, maxLength: 255 }),
    external_customer_id: t.String({ minLength: 1, maxLength: 255 }),
    event_id: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
    customer_id: t.Optional(t.Nullable(t.String({ maxLength: 255 }))),
    timestamp: t.Optional(Timestamp()),
    source: t.Optional(t.Nullable(t.String({ maxLength: 255 }))),
    properties: t.Optional(t.Record(t.String(), t.Unknown())),
  },
  { additionalProperties: false, title: "IngestEventRequest" },
);

export const BulkIngestBody = t.Object(
  { events: t.Array(IngestEventBody, { minItems: 1, maxItems: MAX_BULK_EVENTS }) },
  { additionalProperties: false, title: "BulkIngestEventRequest" },
);

export interface EventRow {
  seq?: number;
  scope: number;
  id: string;
  event_name: string;
  external_customer_id: string;
  customer_id: string | null;
  timestamp: string;
  source: string | null;
  properties: string;
  ingested_at: string;
}

export const EventSchema = t.Object(
  {
    id: t.String(),
    event_name: t.String(),
    external_customer_id: t.String(),
    customer_id: t.Nullable(t.String()),
    timestamp: t.String(),
    source: t.Nullable(t.String()),
    properties: t.Record(t.String(), t.Unknown()),
    environment_id: t.String(),
  },
  { title: "Event" },
);

const timestamp = Timestamp();
const text = t.String({ minLength: 1, maxLength: 255 });
const order = t.Union([t.Literal("asc"), t.Literal("desc")]);
export const SORTS = ["timestamp", "event_name"] as const;
const sort = t.Union(SORTS.map((s) => t.Literal(s)));
const cursor = t.String({ minLength: 1, maxLength: MAX_CURSOR_LENGTH });
/** Property names are restricted so they can be used as JSON paths without escaping games. */
export const PROPERTY_NAME_PATTERN = "^[A-Za-z0-9_.:-]{1,64}$";
const filterValue = t.Union([t.String({ maxLength: MAX_FILTER_VALUE_LENGTH }), t.Number(), t.Boolean()]);
export const PropertyFilters = t.Record(
  t.String({ pattern: PROPERTY_NAME_PATTERN }),
  t.Array(filterValue, { minItems: 1, maxItems: MAX_FILTER_VALUES }),
  { additionalProperties: false, maxProperties: MAX_PROPERTY_FILTERS },
);

/** The filters POST /v1/events/query and GET /v1/events share. */
const eventFilters = {
  external_customer_id: t.Optional(text),
  event_name: t.Optional(text),
  event_id: t.Optional(text),
  source: t.Optional(text),
  start_time: t.Optional(timestamp),
  end_time: t.Optional(timestamp),
  iter_last_key: t.Optional(cursor),
  iter_first_key: t.Optional(cursor),
  order: t.Optional(order),
  sort: t.Optional(sort),
};

export const EventQueryBody = t.Object(
  {
    ...eventFilters,
    property_filters: t.Optional(PropertyFilters),
    page_size: t.Optional(Int({ minimum: 1, maximum: MAX_PAGE_SIZE })),
    offset: t.Optional(Int({ minimum: 0, maximum: MAX_OFFSET })),
  },
  { additionalProperties: false, title: "EventQueryRequest" },
);

/** The same filters as query parameters; property_filters as a JSON object, page_size as digits. */
export const EventListQuery = t.Object(
  {
    ...eventFilters,
    property_filters: t.Optional(t.String({ maxLength: 4096 })),
    page_size: t.Optional(t.String({ pattern: "^[0-9]{1,4}$", error: "must be a whole number" })),
    offset: t.Optional(t.String({ pattern: "^[0-9]{1,10}$", error: `must be a whole number from 0 to ${MAX_OFFSET}` })),
  },
  { additionalProperties: false },
);

export const EventPageSchema = t.Object(
  {
    events: t.Array(EventSchema),
    has_more: t.Boolean(),
    iter_first_key: t.Nullable(t.String()),
    iter_last_key: t.Nullable(t.String()),
    total_count: Int(),
    /** The offset of the next page (null only for a cursor from before offsets were tracked). */
    offset: t.Nullable(Int()),
  },
  { title: "EventPage" },
);

export const EventDetailSchema = t.Object(
  {
    event: EventSchema,
    status: t.Literal("processed"),
    /** Flexprice's trace of meter and price matching: Tollgate does not price events. */
    debug_tracker: t.Null(),
    /** Flexprice's per-feature usage of the event: Tollgate does not meter events into features. */
    processed_events: t.Null(),
  },
  { title: "EventDetail" },
);

/** Every aggregation the Flexprice API (and its SDK's AggregationType) names. */
export const AGGREGATIONS = [
  "COUNT",
  "SUM",
  "AVG",
  "MAX",
  "COUNT_UNIQUE",
  "LATEST",
  "SUM_WITH_MULTIPLIER",
  "WEIGHTED_SUM",
] as const;
/** Every window the Flexprice API (and its SDK's WindowSize) names. */
export const WINDOWS = [
  "MINUTE",
  "15MIN",
  "30MIN",
  "HOUR",
  "3HOUR",
  "6HOUR",
  "12HOUR",
  "DAY",
  "WEEK",
  "MONTH",
] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];
export type WindowSize = (typeof WINDOWS)[number];

const windowSize = t.Union(WINDOWS.map((w) => t.Literal(w)));
/** A decimal as text (how the SDK sends it) or a JSON number. */
const decimal = t.Union([
  t.String({ pattern: "^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$", maxLength: 64 }),
  t.Number(),
]);

export const UsageBody = t.Object(
  {
    event_name: text,
    external_customer_id: t.Optional(text),
    customer_id: t.Optional(text),
    aggregation_type: t.Union(AGGREGATIONS.map((a) => t.Literal(a))),
    property_name: t.Optional(t.String({ pattern: PROPERTY_NAME_PATTERN })),
    start_time: t.Optional(timestamp),
    end_time: t.Optional(timestamp),
    window_size: t.Optional(windowSize),
    bucket_size: t.Optional(windowSize),
    filters: t.Optional(PropertyFilters),
    group_by_property: t.Optional(t.String({ pattern: PROPERTY_NAME_PATTERN })),
    // Flexprice's current field: `source`, or `properties.<name>`.
    group_by: t.Optional(
      t.Array(t.String({ maxLength: 300 }), {
        maxItems: 3,
        description: "Values of these add up per window: source, or properties.<name>",
      }),
    ),
    multiplier: t.Optional(decimal),
    billing_anchor: t.Optional(timestamp),
    timezone: t.Optional(
      t.String({
        minLength: 1,
        maxLength: 64,
        description: "IANA name: DAY, WEEK and MONTH windows start at its midnights",
      }),
    ),
  },
  { additionalProperties: false, title: "UsageRequest" },
);

const usageValue = t.Nullable(t.Number());

export const UsageSchema = t.Object(
  {
    event_name: t.String(),
    type: t.String(),
    value: usageValue,
    results: t.Array(t.Object({ window_size: t.String(), value: usageValue })),
  },
  { title: "UsageResponse" },
);
