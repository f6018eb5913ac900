// One batch of the writer's group commit, wherever it runs (the writer thread, or the main
// thread for an in-memory store): bulk bodies prepared from their bytes, then every unit stored.
import type { Db } from "../../db";
import { prepareBulk } from "./bulk";
import type { EventRow } from "./model";
import { commitBatch, type UnitFailure } from "./store";
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

/**
 * Prepares the bulk bodies, then commits every unit (commitBatch). A bulk body that is not valid
 * fails its own request only, with the 400 it earned; the rest of the batch is stored.
 */
export function commitUnits(db: Db, units: Unit[]): BatchOutcome {
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
  const failures = [...refused, ...commitBatch(db, rows).filter((failure) => !refusedAt.has(failure.index))];
  return { failures, events: rows.map((unit) => unit.length) };
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
