import { Elysia } from "elysia";
import type { Config } from "./config";
import type { AppContext } from "./context";
import { PostgresStore, SqliteStore, type Store, openStore } from "./db";
import { StoreHealth } from "./db/health";
import type { Migration } from "./db/schema";
import { httpPlugin } from "./http";
import { hostPolicy } from "./http/hosts";
import { Metrics } from "./http/metrics";
import { offlineDocsUi, openApiPlugin } from "./http/openapi-doc";
import { createLogger, type Logger } from "./http/logging";
import { type ChangeWatchTiming, CredentialChangeWatch } from "./modules/auth/change-watch";
import { FailedAuthLimiter } from "./modules/auth/failure-limiter";
import { KeyCache } from "./modules/auth/key-cache";
import { PortalTokens } from "./modules/auth/portal-tokens";
import { Authenticator, type VerifiedKey } from "./modules/auth/service";
import { EnvironmentDirectory } from "./modules/environments/service";
import { authPlugin } from "./modules/auth";
import { auditController } from "./modules/audit";
import { customersController } from "./modules/customers";
import { dashboardController } from "./modules/dashboard";
import { customerPortalController } from "./modules/customers/portal";
import { environmentsController } from "./modules/environments";
import { integrationsController } from "./modules/integrations";
import { leakedKeysController } from "./modules/leaked-keys";
import { openSecretBox, signingSecretsReloader } from "./modules/integrations/start";
import { SigningSecrets } from "./modules/integrations/signing";
import { eventsController } from "./modules/events";
import { StoreReaders } from "./reads/pool";
import { EventWriter } from "./modules/events/writer";
import { insertEventsInto } from "./modules/events/store";
import { healthController, metricsController, storeGuard } from "./modules/operations";
import { portalPageController } from "./modules/portal-page";
import { rbacController } from "./modules/rbac";
import { secretsController } from "./modules/secrets";
import { verifyController } from "./modules/verify";
import { FORWARD_AUTH_PATH, forwardAuthController } from "./modules/forward-auth";
import { LastUsedRecorder } from "./modules/secrets/last-used";
import { findVerifiableKey } from "./modules/secrets/store";
import { SIGN_IN_LIMITS, SignInLimiter } from "./modules/sessions/limiter";
import { StoredEmailLimit } from "./modules/sessions/stored-email-limit";
import { type PasswordHasher, Passwords } from "./modules/sessions/passwords";
import { findVerifiableSession } from "./modules/sessions/store";
import { signInController } from "./modules/sign-in";
import { tenantsController } from "./modules/tenants";
import { webhooksController } from "./modules/webhooks";
import { usersController } from "./modules/users";
import { ensureConfigKeyPrincipals } from "./modules/users/bootstrap";
import { ProfileCache } from "./modules/users/profile-cache";
import { roleCatalogOf } from "./modules/rbac/service";
import { Limiter } from "./modules/limits/gate";
import type { CreditLedger } from "./modules/limits/ledger";
import { BufferedCreditLedger } from "./modules/limits/ledger-buffered";
import { StoredCreditLedger } from "./modules/limits/ledger-stored";
import { RateLimitWindows } from "./modules/limits/windows";

// Resolved from this file, which sits at the root of the source tree: `bun build --compile`
// keeps that layout for the thread entrypoints, listed beside main.ts in the build.
const WRITER_THREAD_ENTRY = new URL("./modules/events/writer-thread.ts", import.meta.url);
const READER_THREAD_ENTRY = new URL("./reads/thread.ts", import.meta.url);
/** Reads (event queries, pages of lists) that can run at once off the main thread; more wait their turn. */
const READER_THREADS = 2;

export interface CreateAppOptions {
  config: Config;
  /** An open store; when absent, the one the config names is opened (src/db, openStore). */
  store?: Store;
  logger?: Logger;
  /** The client address of a request (default: the listening server's peer address; tests inject one). */
  clientAddress?: (request: Request) => string | null;
  /** The clock of the failed-authentication, sign-in and rate limits and of credit refills (tests inject one). */
  now?: () => number;
  /** How often credential changes made elsewhere are looked for (default: change-watch.ts; tests inject). */
  credentialChanges?: ChangeWatchTiming;
  /** Hashes and checks passwords (default: argon2id at Bun's default cost; tests inject one). */
  passwords?: PasswordHasher;
}

