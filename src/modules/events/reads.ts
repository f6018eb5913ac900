import type { Db } from "../../db";
import { aggregateUsage, type EventQuery, queryEvents, type Scope, type UsageQuery } from "./service";

/** The event reads that may scan many rows: what the reader threads run. Plain data, so it can be posted. */
export type EventRead =
  { kind: "query"; scope: Scope; query: EventQuery } | { kind: "usage"; scope: Scope; query: UsageQuery };

export function runEventRead(db: Db, read: EventRead): unknown {
  switch (read.kind) {
    case "query":
      return queryEvents(db, read.scope, read.query);
    case "usage":
      return aggregateUsage(db, read.scope, read.query);
  }
}
