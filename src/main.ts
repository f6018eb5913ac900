#!/usr/bin/env bun
// The command line. Exit codes: 0 done, 1 the work failed (one line says why), 2 wrong
// arguments (the sentence and the usage; nothing was read or written).
import "./production";
import { type CommandSpec, type ParsedCommand, parseCommand, UsageError } from "./cli/args";
import {
  healthcheckCommand,
  migrateCommand,
  runHealthcheck,
  runMigrate,
  runServe,
  runVersion,
  serveCommand,
  StartError,
  versionCommand,
} from "./cli/commands";
import {
  keysCreate,
  keysHash,
  keysLeaked,
  keysList,
  keysRevoke,
  runKeysCreate,
  runKeysHash,
  runKeysLeaked,
  runKeysList,
  runKeysRevoke,
} from "./cli/keys";
import {
  keysLimits,
  keysRemoveLimit,
  keysSetCredits,
  keysSetLimit,
  runKeysLimits,
  runKeysRemoveLimit,
  runKeysSetCredits,
  runKeysSetLimit,
  runUsersLimits,
  runUsersRemoveLimit,
  runUsersSetCredits,
  runUsersSetLimit,
  usersLimits,
  usersRemoveLimit,
  usersSetCredits,
  usersSetLimit,
} from "./cli/limits";
import { runSecretsGenerateKey, runSecretsRotateKey, secretsGenerateKey, secretsRotateKey } from "./cli/secrets";
import { CommandError } from "./cli/store";
import { runUsersCreate, runUsersResetPassword, usersCreate, usersResetPassword } from "./cli/users";
import { ConfigError } from "./config";
import { OperatorError } from "./modules/secrets/operator";

const USAGE = `Usage: tollgate [command] [options]

Commands:
  serve          start the HTTP server (the default)
  migrate        apply pending database migrations and exit
  keys create    create an API key, printed once, for a new or an existing service account
  keys list      list the API keys of an environment
  keys revoke    revoke an API key; it fails from the next request on
  keys leaked    revoke a key found where it should not be, as a leak its owner is told of
  keys hash      print the SHA-256 of a key, for auth.api_key.keys in config.yaml
  keys limits    print a key's rate limits and credits
  keys set-limit / keys remove-limit
                 set (add or change) or remove one of a key's rate limits
  keys set-credits
                 set a key's credits and their refill (or unlimited)
  users create   create a user account that signs in (password from stdin or a prompt)
  users reset-password --email E
                 print a one-time link that sets a new password (a lost password, the admin's too)
  users limits / users set-limit / users remove-limit / users set-credits
                 a service account's rate limits and credits in an environment, shared by its keys
  secrets generate-key
                 print a new master key for integration secrets (secrets.encryption_key)
  secrets rotate-key --from-env OLD
                 re-encrypt every integration secret from the key in $OLD to the configured one
  healthcheck    exit 0 when the local server answers /health
  version        print the version (also: --version)

Run "tollgate <command> --help" for a command's options.`;

/** A command's result: an exit code, or null while it keeps running (the server). */
type Runner = (parsed: ParsedCommand) => number | null | Promise<number | null>;

const COMMANDS: Record<string, { spec: CommandSpec; run: Runner }> = {
  serve: { spec: serveCommand, run: async (parsed) => (await runServe(parsed), null) },
  migrate: { spec: migrateCommand, run: runMigrate },
  "keys create": { spec: keysCreate, run: runKeysCreate },
  "keys list": { spec: keysList, run: runKeysList },
  "keys revoke": { spec: keysRevoke, run: runKeysRevoke },
  "keys leaked": { spec: keysLeaked, run: runKeysLeaked },
  "keys hash": { spec: keysHash, run: runKeysHash },
  "keys limits": { spec: keysLimits, run: runKeysLimits },
  "keys set-limit": { spec: keysSetLimit, run: runKeysSetLimit },
  "keys remove-limit": { spec: keysRemoveLimit, run: runKeysRemoveLimit },
  "keys set-credits": { spec: keysSetCredits, run: runKeysSetCredits },
  "users create": { spec: usersCreate, run: runUsersCreate },
  "users reset-password": { spec: usersResetPassword, run: runUsersResetPassword },
  "users limits": { spec: usersLimits, run: runUsersLimits },
  "users set-limit": { spec: usersSetLimit, run: runUsersSetLimit },
  "users remove-limit": { spec: usersRemoveLimit, run: runUsersRemoveLimit },
  "users set-credits": { spec: usersSetCredits, run: runUsersSetCredits },
  "secrets generate-key": { spec: secretsGenerateKey, run: runSecretsGenerateKey },
  "secrets rotate-key": { spec: secretsRotateKey, run: runSecretsRotateKey },
  healthcheck: { spec: healthcheckCommand, run: runHealthcheck },
  version: { spec: versionCommand, run: runVersion },
};

async function run(argv: string[]): Promise<number | null> {
  const [first, second] = argv;
  if (first === "--help" || first === "-h" || first === "help") {
    console.log(USAGE);
    return 0;
  }
  if (first === "--version" || first === "-v") return runVersion();
  // No command, or options only: serve.
  if (first === undefined || first.startsWith("-")) return dispatch("serve", argv);
  if (first === "keys") {
    if (second === undefined || second.startsWith("-")) {
      throw new UsageError(
        '"tollgate keys" needs a command: create, list, revoke, leaked, hash, limits, set-limit, remove-limit or set-credits.',
        USAGE,
      );
    }
    return dispatch(`keys ${second}`, argv.slice(2));
  }
  if (first === "users") {
    if (second === undefined || second.startsWith("-")) {
      throw new UsageError(
        '"tollgate users" needs a command: create, reset-password, limits, set-limit, remove-limit or set-credits.',
        USAGE,
      );
    }
    return dispatch(`users ${second}`, argv.slice(2));
  }
  if (first === "secrets") {
    if (second === undefined || second.startsWith("-")) {
      throw new UsageError('"tollgate secrets" needs a command: generate-key or rotate-key.', USAGE);
    }
    return dispatch(`secrets ${second}`, argv.slice(2));
  }
  return dispatch(first, argv.slice(1));
}

function dispatch(name: string, args: string[]): number | null | Promise<number | null> {
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`Unknown command "${name}".`, USAGE);
  const parsed = parseCommand(command.spec, args);
  if (parsed === "help") {
    console.log(command.spec.usage);
    return 0;
  }
  return command.run(parsed);
}

/** Failures a person can act on, said in one line without a stack. */
const EXPECTED_FAILURES = [ConfigError, StartError, CommandError, OperatorError];

try {
  const code = await run(process.argv.slice(2));
  if (code !== null) process.exit(code);
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`${err.message}\n\n${err.usage}`);
    process.exit(2);
  }
  if (EXPECTED_FAILURES.some((kind) => err instanceof kind)) {
    console.error(`${(err as Error).message}`);
    process.exit(1);
  }
  // A store that cannot be opened and the like: still one line, not a stack.
  console.error(`tollgate: ${(err as Error).message}`);
  process.exit(1);
}
