import { LRUCache } from "lru-cache";
import type { Logger } from "../../http/logging";
import { clientKey } from "../auth/failure-limiter";

/** SPEC §10: 5 failed sign-ins in 15 minutes, per client address and per email. */
export const SIGN_IN_LIMITS = { maxFailures: 5, windowSeconds: 15 * 60, maxTracked: 100_000 };
export type SignInLimits = typeof SIGN_IN_LIMITS;

interface Counter {
  /** When the current window began: the first failure in it (ms). */
  startedAt: number;
  failures: number;
  /** Attempts begun and not yet finished: they count, so a burst cannot outrun the limit. */
  pending: number;
  /** Whether "limit reached" was logged for this window. */
  warned: boolean;
}

/** One attempt that may go ahead; finish it exactly once. */
export interface SignInAttempt {
  failed(): void;
  succeeded(): void;
}

export type SignInAdmission = { attempt: SignInAttempt } | { retryAfterSeconds: number };

/**
 * Failed sign-ins (a wrong password, an unknown email, a wrong current password when changing
 * it) counted per client address (IPv6 by /64, as the failed-credential limit counts) and per
 * email (in any letter case), each in fixed windows that start at their first failure. Once
 * either has `maxFailures` failures in its window, every attempt on it is refused until the
 * window ends, before any password is checked: a correct password too, or the limit would
 * not hold a guesser back. Attempts in flight count as failures until they finish.
 *
 * A success clears nothing: signing into an account of one's own must not buy more guesses at
 * others, and one address's success never touches another's count. Unknown emails are counted
 * like known ones, so a 429 says nothing about whether an account exists.
 *
 * Kept in memory, per process: a restart forgets the counts. At most `maxTracked` addresses
 * and emails are tracked (the least recently used forgotten first). The clock is injectable.
 */
export class SignInLimiter {
  readonly #counters: LRUCache<string, Counter>;
  readonly #windowMs: number;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    readonly limits: SignInLimits = SIGN_IN_LIMITS,
  ) {
    this.#windowMs = limits.windowSeconds * 1000;
    this.#counters = new LRUCache({ max: limits.maxTracked });
  }

  /**
   * Admits one attempt for `email` from `address` (null: unknown, only the email counts), or
   * says how many seconds to wait. Synchronous, so concurrent attempts are counted in order.
   */
  begin(address: string | null, email: string): SignInAdmission {
    const now = this.now();
    const keys = [`email:${normalizeEmail(email)}`];
    if (address !== null) keys.unshift(`address:${clientKey(address)}`);
    const counters = keys.map((key) => this.#current(key, now));
    let wait = 0;
    counters.forEach((counter, i) => {
      if (counter.failures + counter.pending < this.limits.maxFailures) return;
      // Full of failures: until the window ends. Full of attempts in flight: a moment.
      const seconds =
        counter.failures >= this.limits.maxFailures
          ? Math.max(1, Math.ceil((counter.startedAt + this.#windowMs - now) / 1000))
          : 1;
      wait = Math.max(wait, seconds);
      if (!counter.warned && counter.failures >= this.limits.maxFailures) {
        counter.warned = true;
        const [kind, value] = splitKey(keys[i] as string);
        this.logger.warn("sign-in limit reached", {
          [kind]: value,
          max_failures: this.limits.maxFailures,
          window_seconds: this.limits.windowSeconds,
          retry_after_seconds: seconds,
        });
      }
    });
    if (wait > 0) return { retryAfterSeconds: wait };
    for (const counter of counters) counter.pending++;
    let finished = false;
    const finish = (failed: boolean) => {
      if (finished) return;
      finished = true;
      const at = this.now();
      for (const key of keys) {
        // Forgotten meanwhile (a flood evicted it): the failure starts a new count.
        const counter = this.#counters.get(key) ?? this.#current(key, at);
        counter.pending = Math.max(0, counter.pending - 1);
        if (!failed) continue;
        if (counter.failures === 0 || at >= counter.startedAt + this.#windowMs) {
          counter.startedAt = at;
          counter.failures = 0;
          counter.warned = false;
        }
        counter.failures++;
      }
    };
    return { attempt: { failed: () => finish(true), succeeded: () => finish(false) } };
  }

  /** The counter of a key, its failures forgotten when its window has ended. */
  #current(key: string, now: number): Counter {
    let counter = this.#counters.get(key);
    if (counter === undefined) {
      counter = { startedAt: now, failures: 0, pending: 0, warned: false };
      this.#counters.set(key, counter);
    } else if (counter.failures > 0 && now >= counter.startedAt + this.#windowMs) {
      counter.failures = 0;
      counter.warned = false;
    }
    return counter;
  }
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function splitKey(key: string): [string, string] {
  const at = key.indexOf(":");
  return [key.slice(0, at), key.slice(at + 1)];
}
