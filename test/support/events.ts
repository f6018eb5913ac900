// Helpers for the events tests that check Flexprice's request fields: bulk ingest through a
// harness, a validation refusal naming a field, and a file-backed Tollgate whose event reads run
// on reader threads.
import { expect } from "bun:test";
import { join } from "node:path";
import { createTollgate } from "../../src/app";
import { DEFAULT_CONFIG } from "../../src/config";
import { openDatabase, SqliteStore } from "../../src/db";
import { createLogger } from "../../src/http/logging";
import { type CallResult, errorOf, type Harness } from "./harness";
import { tempDir } from "./temp";

export type Body = Record<string, unknown>;

/** Ingests `events` through POST /v1/events/bulk, 1000 at a time, each batch accepted (202). */
export async function bulk(h: Harness, events: Body[]) {
  for (let i = 0; i < events.length; i += 1000) {
    const res = await h.call("POST", "/v1/events/bulk", { body: { events: events.slice(i, i + 1000) } });
    expect(res.status).toBe(202);
  }
}

/** A 400 validation_error whose details name `field` (or a part of it: `filters.region`); returns the error. */
export function refused(res: CallResult, field: string) {
  expect({ status: res.status, text: res.text }).toMatchObject({ status: 400 });
  const error = errorOf(res);
  expect(error.internal_error).toBe("validation_error");
  const named = Object.keys(error.details ?? {}).map((key) => key.split(/[.[]/)[0]);
  expect(named).toContain(field);
  return error;
}

/**
 * A Tollgate on a database file in a new temporary folder, so its event reads run on reader
 * threads; `errors` collects what it logs at error level. Close it with `tollgate.close()`.
 */
export async function readerTollgate(prefix: string) {
  const store = new SqliteStore(openDatabase(join(tempDir(prefix), "tollgate.db")));
  const errors: string[] = [];
  const tollgate = await createTollgate({
    config: structuredClone(DEFAULT_CONFIG),
    store,
    logger: createLogger("error", { sink: (line) => errors.push(line) }),
  });
  return { store, errors, tollgate };
}
