import type { Config } from "./config";
import type { Store } from "./db";
import type { StoreHealth } from "./db/health";
import type { Logger } from "./http/logging";
import type { Metrics } from "./http/metrics";
import type { FailedAuthLimiter } from "./modules/auth/failure-limiter";
import type { KeyCache } from "./modules/auth/key-cache";
import type { PortalTokens } from "./modules/auth/portal-tokens";
import type { Authenticator, VerifiedKey } from "./modules/auth/service";
import type { EnvironmentDirectory } from "./modules/environments/service";
import type { StoreReaders } from "./reads/pool";
import type { EventWriter } from "./modules/events/writer";
import type { SecretBox } from "./modules/integrations/cipher";
import type { SigningSecrets } from "./modules/integrations/signing";
import type { LastUsedRecorder } from "./modules/secrets/last-used";
import type { SignInLimiter } from "./modules/sessions/limiter";
import type { Passwords } from "./modules/sessions/passwords";
import type { ProfileCache } from "./modules/users/profile-cache";
import type { RoleCatalog } from "./modules/rbac/service";
import type { LimitGate } from "./modules/auth/model";
import type { CreditLedger } from "./modules/limits/ledger";

/** The long-lived pieces one running Tollgate shares; built once in app.ts, handed to controllers. */
export interface AppContext {
  config: Config;
  db: Store;
  /** Whether the store can still keep a write: /health and the write guard ask it. */
  storeHealth: StoreHealth;
  logger: Logger;
  keyCache: KeyCache<VerifiedKey>;
  /** The roles: built-in (SPEC §2, §13) and the operator's (rbac.roles). */
  roles: RoleCatalog;
  /** Verified sessions of people who signed in (SPEC §10), by SHA-256 hex of the token. */
  sessionCache: KeyCache<VerifiedKey>;
  /** Password hashing and checking (argon2id), with the dummy hash unknown emails are checked against. */
  passwords: Passwords;
  /** Reports of leaked keys (POST /v1/secrets/leaked) per client address, in memory. */
  leakReports: FailedAuthLimiter;
  /** Failed sign-ins per client address and per email, in memory. */
  signInLimiter: SignInLimiter;
  environments: EnvironmentDirectory;
  lastUsed: LastUsedRecorder;
  authenticator: Authenticator;
  profiles: ProfileCache;
  events: EventWriter;
  /** Event queries, usage aggregates and pages of lists, off the main thread (src/reads). */
  reads: StoreReaders;
  portalTokens: PortalTokens;
  /** The master key integration credentials are sealed with; null when none is configured. */
  integrationSecrets: SecretBox | null;
  /** Each environment's webhook signing secrets, decrypted, kept current by the integrations routes. */
  signingSecrets: SigningSecrets;
  /** Null when metrics.enabled is off. */
  metrics: Metrics | null;
  /** Rate limits and credits of keys (SPEC §14): what verify and forward-auth hold a key to. */
  limiter: LimitGate;
  /** Credit balances; flushed before a response shows stored ones. */
  credits: CreditLedger;
}