export interface Tollgate {
  app: ReturnType<typeof buildApp>;
  context: AppContext;
  /** The migrations this start applied (none when the store was up to date). */
  migrationsApplied: Migration[];
  /** Commits what is pending and closes the store. */
  close(): Promise<void>;
}

/** Opens and migrates the store, creates what config keys point to, and wires every module. */
export async function createTollgate(options: CreateAppOptions): Promise<Tollgate> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logging.level);
  const db = options.store ?? openStore(config);
  const migrationsApplied = await db.migrate();
  await ensureConfigKeyPrincipals(db, config);
  // Before anything is served: a wrong master key stops the start here.
  const integrationSecrets = await openSecretBox(db, config);
  const signingSecrets = new SigningSecrets();
  const loadSigningSecrets = signingSecretsReloader({ db, box: integrationSecrets, logger }, signingSecrets);

  const keyCache = new KeyCache<VerifiedKey>({
    size: config.auth.api_key.cache_size,
    negativeSize: config.auth.api_key.negative_cache_size,
  });
  // Sessions have a cache of their own: a token is only ever looked up where it was presented.
  const sessionCache = new KeyCache<VerifiedKey>({
    size: config.auth.api_key.cache_size,
    negativeSize: config.auth.api_key.negative_cache_size,
  });
  const roles = roleCatalogOf(config);
  const environments = new EnvironmentDirectory(db);
  const lastUsed = new LastUsedRecorder(db, logger);
  const metrics = config.metrics.enabled ? new Metrics(() => keyCache.stats) : null;
  const profiles = new ProfileCache(config.auth.api_key.cache_size);
  const failures = new FailedAuthLimiter(config.auth.failed_attempts, logger, options.now);
  // Every report counts, not only failures; the same per-address windows, with a budget of their own.
  const leakReports = new FailedAuthLimiter(
    {
      ...config.auth.failed_attempts,
      max_failures: config.leaked_keys.max_reports_per_address,
      window_seconds: config.leaked_keys.window_seconds,
    },
    logger,
    options.now,
    "leaked-key report",
  );
  // Bound once the app exists; only asked on a failed credential check. No server (app.handle): null.
  let app: ReturnType<typeof buildApp> | undefined;
  const clientAddress =
    options.clientAddress ?? ((request: Request) => app?.server?.requestIP(request)?.address ?? null);
  const changes = await CredentialChangeWatch.start(
    db,
    {
      keys() {
        keyCache.clear();
        sessionCache.clear();
        profiles.clear();
      },
      sessions: () => sessionCache.clear(),
      integrationSecrets: loadSigningSecrets,
    },
    logger,
    options.credentialChanges,
  );
  // Once the watch listens: what another instance changes from now on is heard, what it changed before is read here.
  await loadSigningSecrets();
  // Rate-limit windows are this process's own (SPEC §15: per instance). Credits are shared by
  // every instance on PostgreSQL, spent there by each request; SQLite's one server holds them.
  const windows = new RateLimitWindows(options.now);
  const credits: CreditLedger =
    db instanceof PostgresStore ? new StoredCreditLedger(db) : new BufferedCreditLedger(db, logger, options.now);
  const limiter = new Limiter(windows, credits, options.now);
  const authenticator = new Authenticator({
    config,
    cache: keyCache,
    environments,
    findKey: (keyHash) => findVerifiableKey(db, keyHash),
    keyUsed: (secretId, at) => lastUsed.note(secretId, at),
    changes,
    recordOutcome: metrics ? (outcome) => metrics.authOutcome(outcome) : undefined,
    failures,
    clientAddress,
    sessionCache,
    findSession: (tokenHash) => findVerifiableSession(db, tokenHash),
    roles,
    limits: limiter,
  });
  // A SQLite file has threads of its own: the event writer's and the readers' (an in-memory
  // store cannot be shared with a thread; PostgreSQL's work waits on the network, not here).
  const file = db instanceof SqliteStore && db.path !== null ? { store: db, path: db.path } : null;
  // WAL is folded back into the database file by the event writer's thread, never by a commit
  // on this thread: an automatic checkpoint runs in whichever connection commits past the
  // threshold, and here it would stall every request for as long as it copies.
  if (file) file.store.db.pragma("wal_autocheckpoint = 0");
  // After migrate: the -wal and -shm it is to watch exist by then.
  const storeHealth = new StoreHealth(file?.path ?? null);
  const events = new EventWriter(
    insertEventsInto(db),
    logger,
    storeHealth,
    file && {
      storePath: file.path,
      entry: WRITER_THREAD_ENTRY,
      durability: config.events.durability,
      checkpointHere: () => file.store.db.pragma("wal_autocheckpoint = 1000"),
    },
  );
  const reads = new StoreReaders(
    db,
    logger,
    file && { storePath: file.path, entry: READER_THREAD_ENTRY, count: READER_THREADS },
  );
  const portalTokens = await PortalTokens.open(
    db,
    config.customer_portal.signing_key,
    config.customer_portal.session_ttl_seconds,
  );
  const context: AppContext = {
    config,
    db,
    storeHealth,
    logger,
    keyCache,
    roles,
    sessionCache,
    passwords: new Passwords(options.passwords),
    leakReports,
    signInLimiter: new SignInLimiter(
      logger,
      options.now,
      { ...SIGN_IN_LIMITS, maxFailuresPerAddress: config.auth.sign_in.max_failures_per_address },
      // Several instances may share a PostgreSQL database: the email's count is shared with them.
      db instanceof PostgresStore
        ? new StoredEmailLimit(db, SIGN_IN_LIMITS.maxFailuresPerEmail, SIGN_IN_LIMITS.windowSeconds)
        : null,
    ),
    environments,
    lastUsed,
    authenticator,
    profiles,
    events,
    reads,
    portalTokens,
    integrationSecrets,
    signingSecrets,
    metrics,
    limiter,
    credits,
  };

  app = buildApp(context);
  return {
    app,
    context,
    migrationsApplied,
    async close() {
      failures.close();
      leakReports.close();
      await changes.close();
      await reads.close();
      await events.close();
      await lastUsed.close();
      windows.close();
      // After the requests: every spend they acknowledged is written before the store closes.
      await credits.close();
      await db.close();
    },
  };
}

