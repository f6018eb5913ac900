import { DEFAULT_TENANT_ID } from "../config";
import { isName, NAME_RULE as ACCOUNT_NAME_RULE } from "../http/schemas";
import {
  type Limits,
  type LimitsInput,
  MAX_AMOUNT,
  MAX_DURATION_MS,
  MIN_DURATION_MS,
  RATE_LIMIT_NAME_PATTERN,
  type RateLimit,
} from "../modules/limits/model";
import {
  changeOperatorKeyLimits,
  operatorKeyLimits,
  withoutRateLimit,
  withRateLimit,
} from "../modules/secrets/limits-operator";
import {
  changeOperatorAccountLimits,
  type OperatorAccountLimits,
  operatorAccountLimits,
  type OperatorAccountRef,
} from "../modules/users/limits-operator";
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

/** The options of a set-limit command, for a key's or a service account's limit. */
const SET_LIMIT_OPTIONS = (
  owner: "key" | "account",
) => `  --name <name>          the limit's name, such as requests or orders.write
  --limit <n>            requests allowed per window (1 or more)
  --duration <window>    the sliding window: 1s, 60s, 15m, 1h, 1d (1s to 30d)
  --named                counted only when a verify call or a forward-auth rule names it
                         (default: applied to every request of the ${owner === "key" ? "key" : "account's keys"})`;
const SET_LIMIT_OPTION_TYPES = { name: "string", limit: "string", duration: "string", named: "boolean" } as const;

/** The option of a remove-limit command, of "tollgate keys" or "tollgate users". */
const REMOVE_LIMIT_OPTIONS = (group: "keys" | "users") =>
  `  --name <name>          the limit's name, as "tollgate ${group} limits" prints it`;

const SET_CREDITS_ARGUMENTS = "--remaining <n>|unlimited [--refill daily|monthly --amount <n> [--refill-day <d>]]";
const SET_CREDITS_RULES = `A refill sets the
remaining credits to its amount, daily at 00:00 UTC or monthly on --refill-day (1 to 31; the
month's last day when it has fewer; default 1). Without --refill they do not refill. Audited;`;
const SET_CREDITS_OPTIONS = `  --remaining <n>        credits left (0 or more), or unlimited (no credits: nothing is counted)
  --refill <interval>    daily or monthly
  --amount <n>           the credits a refill sets (with --refill)
  --refill-day <d>       the day of the month of a monthly refill (default 1)`;
const SET_CREDITS_OPTION_TYPES = {
  remaining: "string",
  refill: "string",
  amount: "string",
  "refill-day": "string",
} as const;

/** --name, held to the API's rule for a limit's name. */
function limitNameFrom(spec: CommandSpec, parsed: ParsedCommand): string {
  return required(spec, parsed, "name", (v) => NAME.test(v), NAME_RULE);
}

/** The rate limit --name, --limit, --duration and --named say. */
function rateLimitFrom(spec: CommandSpec, parsed: ParsedCommand): RateLimit {
  return {
    name: limitNameFrom(spec, parsed),
    limit: Number(required(spec, parsed, "limit", isCount(1), COUNT_RULE(1))),
    duration_ms: parseDuration(required(spec, parsed, "duration", isDuration, DURATION_RULE)) as number,
    auto_apply: parsed.values.named !== true,
  };
}

/** The credits --remaining, --refill, --amount and --refill-day say; null for unlimited. */
function creditsFrom(spec: CommandSpec, parsed: ParsedCommand): LimitsInput["credits"] {
  const usage = (message: string) => new UsageError(message, spec.usage);
  const remaining = required(
    spec,
    parsed,
    "remaining",
    (v) => v === "unlimited" || isCount(0)(v),
    `${COUNT_RULE(0)}, or unlimited`,
  );
  const interval = checkedOption(
    spec,
    parsed,
    "refill",
    (v) => v === "daily" || v === "monthly",
    "must be daily or monthly",
  ) as "daily" | "monthly" | undefined;
  const amount = checkedOption(spec, parsed, "amount", isCount(0), COUNT_RULE(0));
  const day = checkedOption(
    spec,
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
  return remaining === "unlimited"
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
}

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

${SET_LIMIT_OPTIONS("key")}
${CONFIG_OPTION}`,
  options: { config: "string", ...SET_LIMIT_OPTION_TYPES },
  positionals: [KEY_ID],
};

export async function runKeysSetLimit(parsed: ParsedCommand): Promise<number> {
  const limit = rateLimitFrom(keysSetLimit, parsed);
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

${REMOVE_LIMIT_OPTIONS("keys")}
${CONFIG_OPTION}`,
  options: { config: "string", name: "string" },
  positionals: [KEY_ID],
};

