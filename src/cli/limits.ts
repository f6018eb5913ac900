import {
  type Limits,
  MAX_AMOUNT,
  MAX_DURATION_MS,
  MIN_DURATION_MS,
  RATE_LIMIT_NAME_PATTERN,
} from "../modules/limits/model";
import {
  changeOperatorKeyLimits,
  operatorKeyLimits,
  withoutRateLimit,
  withRateLimit,
} from "../modules/secrets/limits-operator";
import { appliedText, creditsText, parseDuration, rateLimitText } from "../modules/limits/words";
import { type CommandSpec, checkedOption, type ParsedCommand, UsageError } from "./args";
import { CONFIG_OPTION, configFrom } from "./config-option";
import { environmentOption, tenantOption } from "./keys";
import { openExistingStore, withWritableStore } from "./store";

// A key's rate limits and credits from the command line (SPEC §14): the same rules and audit as
// PUT /v1/secrets/api/keys/{id}/limits, beside a running server, which applies a change from
// the key's next request.

const NAME = new RegExp(RATE_LIMIT_NAME_PATTERN);
const NAME_RULE = "must be a lower-case name such as orders or api.read (letters, digits, _ . -; at most 64)";
const COUNT_RULE = (min: number) => `must be a whole number from ${min} to ${MAX_AMOUNT}`;
const isCount = (min: number) => (value: string) =>
  /^\d{1,13}$/.test(value) && Number(value) >= min && Number(value) <= MAX_AMOUNT;
const DURATION_RULE = "must be a window from 1s to 30d, such as 1s, 60s, 15m, 1h or 1d";
const isDuration = (value: string) => {
  const ms = parseDuration(value);
  return ms !== null && ms >= MIN_DURATION_MS && ms <= MAX_DURATION_MS;
};

/** The option every one of these commands needs, held to its rule. */
function required(spec: CommandSpec, parsed: ParsedCommand, name: string, valid: (v: string) => boolean, rule: string) {
  const value = checkedOption(spec, parsed, name, valid, rule);
  if (value === undefined) throw new UsageError(`--${name} is required.`, spec.usage);
  return value;
}

const KEY_ID = "the key id";

export const keysLimits: CommandSpec = {
  name: "keys limits",
  usage: `Usage: tollgate keys limits <key id> [options]

Print an API key's rate limits and credits (its id, such as sec_01J…, from "tollgate keys list"),
and those its service account shares with its keys in the key's environment.

  --tenant <id>          the tenant the key must be of (a check; default: any)
  --environment <env>    the environment id or name the key must be of (a check; default: any)
${CONFIG_OPTION}`,
  options: { config: "string", tenant: "string", environment: "string" },
  positionals: [KEY_ID],
};

/** The lines that say one owner's limits, indented by `indent`. */
function limitsLines(limits: Limits, indent: string, credits = creditsText(limits.credits)): string[] {
  const lines = [`${indent}Rate limits: ${limits.ratelimits.length === 0 ? "none" : ""}`.trimEnd()];
  const width = Math.max(0, ...limits.ratelimits.map((limit) => limit.name.length));
  for (const limit of limits.ratelimits) {
    lines.push(`${indent}  ${limit.name.padEnd(width)}  ${rateLimitText(limit)}, counted ${appliedText(limit)}`);
  }
  lines.push(`${indent}Credits: ${credits}`);
  return lines;
}

export async function runKeysLimits(parsed: ParsedCommand): Promise<number> {
  const tenantId = tenantOption(keysLimits, parsed);
  const environment = environmentOption(keysLimits, parsed);
  const db = openExistingStore(configFrom(parsed));
  try {
    const shown = await operatorKeyLimits(db, { id: parsed.positionals[0] as string, tenantId, environment });
    const { key } = shown;
    const owner = key.owner_type === "service_account" ? "service account" : "user";
    console.log(
      `API key ${key.id} (${key.display_id}, "${key.name}") of ${owner} ${key.owner_name} (${key.user_id}) in ${shown.environment.name} (${shown.environment.id}) of tenant ${key.tenant_id}`,
    );
    // A key without credits of its own spends its account's: it is not unlimited then.
    const spendsAccount = shown.limits.credits === null && (shown.account?.credits ?? null) !== null;
    const credits = spendsAccount ? "none of its own (it spends its service account's)" : undefined;
    console.log(limitsLines(shown.limits, "", credits).join("\n"));
    if (shown.account) {
      console.log("\nIts service account's, shared by its keys in this environment (the key's own come first):");
      console.log(limitsLines(shown.account, "  ").join("\n"));
    }
    return 0;
  } finally {
    await db.close();
  }
}

export const keysSetLimit: CommandSpec = {
  name: "keys set-limit",
  usage: `Usage: tollgate keys set-limit <key id> --name <name> --limit <n> --duration <window> [--named]

Set one of an API key's rate limits: at most <n> requests per <window>, replacing the key's limit
of that name or adding it. The window keeps its count. Audited; a running server applies it from
the key's next request.

  --name <name>          the limit's name, such as requests or orders.write
  --limit <n>            requests allowed per window (1 or more)
  --duration <window>    the sliding window: 1s, 60s, 15m, 1h, 1d (1s to 30d)
  --named                counted only when a verify call or a forward-auth rule names it
                         (default: applied to every request of the key)
${CONFIG_OPTION}`,
  options: { config: "string", name: "string", limit: "string", duration: "string", named: "boolean" },
  positionals: [KEY_ID],
};

