import type { Db } from "../../db";
import { ApiError, type ErrorCode } from "../../http/errors";
import type { Logger } from "../../http/logging";
import type { ReaderReply, ReaderRequest } from "./reader-thread";
import { type EventRead, runEventRead } from "./reads";
import type { EventPage, Scope, UsageQuery, UsageResult, EventQuery } from "./service";

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface ReaderThread {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * Runs event queries and usage aggregates on reader threads, each with its own connection, so
 * the main thread (authentication, ingestion, /health) keeps answering while one runs; each
 * read still stops at its time budget (read-budget.ts). A read goes to the thread with the
 * fewest reads waiting. An in-memory store cannot be shared with a thread: there, and if a
 * thread fails, reads run on the main thread.
 */
export class EventReaders {
  #threads: ReaderThread[] = [];
  #nextId = 1;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    threads: { storePath: string; entry: URL; count: number } | null,
  ) {
    for (let i = 0; i < (threads?.count ?? 0); i++) this.#start(threads!.storePath, threads!.entry);
  }

  query(scope: Scope, query: EventQuery): Promise<EventPage> {
    return this.#run({ kind: "query", scope, query }) as Promise<EventPage>;
  }

  usage(scope: Scope, query: UsageQuery): Promise<UsageResult> {
    return this.#run({ kind: "usage", scope, query }) as Promise<UsageResult>;
  }

  async #run(read: EventRead): Promise<unknown> {
    // Only what the read needs crosses to the thread: a principal carries more than its scope.
    const plain = { ...read, scope: { tenantId: read.scope.tenantId, environmentId: read.scope.environmentId } };
    const thread = this.#leastBusy();
    if (!thread) return runEventRead(this.db, plain);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ type: "read", id, read: plain } satisfies ReaderRequest);
    });
  }

  #leastBusy(): ReaderThread | undefined {
    let best: ReaderThread | undefined;
    for (const thread of this.#threads) if (!best || thread.pending.size < best.pending.size) best = thread;
    return best;
  }

  #start(path: string, entry: URL): void {
    const thread: ReaderThread = { worker: new Worker(entry.href), pending: new Map() };
    thread.worker.onmessage = (event: MessageEvent<ReaderReply>) => {
      const reply = event.data;
      const pending = thread.pending.get(reply.id);
      if (!pending) return;
      thread.pending.delete(reply.id);
      if (reply.type === "done") pending.resolve(reply.result);
      else pending.reject(toError(reply.error));
    };
    thread.worker.onerror = (event) => {
      this.logger.error("event reader thread failed; reading on the main thread", { error: event.message });
      this.#threads = this.#threads.filter((t) => t !== thread);
      thread.worker.terminate();
      for (const pending of thread.pending.values()) pending.reject(new Error(event.message));
    };
    thread.worker.postMessage({ type: "open", path } satisfies ReaderRequest);
    this.#threads.push(thread);
  }

  /** Stops the threads; a read still running is refused rather than left waiting forever. */
  close(): void {
    for (const thread of this.#threads) {
      thread.worker.terminate();
      for (const pending of thread.pending.values()) pending.reject(new Error("event readers are closed"));
    }
    this.#threads = [];
  }
}

function toError(error: Extract<ReaderReply, { type: "failed" }>["error"]): Error {
  if (error.status === undefined) return new Error(error.message);
  return new ApiError(error.status, error.code as ErrorCode, error.message, error.details);
}
