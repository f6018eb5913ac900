import { existsSync } from "node:fs";
import { isProduction } from "elysia/error";
import { resolve } from "node:path";
import { createTollgate } from "./app";
import { type Config, DEV_KEY_HASH } from "./config";
import { MEMORY_DATABASE } from "./db";
import { lockStore } from "./db/sqlite/lock";
import type { Migration } from "./db/schema";
import { isLoopback } from "./http/hosts";
import type { Logger } from "./http/logging";
import { issueSetupLink, type SetupLink } from "./modules/sign-in/setup";
import { listeningBaseUrl, publicBaseUrl } from "./http/urls";
import { VERSION } from "./version";

/** Bun's own ceiling; the real limits (1 MiB, 32 MiB for bulk) are enforced with the error envelope. */
const TRANSPORT_BODY_CEILING = 1024 ** 3;

/** The documented Flexprice development key. Public: it is printed so a newcomer can try the API. */
const DEV_KEY_FOR_GUIDE = "0cc505d7b917e0b1f25ccbea029dd43f4002edfea46b7f941f281911246768fe";

/**
 * Takes the store, opens and migrates it, listens, and arranges a graceful stop on SIGTERM and
 * SIGINT. The start-up guide goes to `print` (the console), never into the request log.
 */
export async function serve(config: Config, logger: Logger, print: (text: string) => void): Promise<void> {
  const postgres = config.database.url !== "";
  // First, so a second server on the same SQLite file stops before it migrates or writes
  // anything. Several servers on one PostgreSQL database are the point of it: no lock there.
  const lock = postgres ? null : lockStore(config.database.path);
  const databaseExisted = postgres || config.database.path === MEMORY_DATABASE || existsSync(config.database.path);
  let tollgate: Awaited<ReturnType<typeof createTollgate>>;
  try {
    tollgate = await createTollgate({ config, logger });
  } catch (err) {
    lock?.release();
    throw err;
  }
  try {
    // Bun parses the request head natively and answers what it refuses itself, before any hook
    // of Bun.serve or Elysia runs, so without the error envelope, a request id or a log line:
    // a head (request line, headers, blank line) over 16 KiB (Bun's --max-http-header-size) or
    // with more than 198 header lines gets a bare 431, a malformed head a bare 400, another HTTP
    // version a bare 505; each with `Connection: close` and no body. Bun offers no hook for
    // these; test/hardening-input.test.ts pins them so an upgrade that changes them is noticed.
    tollgate.app.listen({
      hostname: config.server.host,
      port: config.server.port,
      maxRequestBodySize: TRANSPORT_BODY_CEILING,
      // Elysia turns SO_REUSEPORT on, which lets a second server bind the same port and take
      // half its requests with a cache of its own. One port, one server.
      reusePort: false,
    });
  } catch (err) {
    await tollgate.close();
    lock?.release();
    if ((err as { code?: string }).code === "EADDRINUSE") {
      throw new Error(
        `port ${config.server.port} on ${config.server.host} is already in use; stop what is using it, or choose another port with --port or server.port`,
      );
    }
    throw err;
  }
  const port = tollgate.app.server?.port ?? config.server.port;

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info("shutting down");
      // Stop accepting, let in-flight requests finish, then flush pending writes and close the store.
      await tollgate.app.stop();
      // A request's log line and metrics are written by Elysia in a setImmediate after its
      // response is sent; a signal can arrive first. One more turn runs those already queued,
      // so the last requests before a stop are never missing from the log.
      await new Promise((resolve) => setImmediate(resolve));
      await tollgate.close();
      lock?.release();
      logger.info("stopped");
    })();
    return stopping;
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      stop().then(
        () => process.exit(0),
        (err) => {
          logger.error("shutdown failed", { error: (err as Error).message });
          process.exit(1);
        },
      );
    });
  }

  const devKey = config.auth.api_key.keys[DEV_KEY_HASH];
  const devKeyActive = devKey?.is_active === true;
  const devKeyExposed = devKeyActive && !isLoopback(config.server.host);
  if (devKeyExposed) {
    logger.warn(
      "THE DEFAULT DEVELOPMENT API KEY IS ACTIVE ON A NON-LOOPBACK ADDRESS: anyone who can reach this port has full access. Remove it from auth.api_key.keys.",
      { host: config.server.host },
    );
  }
  const baseUrl = listeningBaseUrl(config.server.host, port);
  // While no one can sign in, a one-time link for the first person: on the console only, never
  // in the request log (it opens the first account).
  const setupLink = await issueSetupLink(tollgate.context.db, { baseUrl: publicBaseUrl(config, port) });
  print(
    startupGuide({
      baseUrl,
      allInterfaces: config.server.host === "0.0.0.0" || config.server.host === "::",
      database: postgres ? { url: config.database.url } : { path: config.database.path },
      databaseCreated: !databaseExisted,
      migrationsApplied: tollgate.migrationsApplied,
      devKeyTenant: devKeyActive ? devKey.tenant_id : null,
      devKeyExposed,
      configKeys: Object.keys(config.auth.api_key.keys).length,
      setupLink,
    }),
  );
  // Last: whoever waits for this line (a supervisor, a test) finds the server ready and stoppable.
  // `production`: what Elysia decided when it loaded (src/production.ts), so an operator and the
  // process tests can see that the cheap validation-error path is the one running.
  logger.info("listening", { host: config.server.host, port, production: isProduction });
}

