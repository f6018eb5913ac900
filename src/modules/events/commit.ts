// One batch of the writer's group commit, wherever it runs (the writer thread, or the main
// thread for an in-memory or PostgreSQL store): bulk bodies prepared from their bytes, then every unit stored.
import type { StoreStatus } from "../../db/health";
import { serviceUnavailable } from "../../http/errors";
import { prepareBulk } from "./bulk";
import type { EventRow } from "./model";
import { commitBatch, type InsertEvents, type UnitFailure } from "./store";
import { toWireError } from "./thread-error";

/** A bulk request's body as it arrived, prepared where the batch is committed. */
export interface BulkBody {
  scopeKey: number;
  bytes: Uint8Array;
}

/** One request's events: rows prepared on the request thread (a single event), or a bulk body. */
export type Unit = EventRow[] | BulkBody;

/** What became of a batch: the units that failed, and how many events each unit held. */
export interface BatchOutcome {
  failures: UnitFailure[];
  events: number[];
}

/** Whether the store's files are still the ones the server opened (StoreHealth.fileProblem). */
export type FileCheck = () => StoreStatus;

const NO_FILES: FileCheck = () => ({ ok: true });

/**
 * Prepares the bulk bodies, then commits every unit (commitBatch). A bulk body that is not valid
 * fails its own request only, with the 400 it earned; the rest of the batch is stored.
 *
 * The store's files are looked at once, right before the commit: a file deleted or replaced
 * fails every unit with the 503 any other write gets (operations' store guard), and nothing is
 * written into the orphaned file. Once per batch rather than once per request, as the guard
 * does for other writes: under load those stat calls were a sixth of the request thread's time.
 */
export async function commitUnits(
  insert: InsertEvents,
  units: Unit[],
  fileProblem: FileCheck = NO_FILES,
): Promise<BatchOutcome> {
  const refused: UnitFailure[] = [];
  const rows = units.map((unit, index) => {
    if (Array.isArray(unit)) return unit;
    try {
      return prepareBulk(unit.scopeKey, unit.bytes);
    } catch (error) {
      refused.push({ index, ...toWireError(error) });
      return [];
    }
  });
  const refusedAt = new Set(refused.map((failure) => failure.index));
  const files = fileProblem();
  const stored = files.ok ? await commitBatch(insert, rows) : unavailable(files, rows.length);
  const failures = [...refused, ...stored.filter((failure) => !refusedAt.has(failure.index))];
  return { failures, events: rows.map((unit) => unit.length) };
}

function unavailable(files: Extract<StoreStatus, { ok: false }>, units: number): UnitFailure[] {
  const failure = toWireError(serviceUnavailable(files.message, { problem: files.problem }));
  return Array.from({ length: units }, (_, index) => ({ ...failure, index }));
}

/** A batch as the writer thread receives it: row units as one JSON text, bulk bodies as bytes. */
export interface WireBatch {
  /** Every unit, a bulk body's place held by null. */
  rowsJson: string;
  bulks: { index: number; scopeKey: number; bytes: Uint8Array }[];
}

export function toWire(units: Unit[]): WireBatch {
  const bulks: WireBatch["bulks"] = [];
  const rows = units.map((unit, index) => {
    if (Array.isArray(unit)) return unit;
    bulks.push({ index, scopeKey: unit.scopeKey, bytes: unit.bytes });
    return null;
  });
  return { rowsJson: JSON.stringify(rows), bulks };
}

export function fromWire(batch: WireBatch): Unit[] {
  const units = JSON.parse(batch.rowsJson) as (Unit | null)[];
  for (const { index, scopeKey, bytes } of batch.bulks) units[index] = { scopeKey, bytes };
  return units as Unit[];
}