/**
 * The paths served whatever the Host header names (src/http/hosts.ts): /health, which reveals
 * nothing and which probes call by whatever address they have; and forward-auth, which a proxy
 * calls with the Host of the request it asks about (Caddy and Traefik pass it on), and which
 * only judges the credential that request carries.
 */
const ANY_HOST_PATHS: ReadonlySet<string> = new Set(["/health", FORWARD_AUTH_PATH]);

function buildApp(context: AppContext) {
  // normalize: false, so an unknown field in a body is refused with a 400 instead of dropped.
  return (
    new Elysia({ normalize: false })
      // Before the http plugin: its error hook must see a store failure before that one answers it.
      .use(storeGuard(context))
      .use(
        httpPlugin(context.logger, context.metrics, {
          serves: hostPolicy(context.config.server),
          anyHostPaths: ANY_HOST_PATHS,
        }),
      )
      .use(healthController(context))
      .use(metricsController(context))
      .use(rbacController(context))
      .use(signInController(context))
      .use(usersController(context))
      .use(secretsController(context))
      .use(verifyController(context))
      .use(forwardAuthController(context))
      .use(integrationsController(context))
      .use(webhooksController(context))
      .use(leakedKeysController(context))
      .use(environmentsController(context))
      .use(tenantsController(context))
      .use(eventsController(context))
      .use(customersController(context))
      .use(customerPortalController(context))
      .use(portalPageController(context))
      .use(dashboardController(context))
      .use(auditController(context))
      // The OpenAPI document and its UI are public, declared like every other route. Last, so
      // the guard covers nothing else.
      .use(authPlugin(context))
      .guard({ public: true })
      .use(openApiPlugin())
      .use(offlineDocsUi())
  );
}
