import { PostgresStore, SqliteStore, type Store } from "../../db";
import type { Subscription } from "../../db/postgres/store";
import type { Logger } from "../../http/logging";

/** How often, at most, verification asks the store whether credentials changed elsewhere. */
export const CHANGE_CHECK_INTERVAL_MS = 1;

/** What to drop when the store says credentials changed. */
export interface CredentialChangeHandlers {
  /** A key, an account or a tenant changed: every cache built on them. */
  keys(): void;
  /** Only sessions changed (a sign-out, a password change): the session cache alone. */
  sessions(): void;
  /**
   * An integration secret changed through another instance (PostgreSQL only: on a SQLite file
   * the server is the only writer): reload the webhook signing secrets. Rejects when they could
   * not be read, so that the watch asks again.
   */
  integrationSecrets(): Promise<void>;
}

/**
 * Sees credential changes made by another process on the same store: `tollgate keys revoke`
 * while the server runs, or another instance on the same PostgreSQL database. The server evicts
 * what it changes itself at once; what others change it learns from two counters that triggers
 * bump: the credential generation for keys and accounts (migration 005), the session generation
 * for sessions (012). When one has moved, the caches built on it are dropped whole: changes from
 * outside are rare, and refilling costs one lookup per key. A sign-out leaves the key cache be.
 *
 * On SQLite the counters are read on the request's path. Reading them is a read transaction
 * (about 2.5 µs alone, 17 µs timed inside a loaded server; most of it fcntl calls), too much for
 * every request, so they are read at most once per interval (about 1 µs a request on average
 * under load): a change made elsewhere is seen within a millisecond. The server's own changes
 * bump them too, so they also drop the caches once; that costs a refill, never a stale answer.
 *
 * On PostgreSQL the same triggers publish on a channel (migration 017) that every instance
 * listens to (PostgresChanges): the caches are dropped when the notification arrives, and the
 * counters are only polled slowly, as a backstop.
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
    logger: Logger,
    timing: ChangeWatchTiming = {},
  ): Promise<CredentialChangeWatch> {
    const source =
      store instanceof PostgresStore
        ? await PostgresChanges.start(store, onChange, logger, timing)
        : sqliteSourceOf(store);
    return new CredentialChangeWatch(source, onChange, timing.checkIntervalMs ?? CHANGE_CHECK_INTERVAL_MS);
  }

  /**
   * Called before each verification. While changes made elsewhere could go unheard (the
   * listening connection is down), every call drops the caches: what follows is looked up in
   * the store, as fresh as the request.
   */
  check(now = performance.now()): void {
    if (!this.source.hearing) {
      this.onChange.keys();
      return;
    }
    if (now - this.#checkedAt < this.intervalMs) return;
    this.#checkedAt = now;
    const generations = this.source.latest();
    const { credentials, sessions } = this.#seen;
    if (generations.credentials === credentials && generations.sessions === sessions) return;
    this.#seen = generations;
    if (generations.credentials !== credentials) this.onChange.keys();
    else this.onChange.sessions();
  }

  close(): Promise<void> {
    return this.source.close();
  }
}

export interface Generations {
  credentials: number;
  sessions: number;
}

const GENERATIONS = `SELECT (SELECT value FROM credential_generation WHERE id = 1) AS credentials,
  (SELECT value FROM session_generation WHERE id = 1) AS sessions`;

/** Where the watch reads the counters from, synchronously, on the request's path. */
interface GenerationSource {
  latest(): Generations;
  /** False while a change made elsewhere could go unheard: the caches must not be trusted. */
  readonly hearing: boolean;
  close(): Promise<void>;
}

/** The channel migration 017's triggers publish on; the payload names the counter that moved. */
export const CHANGES_CHANNEL = "tollgate_changes";

/** The payloads on CHANGES_CHANNEL (017, 018); any other means the credential counter. */
const SESSIONS_CHANGED = "sessions";
const INTEGRATION_SECRETS_CHANGED = "integration_secrets";

/** PostgreSQL's counters: the two every engine has, and integration secrets' (018). */
const POSTGRES_GENERATIONS = `SELECT (SELECT value FROM credential_generation WHERE id = 1) AS credentials,
  (SELECT value FROM session_generation WHERE id = 1) AS sessions,
  (SELECT value FROM integration_secret_generation WHERE id = 1) AS integration_secrets`;

interface PostgresGenerations extends Generations {
  integration_secrets: number;
}

/**
 * How often a PostgreSQL store's counters are polled, behind the notifications: a change is
 * seen by then even if its notification never came (a connection that died without a word,
 * a half-open socket that the operating system has not noticed yet).
 */
export const POSTGRES_POLL_MS = 5_000;

