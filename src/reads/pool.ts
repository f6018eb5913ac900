import type { Dialect, PageQuery, PageReader, Paged, Store } from "../db";
import { READ_BUDGET_MS } from "../db/read-budget";
import { ApiError } from "../http/errors";
import type { Logger } from "../http/logging";
import type { DayCount, UsageCount, UsageWindow } from "../modules/events/counts";
import type { EventPage, EventQuery } from "../modules/events/pages";
import type { Scope } from "../modules/events/scopes";
import { fromWireError } from "../modules/events/thread-error";
import { stopThread } from "../modules/events/thread-stop";
import type { UsageQuery, UsageResult } from "../modules/events/usage";
import { runStoreRead, type StoreRead } from "./catalogue";
import type { ReaderReply, ReaderRequest } from "./thread";

/**
 * Reads one tenant may have running or waiting at once. Each read may take up to its budget,
 * so without a cap one tenant's key could fill every thread's queue and make everyone else's
 * reads wait behind its own.
 */
export const MAX_READS_PER_TENANT = 4;

const tooManyReads = () =>
  new ApiError(
    429,
    "too_many_requests",
    `Too many reads in progress for this tenant (at most ${MAX_READS_PER_TENANT}); retry when one has finished`,
    { limit: MAX_READS_PER_TENANT, retry_after_seconds: 1 },
  );

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface ReaderThread {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * Runs the reads that may scan many rows (event queries, usage aggregates, pages of lists) on
 * reader threads, each with its own connection, so the main thread (authentication, ingestion,
 * /health) keeps answering while one runs; each read still stops at its time budget
 * (src/db/read-budget.ts). A read goes to the thread with the fewest reads waiting; a tenant
 * with MAX_READS_PER_TENANT reads under way gets a 429 for the next. Threads are for a SQLite
 * file, whose reads run synchronously; an in-memory store cannot be shared with a thread, and
 * PostgreSQL's reads wait on the network, not on this thread: there, and if a thread fails,
 * reads run on the main thread's store.
 */
export class StoreReaders implements PageReader {
  readonly dialect: Dialect;
  #threads: ReaderThread[] = [];
  #nextId = 1;
  #perTenant = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    threads: { storePath: string; entry: URL; count: number } | null,
    /** What each read may spend (read-budget.ts). */
    private readonly budgetMs = READ_BUDGET_MS,
  ) {
    this.dialect = store.dialect;
    for (let i = 0; i < (threads?.count ?? 0); i++) this.#start(threads!.storePath, threads!.entry);
  }

  query(scope: Scope, query: EventQuery): Promise<EventPage> {
    return this.#run({ kind: "query", scope, query }) as Promise<EventPage>;
  }

  usage(scope: Scope, query: UsageQuery): Promise<UsageResult> {
    return this.#run({ kind: "usage", scope, query }) as Promise<UsageResult>;
  }

  summary(scope: Scope, externalCustomerId: string, window: UsageWindow): Promise<UsageCount[]> {
    return this.#run({ kind: "summary", scope, externalCustomerId, window }) as Promise<UsageCount[]>;
  }

  /** Events per UTC day in `window`, all names and customers of the scope (days without events absent). */
  daily(scope: Scope, window: UsageWindow): Promise<DayCount[]> {
    return this.#run({ kind: "daily", scope, window }) as Promise<DayCount[]>;
  }

  /** A page of a list and its total (src/db/index.ts, selectPage). */
  page<T>(tenantId: string, query: PageQuery): Promise<Paged<T>> {
    return this.#run({ kind: "page", scope: { tenantId }, query }) as Promise<Paged<T>>;
  }

  async #run(read: StoreRead): Promise<unknown> {
    // Only what the read needs crosses to the thread: a principal carries more than its scope.
    const plain = { ...read, scope: scopeOnly(read.scope) } as StoreRead;
    const thread = this.#leastBusy();
    if (!thread) return runStoreRead(this.store, plain, this.budgetMs);
    const tenant = plain.scope.tenantId;
    const running = this.#perTenant.get(tenant) ?? 0;
    if (running >= MAX_READS_PER_TENANT) throw tooManyReads();
    this.#perTenant.set(tenant, running + 1);
    const id = this.#nextId++;
    try {
      return await new Promise((resolve, reject) => {
        thread.pending.set(id, { resolve, reject });
        thread.worker.postMessage({ type: "read", id, read: plain, budgetMs: this.budgetMs } satisfies ReaderRequest);
      });
    } finally {
      const left = (this.#perTenant.get(tenant) ?? 1) - 1;
      if (left === 0) this.#perTenant.delete(tenant);
      else this.#perTenant.set(tenant, left);
    }
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
      if (reply.type === "closed") return;
      const pending = thread.pending.get(reply.id);
      if (!pending) return;
      thread.pending.delete(reply.id);
      if (reply.type === "done") pending.resolve(reply.result);
      else pending.reject(fromWireError(reply.error));
    };
    thread.worker.onerror = (event) => {
      this.logger.error("reader thread failed; reading on the main thread", { error: event.message });
      this.#threads = this.#threads.filter((t) => t !== thread);
      thread.worker.terminate();
      for (const pending of thread.pending.values()) pending.reject(new Error(event.message));
    };
    thread.worker.postMessage({ type: "open", path } satisfies ReaderRequest);
    this.#threads.push(thread);
  }

  /** Stops the threads (stopThread); a read still running is refused rather than left waiting forever. */
  async close(): Promise<void> {
    const threads = this.#threads;
    this.#threads = [];
    await Promise.all(
      threads.map((thread) => {
        for (const pending of thread.pending.values()) pending.reject(new Error("store readers are closed"));
        thread.pending.clear();
        return stopThread(thread.worker);
      }),
    );
  }
}

function scopeOnly(scope: { tenantId: string; environmentId?: string }) {
  return scope.environmentId === undefined
    ? { tenantId: scope.tenantId }
    : { tenantId: scope.tenantId, environmentId: scope.environmentId };
}
