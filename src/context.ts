import type { Config } from "./config";
import type { Db } from "./db";
import type { StoreHealth } from "./db/health";
import type { Logger } from "./http/logging";
import type { Metrics } from "./http/metrics";
import type { KeyCache } from "./modules/auth/key-cache";
import type { PortalTokens } from "./modules/auth/portal-tokens";
import type { Authenticator, VerifiedKey } from "./modules/auth/service";
import type { EnvironmentDirectory } from "./modules/environments/service";
import type { EventReaders } from "./modules/events/reader";
import type { EventWriter } from "./modules/events/writer";
import type { LastUsedRecorder } from "./modules/secrets/last-used";
import type { ProfileCache } from "./modules/users/profile-cache";

/** The long-lived pieces one running Tollgate shares; built once in app.ts, handed to controllers. */
export interface AppContext {
  config: Config;
  db: Db;
  /** Whether the store can still keep a write: /health and the write guard ask it. */
  storeHealth: StoreHealth;
  logger: Logger;
  keyCache: KeyCache<VerifiedKey>;
  environments: EnvironmentDirectory;
  lastUsed: LastUsedRecorder;
  authenticator: Authenticator;
  profiles: ProfileCache;
  events: EventWriter;
  /** Event queries and usage aggregates, off the main thread. */
  eventReads: EventReaders;
  portalTokens: PortalTokens;
  /** Null when metrics.enabled is off. */
  metrics: Metrics | null;
}
