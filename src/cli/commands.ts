import { isValidHost } from "../config";
import { createLogger, resolveLogFormat } from "../http/logging";
import { serve } from "../server";
import { VERSION } from "../version";
import { type CommandSpec, type ParsedCommand, stringOption, UsageError } from "./args";
import { CONFIG_OPTION, configFrom } from "./config-option";
import { withWritableStore } from "./store";

/** A server that could not start: the store is taken, the port is in use, the store cannot be opened. */
export class StartError extends Error {}

export const serveCommand: CommandSpec = {
  name: "serve",
  usage: `Usage: tollgate serve [options]

Start the HTTP server on the database of the config. One server per database and per port.

  --host <host>          address to listen on (default: server.host, 127.0.0.1)
  --port <port>          port to listen on, 0 for any free one (default: server.port, 8080)
${CONFIG_OPTION}`,
  options: { config: "string", host: "string", port: "string" },
};

/** Starts serving; resolves once listening (the process then runs until a signal). */
export async function runServe(parsed: ParsedCommand): Promise<void> {
  const flags: Record<string, string> = {};
  const host = stringOption(parsed, "host");
  if (host !== undefined) {
    if (!isValidHost(host)) {
      throw new UsageError(`--host "${host}" is not a host name or an IP address.`, serveCommand.usage);
    }
    flags.TOLLGATE_SERVER_HOST = host;
  }
  const port = stringOption(parsed, "port");
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
      throw new UsageError(`--port "${port}" is not a port number (0 to 65535).`, serveCommand.usage);
    }
    flags.TOLLGATE_SERVER_PORT = port;
  }
  const config = configFrom(parsed, flags);
  const logger = createLogger(config.logging.level, { format: resolveLogFormat(config.logging.format) });
  try {
    await serve(config, logger, (text) => process.stderr.write(text));
  } catch (err) {
    throw new StartError(`Could not start: ${(err as Error).message}`);
  }
}

export const migrateCommand: CommandSpec = {
  name: "migrate",
  usage: `Usage: tollgate migrate [options]

Apply pending database migrations and exit. The server also migrates when it starts.

${CONFIG_OPTION}`,
  options: { config: "string" },
};

export async function runMigrate(parsed: ParsedCommand): Promise<number> {
  const applied = await withWritableStore(configFrom(parsed), (_db, migrated) => migrated);
  console.log(applied.length === 0 ? "Database is up to date" : `Applied ${applied.map((m) => m.name).join(", ")}`);
  return 0;
}

export const healthcheckCommand: CommandSpec = {
  name: "healthcheck",
  usage: `Usage: tollgate healthcheck [options]

Exit 0 when the server answers GET /health with 200, 1 otherwise.

  --url <url>            base URL (default: http://127.0.0.1:<server.port>)
${CONFIG_OPTION}`,
  options: { config: "string", url: "string" },
};

export async function runHealthcheck(parsed: ParsedCommand): Promise<number> {
  let base = stringOption(parsed, "url");
  if (base === undefined) base = `http://127.0.0.1:${configFrom(parsed).server.port}`;
  let url: URL;
  try {
    url = new URL("/health", base);
  } catch {
    throw new UsageError(`--url "${base}" is not a URL.`, healthcheckCommand.usage);
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    if (res.status === 200) return 0;
    console.error(`unhealthy: /health answered ${res.status}`);
  } catch (err) {
    console.error(`unhealthy: ${(err as Error).message}`);
  }
  return 1;
}

export const versionCommand: CommandSpec = {
  name: "version",
  usage: "Usage: tollgate version\n\nPrint the version (also: tollgate --version).",
  options: {},
};

export function runVersion(): number {
  console.log(VERSION);
  return 0;
}
