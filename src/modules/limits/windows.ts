// Rate-limit windows (SPEC §14, §15): sliding, exact within one process, in memory, with no
// store write per request. Several instances each keep their own: with N of them a key may get
// up to N × its limit (documented in the README).

/** One limit a request is counted against: the window it counts in, and what it allows. */
export interface WindowRequest {
  /** Which window: the owner of the limit (a key, or a service account shared by its keys) and its name. */
  window: string;
  limit: number;
  durationMs: number;
  cost: number;
}

/** A window after the request: what is left of the limit, and when the oldest use leaves it. */
export interface WindowState {
  limit: number;
  remaining: number;
  /** When (ms since the epoch) the window next has room it does not have now; `now` when it is empty. */
  resetAt: number;
}

export interface WindowAnswer {
  admitted: boolean;
  /** In the order asked, after the request (counted if admitted, as they were if not). */
  states: WindowState[];
  /** When refused: in how many ms every refusing window has room for this request. */
  retryAfterMs: number;
}

/**
 * One window: the uses of the last `durationMs`, oldest first, as (millisecond, count) pairs.
 * Uses of one millisecond share a pair, so a window holds at most min(limit, duration_ms) of
 * them: its memory is bounded by its limit, however many requests are refused.
 */
class SlidingWindow {
  times: number[] = [];
  counts: number[] = [];
  head = 0;
  sum = 0;
  /** The duration it was last used with: how long it must be kept. */
  durationMs = 0;

  /** Forgets the uses that left the window by `now`. */
  slide(now: number, durationMs: number): void {
    this.durationMs = durationMs;
    const start = now - durationMs;
    while (this.head < this.times.length && (this.times[this.head] as number) <= start) {
      this.sum -= this.counts[this.head] as number;
      this.head++;
    }
    // Dropped pairs are cut off now and then, not on every slide: an array shift per request is what a head index saves.
    if (this.head > 64 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.counts = this.counts.slice(this.head);
      this.head = 0;
    }
  }

  add(now: number, cost: number): void {
    if (cost === 0) return;
    this.sum += cost;
    const last = this.times.length - 1;
    if (last >= this.head && this.times[last] === now) this.counts[last] = (this.counts[last] as number) + cost;
    else {
      this.times.push(now);
      this.counts.push(cost);
    }
  }

  /** In how many ms `cost` more fits under `limit`, as the oldest uses leave. */
  waitFor(cost: number, limit: number, now: number): number {
    let excess = this.sum + cost - limit;
    for (let i = this.head; i < this.times.length; i++) {
      excess -= this.counts[i] as number;
      if (excess <= 0) return (this.times[i] as number) + this.durationMs - now;
    }
    // More than the limit at once: it never fits; answer a whole window.
    return this.durationMs;
  }

  resetAt(now: number): number {
    return this.head < this.times.length ? (this.times[this.head] as number) + this.durationMs : now;
  }

  isIdle(now: number): boolean {
    return this.head >= this.times.length || (this.times[this.times.length - 1] as number) + this.durationMs <= now;
  }
}

/** How often windows whose uses have all left are forgotten. */
const SWEEP_INTERVAL_MS = 30_000;

/**
 * The windows of this process, by window name. A window is named by the limit's owner and name,
 * not by its value: changing a limit keeps the count it has, as a client would expect.
 */
export class RateLimitWindows {
  readonly #windows = new Map<string, SlidingWindow>();
  readonly #sweeper: ReturnType<typeof setInterval>;

  constructor(private readonly now: () => number = Date.now) {
    this.#sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.#sweeper.unref?.();
  }

  /**
   * Counts one request against every window asked, all or none: admitted when each has room for
   * its cost; then each counts it. Synchronous, so no other request comes between the check and
   * the count: within one process a window admits exactly its limit.
   */
  take(requests: readonly WindowRequest[], now = this.now()): WindowAnswer {
    // Plain loops, no callbacks: this runs on every request of a limited key.
    const windows: SlidingWindow[] = new Array(requests.length);
    let retryAfterMs = 0;
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i] as WindowRequest;
      let window = this.#windows.get(request.window);
      if (window === undefined) {
        window = new SlidingWindow();
        this.#windows.set(request.window, window);
      }
      window.slide(now, request.durationMs);
      if (window.sum + request.cost > request.limit) {
        retryAfterMs = Math.max(retryAfterMs, window.waitFor(request.cost, request.limit, now));
      }
      windows[i] = window;
    }
    const admitted = retryAfterMs === 0;
    const states: WindowState[] = new Array(requests.length);
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i] as WindowRequest;
      const window = windows[i] as SlidingWindow;
      if (admitted) window.add(now, request.cost);
      states[i] = {
        limit: request.limit,
        remaining: Math.max(0, request.limit - window.sum),
        resetAt: window.resetAt(now),
      };
    }
    return { admitted, states, retryAfterMs };
  }

  /** Forgets windows that hold no use any more: memory follows the keys in use, not every key ever seen. */
  sweep(now = this.now()): void {
    for (const [name, window] of this.#windows) if (window.isIdle(now)) this.#windows.delete(name);
  }

  close(): void {
    clearInterval(this.#sweeper);
  }
}
