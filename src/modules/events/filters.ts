import type { Static } from "elysia";
import type { PropertyFilters } from "./model";
import type { Dialect } from "../../db";

export interface Filter {
  clauses: string[];
  params: Record<string, unknown>;
}

/** What filterOf narrows by: the query's filters, and usage's customer_id. */
export interface EventFilters {
  external_customer_id?: string;
  customer_id?: string;
  event_name?: string;
  event_id?: string;
  source?: string;
  start_time?: string;
  end_time?: string;
  property_filters?: Static<typeof PropertyFilters>;
}

/**
 * The WHERE clause every event read shares: scope first, so an index on it is always usable,
 * then the time budget. Its text depends only on which fixed filters were sent, never on how
 * many property filters or values: those travel as one JSON parameter, so a caller cannot make
 * the statement cache (or SQLite's expression tree) grow by sending more of them.
 */
export function filterOf(dialect: Dialect, scopeKey: number, q: EventFilters): Filter {
  const clauses = ["scope = @scope", dialect.withinBudget];
  const params: Record<string, unknown> = { scope: scopeKey };
  const exact = {
    external_customer_id: q.external_customer_id,
    customer_id: q.customer_id,
    event_name: q.event_name,
    id: q.event_id,
    source: q.source,
  };
  for (const [column, value] of Object.entries(exact)) {
    if (value === undefined) continue;
    clauses.push(`${column} = @${column}`);
    params[column] = value;
  }
  if (q.start_time !== undefined) {
    clauses.push("timestamp >= @start_time");
    params.start_time = new Date(q.start_time).toISOString();
  }
  if (q.end_time !== undefined) {
    clauses.push("timestamp < @end_time");
    params.end_time = new Date(q.end_time).toISOString();
  }
  if (q.property_filters !== undefined && Object.keys(q.property_filters).length > 0) {
    // Every named property holds one of its listed values. Names match PROPERTY_NAME_PATTERN,
    // so SQLite may quote them into a JSON path; a missing property matches nothing.
    clauses.push(dialect.propertiesMatch("properties", "@property_filters"));
    params.property_filters = JSON.stringify(q.property_filters);
  }
  return { clauses, params };
}