export async function runKeysRemoveLimit(parsed: ParsedCommand): Promise<number> {
  const name = limitNameFrom(keysRemoveLimit, parsed);
  const id = parsed.positionals[0] as string;
  const { key, after } = await withWritableStore(configFrom(parsed), (db) =>
    changeOperatorKeyLimits(db, id, "tollgate keys remove-limit", (limits) =>
      withoutRateLimit(limits, name, `API key ${id}`),
    ),
  );
  const left = after.ratelimits.length;
  console.log(`Removed rate limit ${name} of ${key.id} ("${key.name}"); ${left === 0 ? "none" : left} left.`);
  return 0;
}

export const keysSetCredits: CommandSpec = {
  name: "keys set-credits",
  usage: `Usage: tollgate keys set-credits <key id> ${SET_CREDITS_ARGUMENTS}

Set an API key's credits: what it may still spend, and how they refill. ${SET_CREDITS_RULES}
a running server uses the new balance from the key's next request.

${SET_CREDITS_OPTIONS}
${CONFIG_OPTION}`,
  options: { config: "string", ...SET_CREDITS_OPTION_TYPES },
  positionals: [KEY_ID],
};

export async function runKeysSetCredits(parsed: ParsedCommand): Promise<number> {
  const credits = creditsFrom(keysSetCredits, parsed);
  const id = parsed.positionals[0] as string;
  const { key, after } = await withWritableStore(configFrom(parsed), (db) =>
    changeOperatorKeyLimits(db, id, "tollgate keys set-credits", () => ({ credits })),
  );
  console.log(`Credits of ${key.id} ("${key.name}"): ${creditsText(after.credits)}.`);
  return 0;
}

// A service account's rate limits and credits, per environment and shared by its keys there
// (SPEC §14): the same rules and audit as PUT /v1/users/{id}/limits.

const ACCOUNT = "the service account";
const ACCOUNT_OPTIONS = `  <service account>      its id (usr_…) or name, as "tollgate keys create --service-account" takes it
  --environment <env>    the environment id or name: limits are per environment, so it is required
                         unless the tenant has only one
  --tenant <id>          the account's tenant (default: ${DEFAULT_TENANT_ID})`;
const ACCOUNT_OPTION_TYPES = { tenant: "string", environment: "string" } as const;

/** The account, tenant and environment a users limits command names. */
function accountFrom(spec: CommandSpec, parsed: ParsedCommand): OperatorAccountRef {
  const account = parsed.positionals[0] as string;
  if (!isName(account)) throw new UsageError(`The service account ${ACCOUNT_NAME_RULE}.`, spec.usage);
  return {
    tenantId: tenantOption(spec, parsed) ?? DEFAULT_TENANT_ID,
    account: account.trim(),
    environment: environmentOption(spec, parsed),
  };
}

/** Runs `spec`'s change of the account's limits that `parsed` names, audited as the command. */
async function changeAccountLimits(
  spec: CommandSpec,
  parsed: ParsedCommand,
  change: (limits: Limits, ref: OperatorAccountRef) => LimitsInput,
) {
  const ref = accountFrom(spec, parsed);
  return await withWritableStore(configFrom(parsed), (db) =>
    changeOperatorAccountLimits(db, ref, `tollgate ${spec.name}`, (limits) => change(limits, ref)),
  );
}

/** `usr_… ("Worker") in Production`: the account and environment a change was made to. */
const accountText = ({ account, environment }: OperatorAccountLimits) =>
  `${account.id} ("${account.name}") in ${environment.name}`;

