import { parseArgs } from "node:util";

/** Wrong arguments: printed with the command's usage, exit 2, before anything is read or written. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

export interface CommandSpec {
  /** As typed after `tollgate`: "keys create". */
  name: string;
  usage: string;
  /** Long options, each a string with a value or a boolean flag. `--help` is always accepted. */
  options: Record<string, "string" | "boolean">;
  /** Names of the positional arguments, all required. */
  positionals?: string[];
}

export interface ParsedCommand {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses a command's arguments, or returns "help" when --help (or -h) is among them. Every
 * mistake is one plain sentence naming the argument: node's own parser errors are written for
 * programmers and quote the argument back oddly.
 */
export function parseCommand(spec: CommandSpec, args: string[]): ParsedCommand | "help" {
  const { tokens } = parseArgs({
    args,
    options: {
      ...Object.fromEntries(Object.entries(spec.options).map(([name, type]) => [name, { type }])),
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const fail = (message: string) => new UsageError(message, spec.usage);
  const values: ParsedCommand["values"] = {};
  const positionals: string[] = [];
  let help = false;
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    if (token.kind !== "option") continue;
    const type = token.name === "help" ? "boolean" : spec.options[token.name];
    if (type === undefined) throw fail(`Unknown option ${token.rawName} for "tollgate ${spec.name}".`);
    if (type === "boolean" && token.value !== undefined) throw fail(`Option --${token.name} takes no value.`);
    if (type === "string" && (token.value === undefined || token.value === "")) {
      throw fail(`Option --${token.name} needs a value.`);
    }
    if (token.name === "help") {
      help = true;
      continue;
    }
    if (values[token.name] !== undefined) throw fail(`Option --${token.name} is given twice.`);
    values[token.name] = type === "boolean" ? true : token.value;
  }
  if (help) return "help";
  const expected = spec.positionals ?? [];
  if (positionals.length > expected.length) {
    throw fail(`Unexpected argument "${positionals[expected.length]}" for "tollgate ${spec.name}".`);
  }
  if (positionals.length < expected.length) {
    throw fail(`"tollgate ${spec.name}" needs ${expected.slice(positionals.length).join(" and ")}.`);
  }
  return { values, positionals };
}

/** A string option's value, as parsed. */
export function stringOption(parsed: ParsedCommand, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * A string option's value, held to a rule: absent is `undefined`; a value `valid` refuses is a
 * usage error that says `--<name> <rule>.`, the API's own words for the same field.
 */
export function checkedOption(
  spec: CommandSpec,
  parsed: ParsedCommand,
  name: string,
  valid: (value: string) => boolean,
  rule: string,
): string | undefined {
  const value = stringOption(parsed, name);
  if (value !== undefined && !valid(value)) throw new UsageError(`--${name} ${rule}.`, spec.usage);
  return value;
}
