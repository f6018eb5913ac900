#!/usr/bin/env bun
// The command line: serve (default), migrate, keys create, keys hash, healthcheck, version.
// Each command parses its own options; wrong arguments print the usage and exit 2.
import { parseArgs } from "node:util";
import { type Config, ConfigError, loadConfig } from "./config";
import { migrate, openDatabase } from "./db";
import { createLogger } from "./http/logging";
import { sha256Hex } from "./modules/auth/hash";
import { createOperatorKey, OperatorError } from "./modules/secrets/operator";
import { serve } from "./server";
import { VERSION } from "./version";

class UsageError extends Error {}

const CONFIG_OPTION = "  --config <path>   config.yaml (else $TOLLGATE_CONFIG, else ./config.yaml, else defaults)";

const USAGE: Record<string, string> = {
  main: `Usage: tollgate [command] [options]

Commands:
  serve         start the HTTP server (the default)
  migrate       apply pending database migrations and exit
  keys create   create a service account and an API key for it, printed once
  keys hash     print the SHA-256 of a key, for auth.api_key.keys in config.yaml
  healthcheck   exit 0 when the local server answers /health
  version       print the version

Run "tollgate <command> --help" for a command's options.`,
  serve: `Usage: tollgate serve [--config <path>]\n\nStart the HTTP server.\n\n${CONFIG_OPTION}`,
  migrate: `Usage: tollgate migrate [--config <path>]\n\nApply pending database migrations and exit.\n\n${CONFIG_OPTION}`,
  "keys create": `Usage: tollgate keys create --tenant <id> --roles <role,...> [options]

Create a service account with the roles and an API key for it. The key is printed once.

  --tenant <id>          tenant (created, with its environments, if it does not exist)
  --roles <r1,r2>        super_admin, event_ingestor, event_reader
  --environment <id>     environment id or name (default: the tenant's default environment)
  --name <name>          account and key name (default: "Operator key")
  --type <type>          private_key (default) or publishable_key
  --expires-at <time>    RFC 3339 expiry (default: never)
${CONFIG_OPTION}`,
  "keys hash": `Usage: tollgate keys hash <key>\n\nPrint the SHA-256 hex of <key>, the form config.yaml lists keys in.`,
  healthcheck: `Usage: tollgate healthcheck [--config <path>] [--url <url>]

Exit 0 when the server answers GET /health with 200, 1 otherwise.

  --url <url>       base URL (default: http://127.0.0.1:<server.port>)
${CONFIG_OPTION}`,
  version: "Usage: tollgate version\n\nPrint the version.",
};

type Options = Record<string, { type: "string" | "boolean" }>;

