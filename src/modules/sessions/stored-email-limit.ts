import { randomUUID } from "node:crypto";
import type { Queries, Store } from "../../db";

/** An attempt begun in the store (its row's id), or how many seconds to wait. */
export type StoredAdmission = { attemptId: string } | { retryAfterSeconds: number };

/**
 * An attempt row older than this no longer counts: the instance that began it died before
 * finishing it (a sign-in takes a hash check, well under a second).
 */
const ATTEMPT_LEASE_MS = 60_000;

/**
 * The per-email sign-in limit (SPEC §10) kept in the store, for several instances on one
 * PostgreSQL database (SPEC §15): each failure is counted where every instance reads it, so
 * five guesses spread over two instances lock the email as five on one do. The same rules as
 * SignInLimiter's email counter: a fixed window from its first failure, attempts in flight
 * counted until they finish. Each step is one serializable transaction, so two instances
 * admitting the fifth attempt at once cannot both go ahead: one is retried and finds the other's.
 */
export class StoredEmailLimit {
  readonly #windowMs: number;

  constructor(
    private readonly db: Store,
    readonly limit: number,
    windowSeconds: number,
  ) {
    this.#windowMs = windowSeconds * 1000;
  }

  /** Admits one attempt on the email of SHA-256 `digest` at `now` (ms), or says how long to wait. */
  admit(digest: string, now: number): Promise<StoredAdmission> {
    return this.db.transaction(async (tx) => {
      const failures = await this.#failuresInWindow(tx, digest, now);
      if (failures !== null && failures.count >= this.limit) {
        return { retryAfterSeconds: this.secondsLeft(failures.startedAt, now) };
      }
      const pending =
        (await tx.value<number>(
          "SELECT count(*) FROM sign_in_email_attempts WHERE email_sha256 = ? AND began_at > ?",
          digest,
          now - ATTEMPT_LEASE_MS,
        )) ?? 0;
      // Full of attempts in flight: they may yet succeed, so how long is not known; a moment.
      if ((failures?.count ?? 0) + pending >= this.limit) return { retryAfterSeconds: 1 };
      const attemptId = randomUUID();
      await tx.run(
        "INSERT INTO sign_in_email_attempts (id, email_sha256, began_at) VALUES (?, ?, ?)",
        attemptId,
        digest,
        now,
      );
      return { attemptId };
    });
  }

  /**
   * Ends an admitted attempt; a failure is counted in the email's window (a new window when the
   * last one has ended). Answers the email's failures in that window, and when it began (null
   * for a success, which counts nothing).
   */
  finish(
    attemptId: string,
    digest: string,
    failed: boolean,
    now: number,
  ): Promise<{ failures: number; windowStartedAt: number } | null> {
    return this.db.transaction(async (tx) => {
      await tx.run(
        "DELETE FROM sign_in_email_attempts WHERE id = ? OR began_at <= ?",
        attemptId,
        now - ATTEMPT_LEASE_MS,
      );
      if (!failed) return null;
      // Windows that have ended count nothing: they go, so emails made up by a sprayer do not pile up.
      await tx.run(
        "DELETE FROM sign_in_email_failures WHERE window_started_at <= ? AND email_sha256 <> ?",
        now - this.#windowMs,
        digest,
      );
      const counted = await tx.get<{ failures: number; window_started_at: number }>(
        `INSERT INTO sign_in_email_failures (email_sha256, window_started_at, failures) VALUES (@digest, @now, 1)
         ON CONFLICT (email_sha256) DO UPDATE SET
           failures = CASE WHEN sign_in_email_failures.window_started_at <= @ended THEN 1
                      ELSE sign_in_email_failures.failures + 1 END,
           window_started_at = CASE WHEN sign_in_email_failures.window_started_at <= @ended THEN @now
                      ELSE sign_in_email_failures.window_started_at END
         RETURNING failures, window_started_at`,
        { digest, now, ended: now - this.#windowMs },
      );
      return { failures: counted?.failures ?? 1, windowStartedAt: counted?.window_started_at ?? now };
    });
  }

  /** Seconds from `now` until a window that began at `startedAt` ends. */
  secondsLeft(startedAt: number, now: number): number {
    return Math.max(1, Math.ceil((startedAt + this.#windowMs - now) / 1000));
  }

  async #failuresInWindow(
    tx: Queries,
    digest: string,
    now: number,
  ): Promise<{ count: number; startedAt: number } | null> {
    const row = await tx.get<{ window_started_at: number; failures: number }>(
      "SELECT window_started_at, failures FROM sign_in_email_failures WHERE email_sha256 = ?",
      digest,
    );
    if (row === undefined || row.window_started_at + this.#windowMs <= now) return null;
    return { count: row.failures, startedAt: row.window_started_at };
  }
}
