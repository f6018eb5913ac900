import { SqliteStore, type Store } from "../../db";

/** How often, at most, verification asks the store whether credentials changed elsewhere. */
export const CHANGE_CHECK_INTERVAL_MS = 1;

/** What to drop when the store says credentials changed. */
export interface CredentialChangeHandlers {
  /** A key, an account or a tenant changed: every cache built on them. */
  keys(): void;
  /** Only sessions changed (a sign-out, a password change): the session cache alone. */
  sessions(): void;
}

/**
 * Sees credential changes made by another process on the same store, such as
 * `tollgate keys revoke` while the server runs. The server evicts what it changes itself at
 * once; what others change it learns from two counters that triggers bump: the credential
 * generation for keys and accounts (migration 005), the session generation for sessions
 * (migration 012). When one has moved, the caches built on it are dropped whole: changes from
 * outside are rare, and refilling costs one lookup per key. A sign-out leaves the key cache be.
 *
 * Reading the counters is a read transaction (about 2.5 µs alone, 17 µs timed inside a loaded
 * server; most of it fcntl calls), too much for every request, so they are read at most once
 * per interval (about 1 µs a request on average under load): a change made elsewhere
 * is seen within a millisecond. The server's own changes bump them too, so they also drop the
 * caches once; that costs a refill, never a stale answer.
 */
export class CredentialChangeWatch {
  #seen: Generations;
  #checkedAt = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly source: GenerationSource,
    private readonly onChange: CredentialChangeHandlers,
    private readonly intervalMs: number,
  ) {
    this.#seen = source.latest();
  }

  /** A watch on `store`'s counters, which starts from their values now. */
  static async start(
    store: Store,
    onChange: CredentialChangeHandlers,
    timing: ChangeWatchTiming = {},
  ): Promise<CredentialChangeWatch> {
    const source = await generationSourceOf(store, timing.pollMs ?? POSTGRES_POLL_MS);
    return new CredentialChangeWatch(source, onChange, timing.checkIntervalMs ?? CHANGE_CHECK_INTERVAL_MS);
  }

  /** Called before each verification. */
  check(now = performance.now()): void {
    if (now - this.#checkedAt < this.intervalMs) return;
    this.#checkedAt = now;
    const generations = this.source.latest();
    const { credentials, sessions } = this.#seen;
    if (generations.credentials === credentials && generations.sessions === sessions) return;
    this.#seen = generations;
    if (generations.credentials !== credentials) this.onChange.keys();
    else this.onChange.sessions();
  }

  close(): void {
    this.source.close();
  }
}

export interface Generations {
  credentials: number;
  sessions: number;
}

const GENERATIONS = `SELECT (SELECT value FROM credential_generation WHERE id = 1) AS credentials,
  (SELECT value FROM session_generation WHERE id = 1) AS sessions`;

/**
 * Where the watch reads the counters from, synchronously, on the request's path: a SQLite file
 * is read on the spot (a local read, microseconds); PostgreSQL is a network round trip away, so
 * there `latest` is what a poll in the background read last.
 */
interface GenerationSource {
  latest(): Generations;
  close(): void;
}

/** How often a PostgreSQL store's counters are polled. */
export const POSTGRES_POLL_MS = 250;

/** How often the watch looks; the defaults in production, other values where a test needs them. */
export interface ChangeWatchTiming {
  /** At most this often, verification compares the counters (CHANGE_CHECK_INTERVAL_MS). */
  checkIntervalMs?: number;
  /**
   * On PostgreSQL, how often the counters are read in the background (POSTGRES_POLL_MS);
   * Infinity never reads them again, for a Tollgate alone on its database.
   */
  pollMs?: number;
}

async function generationSourceOf(store: Store, pollMs: number): Promise<GenerationSource> {
  if (store instanceof SqliteStore) {
    return { latest: () => store.readNow<Generations>(GENERATIONS) as Generations, close() {} };
  }
  let latest = (await store.get<Generations>(GENERATIONS)) as Generations;
  if (pollMs === Number.POSITIVE_INFINITY) return { latest: () => latest, close() {} };
  const poll = setInterval(() => {
    store.get<Generations>(GENERATIONS).then(
      (read) => {
        if (read) latest = read;
      },
      // A failed poll keeps the last answer; the next one tries again.
      () => {},
    );
  }, pollMs);
  poll.unref();
  return { latest: () => latest, close: () => clearInterval(poll) };
}