export const usersLimits: CommandSpec = {
  name: "users limits",
  usage: `Usage: tollgate users limits <service account> [options]

Print a service account's rate limits and credits in one environment, shared by its keys there
(a key's own limit of the same name comes first: see "tollgate keys limits").

${ACCOUNT_OPTIONS}
${CONFIG_OPTION}`,
  options: { config: "string", ...ACCOUNT_OPTION_TYPES },
  positionals: [ACCOUNT],
};

export async function runUsersLimits(parsed: ParsedCommand): Promise<number> {
  const ref = accountFrom(usersLimits, parsed);
  const db = openExistingStore(configFrom(parsed));
  try {
    const { account, environment, limits } = await operatorAccountLimits(db, ref);
    console.log(
      `Service account ${account.name} (${account.id}) in ${environment.name} (${environment.id}) of tenant ${account.tenant_id}, shared by its keys there`,
    );
    console.log(limitsLines(limits, "").join("\n"));
    return 0;
  } finally {
    await db.close();
  }
}

export const usersSetLimit: CommandSpec = {
  name: "users set-limit",
  usage: `Usage: tollgate users set-limit <service account> --name <name> --limit <n> --duration <window> [options]

Set one of a service account's rate limits in an environment, shared by its keys there: at most
<n> requests per <window>, replacing its limit of that name or adding it. The window keeps its
count. Audited; a running server applies it from the next request of the account's keys.

${ACCOUNT_OPTIONS}
${SET_LIMIT_OPTIONS("account")}
${CONFIG_OPTION}`,
  options: { config: "string", ...ACCOUNT_OPTION_TYPES, ...SET_LIMIT_OPTION_TYPES },
  positionals: [ACCOUNT],
};

export async function runUsersSetLimit(parsed: ParsedCommand): Promise<number> {
  const limit = rateLimitFrom(usersSetLimit, parsed);
  const changed = await changeAccountLimits(usersSetLimit, parsed, (limits) => withRateLimit(limits, limit));
  console.log(
    `Set rate limit ${limit.name} of ${accountText(changed)}: ${rateLimitText(limit)}, counted ${appliedText(limit)}.`,
  );
  return 0;
}

export const usersRemoveLimit: CommandSpec = {
  name: "users remove-limit",
  usage: `Usage: tollgate users remove-limit <service account> --name <name> [options]

Remove one of a service account's rate limits in an environment. Audited; a running server stops
counting it from the next request of the account's keys.

${ACCOUNT_OPTIONS}
${REMOVE_LIMIT_OPTIONS("users")}
${CONFIG_OPTION}`,
  options: { config: "string", ...ACCOUNT_OPTION_TYPES, name: "string" },
  positionals: [ACCOUNT],
};

export async function runUsersRemoveLimit(parsed: ParsedCommand): Promise<number> {
  const name = limitNameFrom(usersRemoveLimit, parsed);
  const changed = await changeAccountLimits(usersRemoveLimit, parsed, (limits, ref) =>
    withoutRateLimit(limits, name, `Service account ${ref.account}`),
  );
  const left = changed.after.ratelimits.length;
  console.log(`Removed rate limit ${name} of ${accountText(changed)}; ${left === 0 ? "none" : left} left.`);
  return 0;
}

export const usersSetCredits: CommandSpec = {
  name: "users set-credits",
  usage: `Usage: tollgate users set-credits <service account> ${SET_CREDITS_ARGUMENTS} [options]

Set a service account's credits in an environment, spent by its keys there that have none of
their own: what they may still spend, and how they refill. ${SET_CREDITS_RULES}
a running server uses the new balance from the next request of the account's keys.

${ACCOUNT_OPTIONS}
${SET_CREDITS_OPTIONS}
${CONFIG_OPTION}`,
  options: { config: "string", ...ACCOUNT_OPTION_TYPES, ...SET_CREDITS_OPTION_TYPES },
  positionals: [ACCOUNT],
};

export async function runUsersSetCredits(parsed: ParsedCommand): Promise<number> {
  const credits = creditsFrom(usersSetCredits, parsed);
  const changed = await changeAccountLimits(usersSetCredits, parsed, () => ({ credits }));
  console.log(`Credits of ${accountText(changed)}: ${creditsText(changed.after.credits)}.`);
  return 0;
}
