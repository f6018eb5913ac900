import type { Db } from "../../db";
import type { Logger } from "../../http/logging";
import type { EventRow } from "./model";
import { commitBatch, type RowFailure, rowError } from "./store";
import type { WriterReply, WriterRequest } from "./writer-thread";

interface Pending {
  row: EventRow;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Rows per transaction at most; a larger burst is committed in several. */
const MAX_BATCH = 2000;

/**
 * Group commit for single-event ingestion. Rows queue up while one batch is being committed
 * and go together in the next transaction, so one commit (one fsync) serves every request that
 * arrived meanwhile. Each caller's promise settles only when the transaction holding its row
 * has committed: a 202 always means "on disk". If the batch's transaction fails, its rows are
 * retried one by one (commitBatch), so only the callers whose own row cannot be stored get the
 * error; the error keeps SQLite's `code` (SQLITE_FULL…) for the HTTP layer to answer with.
 *
 * With a file store the commits run on a thread of their own (its own connection; WAL lets the
 * main thread read meanwhile), so the main thread never blocks on the disk. An in-memory store
 * cannot be shared with a thread; there the batch is committed on the next event-loop turn.
 */
export class EventWriter {
  #queue: Pending[] = [];
  #inFlight: { id: number; batch: Pending[] } | null = null;
  #nextId = 1;
  #thread: Worker | null = null;
  #closed: Promise<void> | null = null;
  #idle: (() => void) | null = null;
  #scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    thread: { storePath: string; entry: URL } | null,
  ) {
    if (thread !== null) this.#startThread(thread.storePath, thread.entry);
  }

  write(row: EventRow): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("event writer is closed"));
    return new Promise((resolve, reject) => {
      this.#queue.push({ row, resolve, reject });
      // Let the rest of this event-loop turn's requests join the batch before it is sent.
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#pump();
        });
      }
    });
  }

  #startThread(path: string, entry: URL): void {
    const thread = new Worker(entry.href);
    thread.onmessage = (event: MessageEvent<WriterReply>) => this.#onReply(event.data);
    thread.onerror = (event) => {
      // Fall back to committing on the main thread rather than losing the service.
      this.logger.error("event writer thread failed; committing on the main thread", { error: event.message });
      this.#thread = null;
      thread.terminate();
      const inFlight = this.#inFlight;
      this.#inFlight = null;
      if (inFlight) this.#rejectAll(inFlight.batch, new Error(event.message));
      this.#pump();
    };
    thread.postMessage({ type: "open", path } satisfies WriterRequest);
    this.#thread = thread;
  }

  #pump(): void {
    if (this.#inFlight || this.#queue.length === 0) {
      if (!this.#inFlight && this.#queue.length === 0) this.#idle?.();
      return;
    }
    const batch = this.#queue.splice(0, MAX_BATCH);
    const id = this.#nextId++;
    this.#inFlight = { id, batch };
    const rows = batch.map((p) => p.row);
    if (this.#thread) {
      this.#thread.postMessage({ type: "write", id, rows } satisfies WriterRequest);
      return;
    }
    this.#finish(id, commitBatch(this.db, rows));
  }

  #onReply(reply: WriterReply): void {
    if (reply.type === "written") this.#finish(reply.id, reply.failures);
  }

  #finish(id: number, failures: RowFailure[]): void {
    const inFlight = this.#inFlight;
    if (!inFlight || inFlight.id !== id) return;
    this.#inFlight = null;
    if (failures.length > 0) {
      this.logger.error("events not stored", {
        error: failures[0]?.message,
        code: failures[0]?.code ?? null,
        failed: failures.length,
        batch: inFlight.batch.length,
      });
    }
    const failed = new Map(failures.map((f) => [f.index, f]));
    inFlight.batch.forEach((p, index) => {
      const failure = failed.get(index);
      if (failure) p.reject(rowError(failure));
      else p.resolve();
    });
    this.#pump();
  }

  #rejectAll(batch: Pending[], failure: unknown): void {
    for (const p of batch) p.reject(failure);
  }

  /** Commits everything accepted so far, then stops the thread. New writes are refused. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#inFlight || this.#queue.length > 0) {
        await new Promise<void>((resolve) => {
          this.#idle = resolve;
          this.#pump();
        });
      }
      const thread = this.#thread;
      if (!thread) return;
      this.#thread = null;
      await new Promise<void>((resolve) => {
        thread.onmessage = (event: MessageEvent<WriterReply>) => {
          if (event.data.type === "closed") resolve();
        };
        thread.postMessage({ type: "close" } satisfies WriterRequest);
      });
      thread.terminate();
    })();
    return this.#closed;
  }
}
