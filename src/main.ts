#!/usr/bin/env bun
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config";
import { createLogger } from "./http/logging";
import { serve } from "./server";
import { VERSION } from "./version";

const USAGE = `Usage: tollgate [command] [--config path]

Commands:
  serve      start the HTTP server (default)
  version    print the version

Options:
  --config   path to config.yaml (else TOLLGATE_CONFIG, else ./config.yaml, else built-in defaults)
  --help     show this help`;

function main(argv: string[]): number | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { config: { type: "string" }, help: { type: "boolean" } },
      allowPositionals: true,
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command = "serve", ...rest] = parsed.positionals;
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (rest.length > 0) {
    console.error(`Unexpected argument: ${rest[0]}\n\n${USAGE}`);
    return 2;
  }
  switch (command) {
    case "version":
      console.log(VERSION);
      return 0;
    case "serve": {
      const config = loadConfig({ path: parsed.values.config });
      serve(config, createLogger(config.logging.level));
      return undefined;
    }
    default:
      console.error(`Unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}

try {
  const code = main(process.argv.slice(2));
  if (code !== undefined) process.exit(code);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