function parse(command: string, args: string[], options: Options, positionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: "boolean" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${USAGE[command]}`);
  }
  if (parsed.values.help) {
    console.log(USAGE[command]);
    return null;
  }
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(`Wrong number of arguments\n\n${USAGE[command]}`);
  }
  return parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
}

const configOption: Options = { config: { type: "string" } };

function configFrom(values: Record<string, unknown>): Config {
  return loadConfig({ path: values.config as string | undefined });
}

async function run(argv: string[]): Promise<number | undefined> {
  const [first, second] = argv;
  if (first === undefined || first.startsWith("-")) {
    if (first === "--help" || first === "-h") {
      console.log(USAGE.main);
      return 0;
    }
    return runServe(argv);
  }
  switch (first) {
    case "serve":
      return runServe(argv.slice(1));
    case "migrate": {
      const parsed = parse("migrate", argv.slice(1), configOption);
      if (!parsed) return 0;
      const config = configFrom(parsed.values);
      const db = openDatabase(config.database.path);
      const applied = migrate(db);
      db.close();
      console.log(applied.length === 0 ? "Database is up to date" : `Applied ${applied.map((m) => m.name).join(", ")}`);
      return 0;
    }
    case "keys":
      if (second === "create") return runKeysCreate(argv.slice(2));
      if (second === "hash") {
        const parsed = parse("keys hash", argv.slice(2), {}, 1);
        if (!parsed) return 0;
        console.log(sha256Hex(parsed.positionals[0] as string));
        return 0;
      }
      throw new UsageError(`Unknown keys command: ${second ?? "(none)"}\n\n${USAGE.main}`);
    case "healthcheck":
      return runHealthcheck(argv.slice(1));
    case "version": {
      if (!parse("version", argv.slice(1), {})) return 0;
      console.log(VERSION);
      return 0;
    }
    default:
      throw new UsageError(`Unknown command: ${first}\n\n${USAGE.main}`);
  }
}

function runServe(args: string[]): number | undefined {
  const parsed = parse("serve", args, configOption);
  if (!parsed) return 0;
  const config = configFrom(parsed.values);
  try {
    serve(config, createLogger(config.logging.level));
  } catch (err) {
    // A store that cannot be opened, a port already taken: say so in one line, not a stack.
    console.error(`Could not start: ${(err as Error).message}`);
    return 1;
  }
  return undefined;
}

function runKeysCreate(args: string[]): number {
  const parsed = parse("keys create", args, {
    ...configOption,
    tenant: { type: "string" },
    roles: { type: "string" },
    environment: { type: "string" },
    name: { type: "string" },
    type: { type: "string" },
    "expires-at": { type: "string" },
  });
  if (!parsed) return 0;
  const { values } = parsed;
  if (typeof values.tenant !== "string" || typeof values.roles !== "string") {
    throw new UsageError(`--tenant and --roles are required\n\n${USAGE["keys create"]}`);
  }
  const type = (values.type as string | undefined) ?? "private_key";
  if (type !== "private_key" && type !== "publishable_key") {
    throw new UsageError(`--type must be private_key or publishable_key\n\n${USAGE["keys create"]}`);
  }
  const expiresAt = values["expires-at"] as string | undefined;
  if (expiresAt !== undefined && (Number.isNaN(Date.parse(expiresAt)) || Date.parse(expiresAt) <= Date.now())) {
    throw new UsageError(`--expires-at must be a future RFC 3339 time\n\n${USAGE["keys create"]}`);
  }
  const config = configFrom(values);
  const db = openDatabase(config.database.path);
  try {
    migrate(db);
    const { apiKey, secret, environment } = createOperatorKey(db, {
      tenantId: values.tenant,
      environment: values.environment as string | undefined,
      roles: values.roles
        .split(",")
        .map((r) => r.trim())
        .filter(Boolean),
      name: (values.name as string | undefined) ?? "Operator key",
      type,
      expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
    });
    console.log(apiKey);
    console.error(
      `Created ${secret.id} (${secret.display_id}) for service account ${secret.user_id} in ${environment.name} (${environment.id}), roles ${secret.roles}. The key above is shown once.`,
    );
    return 0;
  } finally {
    db.close();
  }
}

async function runHealthcheck(args: string[]): Promise<number> {
  const parsed = parse("healthcheck", args, { ...configOption, url: { type: "string" } });
  if (!parsed) return 0;
  let base = parsed.values.url as string | undefined;
  if (base === undefined) {
    const config = configFrom(parsed.values);
    base = `http://127.0.0.1:${config.server.port}`;
  }
  try {
    const res = await fetch(new URL("/health", base), { signal: AbortSignal.timeout(3000) });
    if (res.status === 200) return 0;
    console.error(`unhealthy: /health answered ${res.status}`);
  } catch (err) {
    console.error(`unhealthy: ${(err as Error).message}`);
  }
  return 1;
}

try {
  const code = await run(process.argv.slice(2));
  if (code !== undefined) process.exit(code);
} catch (err) {
  if (err instanceof UsageError) {
    console.error(err.message);
    process.exit(2);
  }
  if (err instanceof ConfigError || err instanceof OperatorError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
