// Imported as text so `bun build --compile` carries every migration inside the executable.
import type { Migration } from "../schema";
import baseline from "./migrations/015_baseline.sql" with { type: "text" };
import leakedKeys from "./migrations/016_leaked_keys.sql" with { type: "text" };
import severalInstances from "./migrations/017_several_instances.sql" with { type: "text" };
import sharedSigningSecrets from "./migrations/018_shared_signing_secrets.sql" with { type: "text" };
import rateLimitsAndCredits from "./migrations/019_rate_limits_and_credits.sql" with { type: "text" };

/**
 * PostgreSQL's migrations, numbered as SQLite's: the baseline is SQLite's 001 to 015 in one
 * step; from 016 each number has a file for each engine. A test checks both lists end at the
 * same version.
 */
export const POSTGRES_MIGRATIONS: Migration[] = [
  { version: 15, name: "015_baseline", sql: baseline },
  { version: 16, name: "016_leaked_keys", sql: leakedKeys },
  { version: 17, name: "017_several_instances", sql: severalInstances },
  { version: 18, name: "018_shared_signing_secrets", sql: sharedSigningSecrets },
  { version: 19, name: "019_rate_limits_and_credits", sql: rateLimitsAndCredits },
];
