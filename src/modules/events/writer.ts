import type { Db } from "../../db";
import type { Logger } from "../../http/logging";
import type { EventRow } from "./model";
import { insertEvents } from "./service";

interface Pending {
  row: EventRow;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Rows per transaction at most; a burst larger than this is committed in several. */
const MAX_BATCH = 2000;

/**
 * Group commit for single-event ingestion. Requests that arrive in the same turn of the event
 * loop are written in one transaction (one fsync) on the next turn; each caller's promise
 * settles only when the transaction holding its row has committed, so a 202 always means
 * "on disk". If the transaction fails, every caller in it gets the error and nothing is half
 * written.
 */
export class EventWriter {
  #queue: Pending[] = [];
  #scheduled = false;
  #batches = 0;
  #rows = 0;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  write(row: EventRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ row, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued. Called by the scheduler, and at shutdown. */
  flush(): void {
    this.#scheduled = false;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      try {
        insertEvents(
          this.db,
          batch.map((p) => p.row),
        );
        this.#batches++;
        this.#rows += batch.length;
        for (const p of batch) p.resolve();
      } catch (error) {
        this.logger.error("event batch failed", { error: (error as Error).message, events: batch.length });
        for (const p of batch) p.reject(error);
      }
    }
  }

  get stats() {
    return { batches: this.#batches, rows: this.#rows, queued: this.#queue.length };
  }
}
