import { LRUCache } from "lru-cache";

export interface KeyCacheOptions {
  size: number;
  negativeSize: number;
}

/**
 * Verified keys by SHA-256 hex, plus a bounded set of hashes known not to exist.
 *
 * Every invalidation bumps a generation counter. A lookup notes the generation before it reads
 * the store and may only fill the cache if no invalidation happened meanwhile, so a lookup that
 * raced a revocation can never put the revoked key back.
 */
export class KeyCache<Entry extends {}> {
  readonly #known: LRUCache<string, Entry>;
  readonly #unknown: LRUCache<string, true>;
  #generation = 0;
  #hits = 0;
  #misses = 0;

  constructor(options: KeyCacheOptions) {
    this.#known = new LRUCache({ max: options.size });
    this.#unknown = new LRUCache({ max: options.negativeSize });
  }

  get generation(): number {
    return this.#generation;
  }

  get(hash: string): Entry | undefined {
    const entry = this.#known.get(hash);
    if (entry) this.#hits++;
    else this.#misses++;
    return entry;
  }

  isKnownUnknown(hash: string): boolean {
    return this.#unknown.has(hash);
  }

  /** Stores a lookup's result unless something was invalidated since `generation` was read. */
  fill(hash: string, entry: Entry, generation: number): boolean {
    if (generation !== this.#generation) return false;
    this.#known.set(hash, entry);
    return true;
  }

  fillUnknown(hash: string, generation: number): boolean {
    if (generation !== this.#generation) return false;
    this.#unknown.set(hash, true);
    return true;
  }

  /** Forgets these hashes, positive or negative, and fences off every lookup in flight. */
  invalidate(hashes: Iterable<string>): void {
    this.#generation++;
    for (const hash of hashes) {
      this.#known.delete(hash);
      this.#unknown.delete(hash);
    }
  }

  /** Forgets everything, and fences off every lookup in flight. */
  clear(): void {
    this.#generation++;
    this.#known.clear();
    this.#unknown.clear();
  }

  get stats() {
    return { size: this.#known.size, unknown: this.#unknown.size, hits: this.#hits, misses: this.#misses };
  }
}
