import { LRUCache } from "lru-cache";
import type { Config } from "../../config";
import type { Logger } from "../../http/logging";

export type FailedAttemptsOptions = Config["auth"]["failed_attempts"];

/** What to do with one failed credential check. */
export interface FailureVerdict {
  /** 0: answer the failure as it is (401). Otherwise: answer 429, retry after this many seconds. */
  retryAfterSeconds: number;
  /** Whether the request may have its own log line (a refusal never does; 401s are sampled). */
  log: boolean;
}

interface AddressWindow {
  /** When this address's current window began (ms). */
  startedAt: number;
  failures: number;
  /** Failures answered 429 since the last report. */
  refused: number;
  /** Whether "limit reached" was written for this window. */
  warned: boolean;
}

/** How many clients a report names; the rest are counted. */
const TOP_CLIENTS = 5;
const LOGGED: FailureVerdict = { retryAfterSeconds: 0, log: true };
const UNLOGGED: FailureVerdict = { retryAfterSeconds: 0, log: false };

/**
 * Failed credential checks (every 401: no credential, an unknown, malformed, revoked or
 * expired key, a bad portal session token) counted per client address in fixed windows.
 *
 * - An address gets `max_failures` failures per `window_seconds`; past that, its failures are
 *   answered 429 with the seconds until its window ends, until then. Only failures are
 *   counted and only failures are answered 429: a valid credential is accepted from any
 *   address, so a neighbour behind the same NAT or proxy locks nobody out, and successful
 *   requests never reach this class.
 * - IPv6 addresses count by /64 (one subscriber's allocation), so rotating through one's own
 *   addresses gains nothing; IPv4-mapped IPv6 counts as the IPv4 address.
 * - At most `max_addresses` addresses are tracked (least recently failing forgotten first).
 * - Log volume is bounded whatever the flood: a refusal has no log line of its own, one
 *   warning per address and window says the limit was reached, 401 lines and those warnings
 *   each have an allowance of `log_lines_per_second` (so a burst of 401s cannot crowd out the
 *   warning), and one summary line per window counts what was not logged, naming the busiest
 *   addresses. Keys never reach this class.
 *
 * The clock is injectable; the periodic report runs only while something is tracked.
 */
export class FailedAuthLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #linesPerSecond: number;
  readonly #windows: LRUCache<string, AddressWindow>;
  /** 401 request lines, and "limit reached" warnings: each kind has its own allowance a second. */
  readonly #failureLines = new PerSecond();
  readonly #warnings = new PerSecond();
  /** 401 lines not written since the last report (over the per-second allowance). */
  #unlogged = 0;
  /** Refusals of addresses forgotten (evicted) since the last report. */
  #refusedForgotten = 0;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    options: FailedAttemptsOptions,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    /**
     * What is counted, as the log lines name it: failed credential checks, or, in a limiter of
     * its own, reports of leaked keys (SPEC §16), where every report counts, not only failures.
     */
    private readonly subject = "failed authentication",
  ) {
    this.#max = options.max_failures;
    this.#windowMs = options.window_seconds * 1000;
    this.#linesPerSecond = options.log_lines_per_second;
    this.#windows = new LRUCache({
      max: options.max_addresses,
      dispose: (window, _key, reason) => {
        if (reason === "evict") this.#refusedForgotten += window.refused;
      },
    });
  }

  /** Addresses tracked now. */
  get size(): number {
    return this.#windows.size;
  }

  get maxFailures(): number {
    return this.#max;
  }

  get windowSeconds(): number {
    return this.#windowMs / 1000;
  }

  /** Counts one failed credential check from `address` (null: unknown, never limited). */
  fail(address: string | null): FailureVerdict {
    const now = this.now();
    if (this.#max > 0 && address !== null) {
      const client = clientKey(address);
      let window = this.#windows.get(client);
      if (window === undefined || now >= window.startedAt + this.#windowMs) {
        if (window !== undefined) window.startedAt = now;
        else {
          window = { startedAt: now, failures: 0, refused: 0, warned: false };
          this.#windows.set(client, window);
        }
        window.failures = 0;
        window.warned = false;
        this.#startReports();
      }
      window.failures++;
      if (window.failures > this.#max) {
        window.refused++;
        const retryAfterSeconds = Math.max(1, Math.ceil((window.startedAt + this.#windowMs - now) / 1000));
        if (!window.warned) {
          window.warned = true;
          if (this.#warnings.take(now, this.#linesPerSecond)) {
            this.logger.warn(`${this.subject} limit reached`, {
              client,
              max_failures: this.#max,
              window_seconds: this.#windowMs / 1000,
              retry_after_seconds: retryAfterSeconds,
            });
          }
        }
        return { retryAfterSeconds, log: false };
      }
    }
    if (this.#failureLines.take(now, this.#linesPerSecond)) return LOGGED;
    this.#unlogged++;
    this.#startReports();
    return UNLOGGED;
  }

  /**
   * Writes one line for what was not logged since the last report (if anything), and forgets
   * addresses whose window has ended. Runs every window while something is tracked, and at close.
   */
  sweep(): void {
    const now = this.now();
    let refused = this.#refusedForgotten;
    const clients: { client: string; refused: number }[] = [];
    const ended: string[] = [];
    for (const [client, window] of this.#windows.entries()) {
      if (window.refused > 0) {
        refused += window.refused;
        clients.push({ client, refused: window.refused });
        window.refused = 0;
      }
      if (now >= window.startedAt + this.#windowMs) ended.push(client);
    }
    for (const client of ended) this.#windows.delete(client);
    if (refused > 0 || this.#unlogged > 0) {
      clients.sort((a, b) => b.refused - a.refused);
      this.logger.warn(`${this.subject} not logged one by one`, {
        refused,
        unlogged_failures: this.#unlogged,
        clients: clients.length,
        top_clients: clients.slice(0, TOP_CLIENTS),
      });
    }
    this.#refusedForgotten = 0;
    this.#unlogged = 0;
    if (this.#windows.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** Reports what is pending and stops the periodic report. */
  close(): void {
    this.sweep();
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #startReports(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => this.sweep(), this.#windowMs);
    this.#timer.unref?.();
  }
}

/** An allowance of log lines per wall-clock second. */
class PerSecond {
  #second = -1;
  #used = 0;

  /** Whether one more line fits this second's allowance (and takes it). */
  take(now: number, limit: number): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#used = 0;
    }
    if (this.#used >= limit) return false;
    this.#used++;
    return true;
  }
}

/**
 * The address a budget belongs to: an IPv4 address as is, an IPv6 address by its /64 prefix
 * (`2001:db8:1:2::/64`), an IPv4-mapped IPv6 address as the IPv4 address.
 */
export function clientKey(address: string): string {
  if (!address.includes(":")) return address;
  const lower = address.toLowerCase().split("%")[0] as string;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  if (mapped) return mapped[1] as string;
  const [head = "", tail] = lower.split("::");
  const front = head === "" ? [] : head.split(":");
  const back = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups =
    tail === undefined ? front : [...front, ...Array(Math.max(0, 8 - front.length - back.length)).fill("0"), ...back];
  const prefix = groups.slice(0, 4).map((group) => Number.parseInt(group || "0", 16).toString(16));
  while (prefix.length < 4) prefix.push("0");
  return `${prefix.join(":")}::/64`;
}
