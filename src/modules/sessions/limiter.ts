import type { Logger } from "../../http/logging";
import { sha256Hex } from "../auth/hash";
import { clientKey } from "../auth/failure-limiter";
import type { StoredEmailLimit } from "./stored-email-limit";

export interface SignInLimits {
  /** Failures per email, from any address (SPEC §10): what guessing one account's password needs. */
  maxFailuresPerEmail: number;
  /** Failures per (address, email) pair, and per (address, session) pair for a password change from a session. */
  maxFailuresPerPair: number;
  /**
   * Failures per address alone, on any emails (config auth.sign_in.max_failures_per_address): a
   * spraying limit, much higher than the others, so one address that many people share (a
   * reverse proxy, a NAT) cannot cheaply lock everyone behind it out.
   */
  maxFailuresPerAddress: number;
  windowSeconds: number;
  /** Counters kept per table (addresses, emails, pairs); see CounterTable for what is never forgotten. */
  maxTracked: number;
}

/** SPEC §10: 5 failed sign-ins in 15 minutes per email (and per address for that email). */
export const SIGN_IN_LIMITS: SignInLimits = {
  maxFailuresPerEmail: 5,
  maxFailuresPerPair: 5,
  maxFailuresPerAddress: 100,
  windowSeconds: 15 * 60,
  maxTracked: 100_000,
};

interface Counter {
  /** When the current window began: its first failure (ms). */
  startedAt: number;
  failures: number;
  /** Attempts begun and not yet finished: they count, so a burst cannot outrun the limit. */
  pending: number;
  /** Whether "limit reached" was logged for this window. */
  warned: boolean;
}

/** One attempt that may go ahead; finish it exactly once (a promise when the count is in the store). */
export interface SignInAttempt {
  failed(): void | Promise<void>;
  succeeded(): void | Promise<void>;
}

export type SignInAdmission = { attempt: SignInAttempt } | { retryAfterSeconds: number };

type TableName = "address" | "email" | "pair";

/**
 * One kind of counter (addresses, emails or pairs), bounded to `max` counters without ever
 * forgetting one that matters: a counter at its limit within its window, or with an attempt in
 * flight, is never evicted. Counters below their limit are kept in least-recently-used order
 * (`open`) and are what room is made from; counters at their limit wait in `full`, in the order
 * they reached it, until their window ends. When neither yields room, a new key is refused
 * (fail closed) rather than a live limit forgotten.
 */