export async function runKeysSetLimit(parsed: ParsedCommand): Promise<number> {
  const limit = {
    name: required(keysSetLimit, parsed, "name", (v) => NAME.test(v), NAME_RULE),
    limit: Number(required(keysSetLimit, parsed, "limit", isCount(1), COUNT_RULE(1))),
    duration_ms: parseDuration(required(keysSetLimit, parsed, "duration", isDuration, DURATION_RULE)) as number,
    auto_apply: parsed.values.named !== true,
  };
  const id = parsed.positionals[0] as string;
  const { key } = await withWritableStore(configFrom(parsed), (db) =>
    changeOperatorKeyLimits(db, id, "tollgate keys set-limit", (limits) => withRateLimit(limits, limit)),
  );
  console.log(
    `Set rate limit ${limit.name} of ${key.id} ("${key.name}"): ${rateLimitText(limit)}, counted ${appliedText(limit)}.`,
  );
  return 0;
}

export const keysRemoveLimit: CommandSpec = {
  name: "keys remove-limit",
  usage: `Usage: tollgate keys remove-limit <key id> --name <name>

Remove one of an API key's rate limits. Audited; a running server stops counting it from the
key's next request.

  --name <name>          the limit's name, as "tollgate keys limits" prints it
${CONFIG_OPTION}`,
  options: { config: "string", name: "string" },
  positionals: [KEY_ID],
};

export async function runKeysRemoveLimit(parsed: ParsedCommand): Promise<number> {
  const name = required(keysRemoveLimit, parsed, "name", (v) => NAME.test(v), NAME_RULE);
  const id = parsed.positionals[0] as string;
  const { key, after } = await withWritableStore(configFrom(parsed), (db) =>
    changeOperatorKeyLimits(db, id, "tollgate keys remove-limit", (limits) => withoutRateLimit(limits, name, id)),
  );
  const left = after.ratelimits.length;
  console.log(`Removed rate limit ${name} of ${key.id} ("${key.name}"); ${left === 0 ? "none" : left} left.`);
  return 0;
}

export const keysSetCredits: CommandSpec = {
  name: "keys set-credits",
  usage: `Usage: tollgate keys set-credits <key id> --remaining <n>|unlimited [--refill daily|monthly --amount <n> [--refill-day <d>]]

Set an API key's credits: what it may still spend, and how they refill. A refill sets the
remaining credits to its amount, daily at 00:00 UTC or monthly on --refill-day (1 to 31; the
month's last day when it has fewer; default 1). Without --refill they do not refill. Audited;
a running server uses the new balance from the key's next request.

  --remaining <n>        credits left (0 or more), or unlimited (no credits: nothing is counted)
  --refill <interval>    daily or monthly
  --amount <n>           the credits a refill sets (with --refill)
  --refill-day <d>       the day of the month of a monthly refill (default 1)
${CONFIG_OPTION}`,
  options: {
    config: "string",
    remaining: "string",
    refill: "string",
    amount: "string",
    "refill-day": "string",
  },
  positionals: [KEY_ID],
};

export async function runKeysSetCredits(parsed: ParsedCommand): Promise<number> {
  const usage = (message: string) => new UsageError(message, keysSetCredits.usage);
  const remaining = required(
    keysSetCredits,
    parsed,
    "remaining",
    (v) => v === "unlimited" || isCount(0)(v),
    `${COUNT_RULE(0)}, or unlimited`,
  );
  const interval = checkedOption(
    keysSetCredits,
    parsed,
    "refill",
    (v) => v === "daily" || v === "monthly",
    "must be daily or monthly",
  ) as "daily" | "monthly" | undefined;
  const amount = checkedOption(keysSetCredits, parsed, "amount", isCount(0), COUNT_RULE(0));
  const day = checkedOption(
    keysSetCredits,
    parsed,
    "refill-day",
    (v) => /^\d{1,2}$/.test(v) && Number(v) >= 1 && Number(v) <= 31,
    "must be a day of the month, 1 to 31",
  );
  if (interval === undefined && (amount !== undefined || day !== undefined)) {
    throw usage(`--${amount !== undefined ? "amount" : "refill-day"} goes with --refill.`);
  }
  if (interval !== undefined && amount === undefined)
    throw usage("--refill needs --amount: the credits a refill sets.");
  if (interval === "daily" && day !== undefined) throw usage("--refill-day goes with a monthly refill only.");
  if (remaining === "unlimited" && interval !== undefined) {
    throw usage("--refill needs a number for --remaining: unlimited credits have nothing to refill.");
  }
  const credits =
    remaining === "unlimited"
      ? null
      : {
          remaining: Number(remaining),
          refill:
            interval === undefined
              ? null
              : {
                  interval,
                  amount: Number(amount),
                  ...(interval === "monthly" ? { refill_day: Number(day ?? 1) } : {}),
                },
        };
  const id = parsed.positionals[0] as string;
  const { key, after } = await withWritableStore(configFrom(parsed), (db) =>
    changeOperatorKeyLimits(db, id, "tollgate keys set-credits", () => ({ credits })),
  );
  console.log(`Credits of ${key.id} ("${key.name}"): ${creditsText(after.credits)}.`);
  return 0;
}