/** How often the watch looks; the defaults in production, other values where a test needs them. */
export interface ChangeWatchTiming {
  /** At most this often, verification compares the counters (CHANGE_CHECK_INTERVAL_MS). */
  checkIntervalMs?: number;
  /**
   * On PostgreSQL, how often the counters are read in the background (POSTGRES_POLL_MS);
   * Infinity never reads them again.
   */
  pollMs?: number;
  /**
   * On PostgreSQL, whether to listen for other instances' changes (default true). False only
   * for a Tollgate alone on its database (tests): it holds no connection open for it.
   */
  listen?: boolean;
}

function sqliteSourceOf(store: Store): GenerationSource {
  if (!(store instanceof SqliteStore)) throw new Error(`no change watch for the ${store.engine} store`);
  return {
    latest: () => store.readNow<Generations>(GENERATIONS) as Generations,
    hearing: true,
    close: async () => {},
  };
}

/**
 * PostgreSQL's changes, heard on a listening connection of this instance's own
 * (PostgresStore.listen). A notification drops the caches at once, in its callback. When that
 * connection is lost, notifications sent until Bun has reopened it are lost too (it retries
 * after a few hundred milliseconds, then backs off): until PostgreSQL acknowledges the LISTEN
 * again the caches are not trusted (`hearing` is false), and once it has, they are dropped, so
 * nothing read before or during the gap is served from them.
 */
class PostgresChanges implements GenerationSource {
  #latest: Generations;
  /** The integration secrets' counter as of the last reload of the signing secrets that succeeded. */
  #integrationSecretsLoaded: number;
  #hearing: boolean;
  /** When the listening connection was lost, while it is. */
  #lostAt: number | null = null;
  #subscription: Subscription | null = null;
  #poll: ReturnType<typeof setInterval> | null = null;

  private constructor(latest: PostgresGenerations, listening: boolean) {
    this.#latest = latest;
    this.#integrationSecretsLoaded = latest.integration_secrets;
    // A Tollgate that does not listen is alone on its database by its caller's word.
    this.#hearing = !listening;
  }

  static async start(
    store: PostgresStore,
    onChange: CredentialChangeHandlers,
    logger: Logger,
    timing: ChangeWatchTiming,
  ): Promise<PostgresChanges> {
    const listening = timing.listen ?? true;
    const changes = new PostgresChanges(
      (await store.get<PostgresGenerations>(POSTGRES_GENERATIONS)) as PostgresGenerations,
      listening,
    );
    const reloadSigningSecrets = (generation?: number) =>
      onChange.integrationSecrets().then(
        () => {
          if (generation !== undefined) changes.#integrationSecretsLoaded = generation;
        },
        (error: Error) =>
          logger.warn("could not reload the webhook signing secrets; keeping those loaded until the next try", {
            error: error.message,
          }),
      );
    if (listening) {
      changes.#subscription = await store.listen(CHANGES_CHANNEL, {
        notified: (payload) => {
          if (payload === SESSIONS_CHANGED) onChange.sessions();
          else if (payload === INTEGRATION_SECRETS_CHANGED) void reloadSigningSecrets();
          else onChange.keys();
        },
        listening: () => {
          changes.#hearing = true;
          onChange.keys();
          // The first LISTEN is acknowledged before the start loads the signing secrets.
          if (changes.#lostAt === null) return;
          void reloadSigningSecrets();
          logger.info("hearing credential changes again", {
            deaf_ms: Math.round(performance.now() - changes.#lostAt),
          });
          changes.#lostAt = null;
        },
        lost: (error) => {
          if (!changes.#hearing) return;
          changes.#hearing = false;
          changes.#lostAt = performance.now();
          logger.warn("not hearing credential changes; verifying every credential against the store until it resumes", {
            error: error?.message ?? "connection closed",
          });
        },
      });
    }
    const pollMs = timing.pollMs ?? POSTGRES_POLL_MS;
    if (pollMs !== Number.POSITIVE_INFINITY) {
      changes.#poll = setInterval(() => {
        store.get<PostgresGenerations>(POSTGRES_GENERATIONS).then(
          (read) => {
            if (!read) return;
            changes.#latest = read;
            if (read.integration_secrets !== changes.#integrationSecretsLoaded) {
              void reloadSigningSecrets(read.integration_secrets);
            }
          },
          // A failed poll keeps the last answer; the next one tries again.
          () => {},
        );
      }, pollMs);
      changes.#poll.unref();
    }
    return changes;
  }

  get hearing(): boolean {
    return this.#hearing;
  }

  latest(): Generations {
    return this.#latest;
  }

  async close(): Promise<void> {
    if (this.#poll !== null) clearInterval(this.#poll);
    await this.#subscription?.close();
  }
}
