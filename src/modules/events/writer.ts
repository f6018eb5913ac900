import type { StoreHealth } from "../../db/health";
import type { Logger } from "../../http/logging";
import { type BatchOutcome, type BulkBody, commitUnits, toWire, type Unit } from "./commit";
import { MAX_BULK_EVENTS, type EventRow } from "./model";
import type { InsertEvents } from "./store";
import { fromWireError } from "./thread-error";
import { stopThread } from "./thread-stop";
import type { Durability, WriterReply, WriterRequest } from "./writer-thread";

/** A SQLite store's file, committed to from a thread of its own (writer-thread.ts). */
export interface WriterThreadOptions {
  storePath: string;
  entry: URL;
  durability: Durability;
  /** Makes the main thread's connection fold the WAL back in itself, should the thread fail. */
  checkpointHere: () => void;
}

/** One request's events: stored together or not at all. */
interface Pending {
  unit: Unit;
  /** Settled with the number of events the request held, once they are committed. */
  resolve: (events: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Rows per transaction, about: units are added until a batch reaches it, and never split. Large
 * on purpose: a commit's cost is mostly one rewritten index leaf per customer in it, whatever
 * the number of rows, so rows that share a commit share that cost (measured on a store of 1M
 * events: 9.9k rows/s in 1,000-row commits, 18k in 4,000-row commits).
 */
const MAX_BATCH_ROWS = 10_000;

/**
 * Group commit for ingestion, single events and bulk requests alike. Each request's events
 * queue up as one unit while a batch is being committed and go together in the next
 * transaction, so one commit (one fsync) serves every request that arrived meanwhile. Each
 * caller's promise settles only when the transaction holding its events has committed: a 202
 * always means "on disk". If the batch's transaction fails, its units are retried one by one
 * (commitBatch), so only the callers whose own events cannot be stored get the error; the error
 * keeps SQLite's `code` (SQLITE_FULL…) for the HTTP layer to answer with.
 *
 * A bulk request is queued as its body's bytes and parsed, validated and prepared where the batch
 * is committed (commit.ts): on a file store, that is the writer's thread, so a bulk request costs
 * the request thread only reading its bytes. An invalid body is answered with its 400 as before.
 *
 * With a SQLite file the commits run on a thread of their own (its own connection; WAL lets the
 * main thread read meanwhile), so the main thread never blocks on the disk. An in-memory store
 * cannot be shared with a thread, and PostgreSQL needs none (its commits wait on the network,
 * not on this thread): there the batch is committed through `insert` on the next event-loop turn.
 */
export class EventWriter {
  #queue: Pending[] = [];
  #inFlight: { id: number; batch: Pending[] } | null = null;
  #nextId = 1;
  #thread: Worker | null = null;
  #closed: Promise<void> | null = null;
  #idle: (() => void) | null = null;
  #scheduled = false;

  /**
   * `health` watches the store's files; ingestion routes leave that check to the commit (commit.ts),
   * here or on the thread, which watches the same files.
   */
  constructor(
    private readonly insert: InsertEvents,
    private readonly logger: Logger,
    private readonly health: StoreHealth,
    thread: WriterThreadOptions | null,
  ) {
    if (thread !== null) this.#startThread(thread);
  }

  /** Stores one request's events, all or none; settles once they are committed. */
  write(rows: EventRow[]): Promise<number> {
    return this.#enqueue(rows);
  }

  /** Stores a bulk request's events from its body, all or none; rejects with the 400 a bad body earns. */
  writeBulk(body: BulkBody): Promise<number> {
    return this.#enqueue(body);
  }

  #enqueue(unit: Unit): Promise<number> {
    if (this.#closed) return Promise.reject(new Error("event writer is closed"));
    return new Promise((resolve, reject) => {
      this.#queue.push({ unit, resolve, reject });
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

  #startThread({ storePath, entry, durability, checkpointHere }: WriterThreadOptions): void {
    const thread = new Worker(entry.href);
    thread.onmessage = (event: MessageEvent<WriterReply>) => this.#onReply(event.data);
    thread.onerror = (event) => {
      // Fall back to committing on the main thread rather than losing the service.
      this.logger.error("event writer thread failed; committing on the main thread", { error: event.message });
      this.#thread = null;
      // The thread checkpointed the WAL for everyone (app.ts); this connection does it now.
      checkpointHere();
      thread.terminate();
      const inFlight = this.#inFlight;
      this.#inFlight = null;
      if (inFlight) this.#rejectAll(inFlight.batch, new Error(event.message));
      this.#pump();
    };
    thread.postMessage({ type: "open", path: storePath, durability, files: this.health.files } satisfies WriterRequest);
    this.#thread = thread;
  }

  #pump(): void {
    if (this.#inFlight || this.#queue.length === 0) {
      if (!this.#inFlight && this.#queue.length === 0) this.#idle?.();
      return;
    }
    let count = 0;
    for (let rows = 0; count < this.#queue.length && rows < MAX_BATCH_ROWS; count++) {
      const { unit } = this.#queue[count] as Pending;
      // A bulk body's events are counted at the most it may hold.
      rows += Array.isArray(unit) ? unit.length : MAX_BULK_EVENTS;
    }
    const batch = this.#queue.splice(0, count);
    const id = this.#nextId++;
    this.#inFlight = { id, batch };
    const units = batch.map((p) => p.unit);
    if (this.#thread) {
      // Rows as JSON text and bulk bodies as bytes: Bun's structured clone of 1,000 row objects
      // held the request thread for milliseconds (the top of its CPU profile under bulk load).
      this.#thread.postMessage({ type: "write", id, batch: toWire(units) } satisfies WriterRequest);
      return;
    }
    void commitUnits(this.insert, units, () => this.health.fileProblem()).then((outcome) => this.#finish(id, outcome));
  }

  #onReply(reply: WriterReply): void {
    if (reply.type === "written") this.#finish(reply.id, reply.outcome);
  }

  #finish(id: number, { failures, events }: BatchOutcome): void {
    const inFlight = this.#inFlight;
    if (!inFlight || inFlight.id !== id) return;
    this.#inFlight = null;
    // A refused bulk body is the client's error, answered with its 400; only the store's are logged.
    const storeFailures = failures.filter((f) => f.status === undefined);
    if (storeFailures.length > 0) {
      this.logger.error("events not stored", {
        error: storeFailures[0]?.message,
        code: storeFailures[0]?.code ?? null,
        failed_requests: storeFailures.length,
        batch_requests: inFlight.batch.length,
      });
    }
    const failed = new Map(failures.map((f) => [f.index, f]));
    inFlight.batch.forEach((p, index) => {
      const failure = failed.get(index);
      if (failure) p.reject(fromWireError(failure));
      else p.resolve(events[index] ?? 0);
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
      await stopThread(thread);
    })();
    return this.#closed;
  }
}
