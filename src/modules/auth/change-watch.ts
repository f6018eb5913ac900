import { type Db, sqlPluck } from "../../db";

/** How often, at most, verification asks the store whether credentials changed elsewhere. */
export const CHANGE_CHECK_INTERVAL_MS = 1;

/**
 * Sees credential changes made by another process on the same store, such as
 * `tollgate keys revoke` while the server runs. The server evicts what it changes itself at
 * once; what others change it learns from the store's credential generation, a counter that
 * triggers bump on every such change (migration 005). When the counter has moved, the caches
 * are dropped whole: changes from outside are rare, and refilling costs one lookup per key.
 *
 * Reading the counter is a read transaction (about 2.5 µs, most of it two fcntl calls), too
 * much for every request, so it is read at most once per interval: a change made elsewhere is
 * seen within a millisecond. The server's own changes bump the counter too, so they also drop
 * the caches once; that costs a refill, never a stale answer.
 */
export class CredentialChangeWatch {
  readonly #readGeneration;
  #seen: number;
  #checkedAt = Number.NEGATIVE_INFINITY;

  constructor(
    db: Db,
    private readonly onChange: () => void,
    private readonly intervalMs = CHANGE_CHECK_INTERVAL_MS,
  ) {
    this.#readGeneration = sqlPluck(db, "SELECT value FROM credential_generation WHERE id = 1");
    this.#seen = this.#readGeneration.get() as number;
  }

  /** Called before each verification. */
  check(now = performance.now()): void {
    if (now - this.#checkedAt < this.intervalMs) return;
    this.#checkedAt = now;
    const generation = this.#readGeneration.get() as number;
    if (generation === this.#seen) return;
    this.#seen = generation;
    this.onChange();
  }
}