export interface GuideFacts {
  baseUrl: string;
  allInterfaces: boolean;
  /** The SQLite file, or the PostgreSQL database, the server opened. */
  database: { path: string } | { url: string };
  databaseCreated: boolean;
  migrationsApplied: Migration[];
  /** The tenant the development key acts in, when it is active. */
  devKeyTenant: string | null;
  devKeyExposed: boolean;
  configKeys: number;
  /** The first person's one-time setup link, while no user account has a password. */
  setupLink?: SetupLink | null;
}

/** What a person starting Tollgate needs to know first, in plain words. */
export function startupGuide(facts: GuideFacts): string {
  const { baseUrl } = facts;
  const lines = [
    `Tollgate ${VERSION} is running${facts.allInterfaces ? " on every network interface" : ""}.`,
    "",
    `  API        ${baseUrl}/v1`,
    `  API docs   ${baseUrl}/swagger`,
    `  Dashboard  ${baseUrl}/dashboard`,
    `  Health     ${baseUrl}/health`,
    `  Database   ${describeDatabase(facts)}`,
    "",
  ];
  if (facts.devKeyTenant !== null) {
    lines.push(
      `The development key is active: it has full access to tenant ${facts.devKeyTenant}. Try it:`,
      "",
      `  curl -H 'X-API-Key: ${DEV_KEY_FOR_GUIDE}' ${baseUrl}/v1/users/me`,
      "",
      facts.devKeyExposed
        ? "WARNING: this address is reachable from other machines, and so is that key. Remove it from auth.api_key.keys now."
        : "It works on this machine only while Tollgate listens on loopback. Remove it from auth.api_key.keys before exposing Tollgate.",
    );
  } else {
    const keys = facts.configKeys === 1 ? "1 operator key" : `${facts.configKeys} operator keys`;
    lines.push(
      `The development key is off; ${keys} from the config. A key for a service:`,
      "",
      "  tollgate keys create --tenant <tenant id> --roles event_ingestor",
    );
  }
  if (facts.setupLink) {
    lines.push(
      "",
      "No one can sign in yet. To set the first account's email and password, open this link (valid for an hour, once):",
      "",
      `  ${facts.setupLink.url}`,
      "",
      "or POST its token with an email and a password to /v1/auth/setup; or, from a shell:",
      "",
      "  tollgate users create --email you@example.com",
    );
  }
  lines.push("", "Stop with Ctrl+C (or SIGTERM): requests in flight finish and pending writes are saved.", "");
  return lines.join("\n");
}

function describeDatabase(facts: GuideFacts): string {
  const applied = facts.migrationsApplied.map((m) => m.name);
  if ("url" in facts.database) {
    // Host and database only: the URL may carry a password.
    const url = new URL(facts.database.url);
    const where = `PostgreSQL ${url.hostname || url.searchParams.get("host") || "localhost"}${url.pathname}`;
    return applied.length > 0 ? `${where} (migrated: applied ${applied.join(", ")})` : `${where} (up to date)`;
  }
  if (facts.database.path === MEMORY_DATABASE) return "in memory (nothing is kept after a stop)";
  const path = resolve(facts.database.path);
  if (facts.databaseCreated) return `${path} (new: created and migrated to ${applied.at(-1)})`;
  if (applied.length > 0) return `${path} (migrated: applied ${applied.join(", ")})`;
  return `${path} (up to date)`;
}