class CounterTable {
  readonly #open = new Map<string, Counter>();
  readonly #full = new Map<string, Counter>();
  /** When "table full" was last logged (ms): at most once a window. */
  #warnedFullAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly name: TableName,
    readonly limit: number,
    private readonly windowMs: number,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.#open.size + this.#full.size;
  }

  /** The key's counter, its failures forgotten when its window has ended; never creates one. */
  find(key: string, now: number): Counter | undefined {
    const open = this.#open.get(key);
    if (open !== undefined) {
      if (open.failures > 0 && this.#ended(open, now)) this.#reset(open);
      return open;
    }
    const full = this.#full.get(key);
    if (full === undefined) return undefined;
    if (this.#ended(full, now)) {
      this.#reset(full);
      this.#full.delete(key);
      this.#open.set(key, full);
    }
    return full;
  }

  /** Seconds until this counter admits an attempt again; 0 when it admits one now. */
  wait(counter: Counter, now: number): number {
    if (counter.failures + counter.pending < this.limit) return 0;
    // Full of failures: until the window ends. Full of attempts in flight: they may yet
    // succeed, so how long is not known; a moment.
    if (counter.failures < this.limit) return 1;
    return Math.max(1, Math.ceil((counter.startedAt + this.windowMs - now) / 1000));
  }

  /**
   * Whether a new counter fits, making room when the table is full: first from counters at
   * their limit whose window has ended, then from the least recently used counter below its
   * limit with nothing in flight. False when neither yields room.
   */
  makeRoom(now: number): boolean {
    if (this.size < this.max) return true;
    for (const [key, counter] of this.#full) {
      if (!this.#ended(counter, now) || counter.pending > 0) break;
      this.#full.delete(key);
      if (this.size < this.max) return true;
    }
    // Counters with an attempt in flight go to the back; the scan is bounded either way.
    let scanned = 0;
    for (const [key, counter] of this.#open) {
      if (counter.pending === 0) {
        this.#open.delete(key);
        return true;
      }
      this.#open.delete(key);
      this.#open.set(key, counter);
      if (++scanned >= 16) break;
    }
    return false;
  }

  /** Seconds a key refused for want of room waits: until the first counter at its limit ends, else a moment. */
  roomWait(now: number): number {
    for (const counter of this.#full.values()) {
      return Math.max(1, Math.ceil((counter.startedAt + this.windowMs - now) / 1000));
    }
    return 1;
  }

  /** Whether to log that the table is full (once a window). */
  warnFull(now: number): boolean {
    if (now < this.#warnedFullAt + this.windowMs) return false;
    this.#warnedFullAt = now;
    return true;
  }

  /** A new, empty counter (call makeRoom first). */
  create(key: string, now: number): Counter {
    const counter: Counter = { startedAt: now, failures: 0, pending: 0, warned: false };
    this.#open.set(key, counter);
    return counter;
  }

  /** Marks the counter as just used (least recently used is forgotten first). */
  touch(key: string, counter: Counter): void {
    if (this.#open.get(key) !== counter) return;
    this.#open.delete(key);
    this.#open.set(key, counter);
  }

  /** One failure; a counter that reaches its limit moves to `full`, where it is never evicted. */
  fail(key: string, counter: Counter, now: number): void {
    if (counter.failures === 0 || this.#ended(counter, now)) {
      this.#reset(counter);
      counter.startedAt = now;
    }
    counter.failures++;
    if (counter.failures >= this.limit && this.#open.get(key) === counter) {
      this.#open.delete(key);
      this.#full.set(key, counter);
    } else this.touch(key, counter);
  }

  #ended(counter: Counter, now: number): boolean {
    return now >= counter.startedAt + this.windowMs;
  }

  #reset(counter: Counter): void {
    counter.failures = 0;
    counter.warned = false;
  }
}

/** One key of one table that an attempt counts against, and what to log about it. */
interface Slot {
  table: CounterTable;
  key: string;
  /** Names the key in a warning: an address, an email's digest, a session id. */
  fields: Record<string, string>;
}

/**
 * Failed sign-ins (a wrong password, an unknown email, a wrong current password when changing
 * it), each counted in fixed windows that start at their first failure:
 *
 * - per email, in any letter case, from any address: `maxFailuresPerEmail` (SPEC §10: 5 in 15
 *   minutes). What a guesser of one account's password needs, so it refuses a correct password
 *   too (or it would not hold a guesser back): 5 failures on someone's email lock that person
 *   out for the window, the lockout SPEC accepts;
 * - per (address, email) pair: `maxFailuresPerPair` (5);
 * - per address alone (IPv6 by /64, as the failed-credential limit counts), on any emails:
 *   `maxFailuresPerAddress` (100), a spraying limit. It also refuses correct passwords, so it is
 *   high: failures for made-up emails from an address that many people share (a reverse proxy,
 *   a NAT) must not cheaply lock everyone behind it out. (The failed-credential limit can
 *   accept a valid key from a blocked address; a password cannot be accepted from a blocked
 *   address, as that would be the very guess the limit is for.)
 *
 * Once any of them is at its limit, every attempt on it is refused until its window ends,
 * before any password is checked; attempts in flight count as failures until they finish. A
 * refused attempt counts nothing and creates no counter. A success clears nothing: signing
 * into an account of one's own must not buy more guesses at others, and one address's success
 * never touches another's count. Unknown emails are counted like known ones, so a 429 says
 * nothing about whether an account exists.
 *
 * A password change from a session counts against (address, session) alone, not the email: a
 * guesser who locked the email cannot keep its owner from changing it, and only the session's
 * holder can add to that count. Sign-up counts every attempt against its address, whatever the
 * outcome (each costs a hash).
 *
 * Kept in memory, per process: a restart forgets the counts. With several instances on one
 * PostgreSQL database (SPEC §15) the per-email count is kept in the store instead
 * (StoredEmailLimit, through `admit`), so a guesser gets 5 tries in all, not 5 per instance; the
 * address and pair counts stay per instance. Each table holds at most
 * `maxTracked` counters, never forgetting one at its limit (see CounterTable). Warnings name an
 * email by the first 12 hex digits of the SHA-256 of its normalised form, never as typed (a
 * password typed into the email field must not reach the log). The clock is injectable.
 */
export class SignInLimiter {
  readonly #addresses: CounterTable;
  readonly #emails: CounterTable;
  readonly #pairs: CounterTable;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    readonly limits: SignInLimits = SIGN_IN_LIMITS,
    /** The per-email count in the store, shared by every instance on it; null: in memory. */
    private readonly storedEmails: StoredEmailLimit | null = null,
  ) {
    const windowMs = limits.windowSeconds * 1000;
    this.#addresses = new CounterTable("address", limits.maxFailuresPerAddress, windowMs, limits.maxTracked);
    this.#emails = new CounterTable("email", limits.maxFailuresPerEmail, windowMs, limits.maxTracked);
    this.#pairs = new CounterTable("pair", limits.maxFailuresPerPair, windowMs, limits.maxTracked);
  }

  /**
   * Admits one sign-in attempt for `email` from `address` (null: unknown, only the email
   * counts), or says how many seconds to wait. Synchronous, so concurrent attempts are counted
   * in order. Every count in this process's memory: `admit` is what a server calls.
   */
  begin(address: string | null, email: string): SignInAdmission {
    const digest = emailDigest(email);
    return this.#admit([this.#emailSlot(digest), ...this.#addressSlots(address, digest)], false);
  }

  /**
   * `begin`, with the per-email count in the store when there is one (StoredEmailLimit): the
   * address's counts first, in memory and in order, then the email's in the store.
   */
  async admit(address: string | null, email: string): Promise<SignInAdmission> {
    const stored = this.storedEmails;
    if (stored === null) return this.begin(address, email);
    const digest = emailDigest(email);
    const local = this.#admit(this.#addressSlots(address, digest), false);
    if ("retryAfterSeconds" in local) return local;
    let admission: Awaited<ReturnType<StoredEmailLimit["admit"]>>;
    try {
      admission = await stored.admit(digest, this.now());
    } catch (error) {
      local.attempt.succeeded();
      throw error;
    }
    if ("retryAfterSeconds" in admission) {
      local.attempt.succeeded();
      return admission;
    }
    let finished = false;
    const finish = async (failed: boolean) => {
      if (finished) return;
      finished = true;
      if (failed) local.attempt.failed();
      else local.attempt.succeeded();
      const at = this.now();
      const counted = await stored.finish(admission.attemptId, digest, failed, at);
      // Logged by the instance that counted the failure reaching the limit, once a window.
      if (counted?.failures === stored.limit) {
        this.logger.warn("sign-in limit reached", {
          limit: "email",
          email_sha256: digest.slice(0, 12),
          max_failures: stored.limit,
          window_seconds: this.limits.windowSeconds,
          retry_after_seconds: stored.secondsLeft(counted.windowStartedAt, at),
        });
      }
    };
    return { attempt: { failed: () => finish(true), succeeded: () => finish(false) } };
  }

  #emailSlot(digest: string): Slot {
    return { table: this.#emails, key: digest, fields: { email_sha256: digest.slice(0, 12) } };
  }

  /** The counts an attempt from `address` on the email of `digest` adds to besides the email's own. */
  #addressSlots(address: string | null, digest: string): Slot[] {
    if (address === null) return [];
    const client = clientKey(address);
    return [
      { table: this.#addresses, key: client, fields: { address: client } },
      {
        table: this.#pairs,
        key: `${client} email:${digest}`,
        fields: { address: client, email_sha256: digest.slice(0, 12) },
      },
    ];
  }

  /**
   * Admits one password change by the holder of a session (their current password proven
   * again), counted against (address, session) only.
   */
  beginForSession(address: string | null, sessionId: string): SignInAdmission {
    const client = address === null ? "unknown" : clientKey(address);
    return this.#admit(
      [
        {
          table: this.#pairs,
          key: `${client} session:${sessionId}`,
          fields: { address: client, session_id: sessionId },
        },
      ],
      false,
    );
  }

  /**
   * Admits one sign-up from `address`, counted at once against the address's spraying limit
   * whatever its outcome (each sign-up costs a hash). Unknown address: not limited.
   */
  beginSignUp(address: string | null): SignInAdmission {
    if (address === null) return { attempt: { failed() {}, succeeded() {} } };
    const client = clientKey(address);
    return this.#admit([{ table: this.#addresses, key: client, fields: { address: client } }], true);
  }

  /** How many counters each table holds (tests, diagnostics). */
  tracked(): { addresses: number; emails: number; pairs: number } {
    return { addresses: this.#addresses.size, emails: this.#emails.size, pairs: this.#pairs.size };
  }

  #admit(slots: Slot[], countNow: boolean): SignInAdmission {
    const now = this.now();
    const found = slots.map((slot) => slot.table.find(slot.key, now));
    let wait = 0;
    found.forEach((counter, i) => {
      if (counter === undefined) return;
      const slot = slots[i] as Slot;
      const seconds = slot.table.wait(counter, now);
      if (seconds === 0) return;
      wait = Math.max(wait, seconds);
      if (!counter.warned && counter.failures >= slot.table.limit) {
        counter.warned = true;
        this.logger.warn("sign-in limit reached", {
          limit: slot.table.name,
          ...slot.fields,
          max_failures: slot.table.limit,
          window_seconds: this.limits.windowSeconds,
          retry_after_seconds: seconds,
        });
      }
    });
    // Refused: nothing is counted and no counter is made, so a flood of refusals costs no memory.
    if (wait > 0) return { retryAfterSeconds: wait };
    for (const [i, slot] of slots.entries()) {
      if (found[i] !== undefined || slot.table.makeRoom(now)) continue;
      const seconds = slot.table.roomWait(now);
      if (slot.table.warnFull(now)) {
        this.logger.warn("sign-in limit table full", {
          limit: slot.table.name,
          max_tracked: this.limits.maxTracked,
          retry_after_seconds: seconds,
        });
      }
      wait = Math.max(wait, seconds);
    }
    if (wait > 0) return { retryAfterSeconds: wait };
    const counters = slots.map((slot, i) => {
      const counter = found[i] ?? slot.table.create(slot.key, now);
      slot.table.touch(slot.key, counter);
      return counter;
    });
    if (countNow) {
      slots.forEach((slot, i) => slot.table.fail(slot.key, counters[i] as Counter, now));
      return { attempt: { failed() {}, succeeded() {} } };
    }
    for (const counter of counters) counter.pending++;
    let finished = false;
    const finish = (failed: boolean) => {
      if (finished) return;
      finished = true;
      const at = this.now();
      slots.forEach((slot, i) => {
        // Never evicted meanwhile: a counter with an attempt in flight is kept.
        const counter = counters[i] as Counter;
        counter.pending = Math.max(0, counter.pending - 1);
        if (failed) slot.table.fail(slot.key, counter, at);
      });
    };
    return { attempt: { failed: () => finish(true), succeeded: () => finish(false) } };
  }
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** SHA-256 hex of the normalised email: how the limiter keys, and (its first 12 digits) logs, an email. */
export function emailDigest(email: string): string {
  return sha256Hex(normalizeEmail(email));
}
