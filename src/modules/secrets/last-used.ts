import type { Store } from "../../db";
import type { Logger } from "../../http/logging";
import { recordKeysUsed } from "./store";

const FLUSH_INTERVAL_MS = 5_000;

/**
 * Keeps `last_used_at` off the request path: the verification path notes a key in memory (the
 * key-cache entry remembers when, so the check costs no lookup), and a timer writes the notes
 * in one batch. `close` writes whatever is left, so a graceful shutdown loses nothing.
 */
export class LastUsedRecorder {
  #pending = new Map<string, string>();
  #flushing: Promise<void> = Promise.resolve();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    flushIntervalMs = FLUSH_INTERVAL_MS,
  ) {
    this.#timer = setInterval(() => void this.flush(), flushIntervalMs);
    this.#timer.unref();
  }

  note(secretId: string, at: number): void {
    this.#pending.set(secretId, new Date(at).toISOString());
  }

  /** Writes what was noted; one write at a time, so a slow one is not overtaken by the next. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  async #write(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    try {
      await recordKeysUsed(this.store, batch);
    } catch (err) {
      // Put the batch back so the next flush retries it; a busy store must not lose usage.
      for (const [id, at] of batch) if (!this.#pending.has(id)) this.#pending.set(id, at);
      this.logger.warn("could not record key usage", { error: (err as Error).message, keys: batch.size });
    }
  }

  close(): Promise<void> {
    clearInterval(this.#timer);
    return this.flush();
  }
}
