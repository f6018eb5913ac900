import { DEFAULT_TENANT_ID } from "../config";
import { ConfigKeySchema } from "../config/schema";
import { isName, isRfc3339, NAME_RULE, TIMESTAMP_RULE } from "../http/schemas";
import { sha256Hex } from "../modules/auth/hash";
import { isWellFormedApiKey } from "../modules/auth/key-format";
import { reportLeakedKeys } from "../modules/leaked-keys/report";
import type { KeyType } from "../modules/auth/model";
import { type RoleCatalog, roleCatalogOf } from "../modules/rbac/service";
import { BUILT_IN_ROLES } from "../modules/rbac/roles";
import { KEY_STATUS_WORDS, type SecretStatus, type SecretWithOwnerRow } from "../modules/secrets/model";
import { createOperatorKey, listOperatorKeys, OperatorError, revokeOperatorKey } from "../modules/secrets/operator";
import { type CommandSpec, checkedOption, type ParsedCommand, stringOption, UsageError } from "./args";
import { CONFIG_OPTION, configFrom } from "./config-option";
import { openExistingStore, withWritableStore } from "./store";
import { READ_BUDGET_MS } from "../db/read-budget";
import { localPages } from "../reads/pages";

/** For the usage text, which is printed before any config is read: the built-in roles a service account may hold. */
const BUILT_IN_ROLE_IDS = Object.values(BUILT_IN_ROLES)
  .filter((role) => role.assignableTo.includes("service_account"))
  .map((role) => role.id);
const STATUSES: SecretStatus[] = ["published", "deleted", "archived"];

// The same rules as the API and config.yaml, checked before the store is opened: a tenant id
// is what a config key's tenant_id may be (1 to 64 characters), and neither spaces at its ends
// nor control characters, which no one can type into a config file or see in a listing.
const TENANT_ID_MAX = ConfigKeySchema.properties.tenant_id.maxLength ?? 64;
const TENANT_RULE = `must be 1 to ${TENANT_ID_MAX} characters, without surrounding spaces or control characters`;
const isTenantId = (value: string) =>
  value.length >= 1 && value.length <= TENANT_ID_MAX && value.trim() === value && !/\p{Cc}/u.test(value);
/** An environment's id (`env_…`) or its name, which is at most 255 characters. */
const ENVIRONMENT_RULE = "must be an environment id or name of 1 to 255 characters";
const isEnvironmentRef = (value: string) => value.length >= 1 && value.length <= 255;

export function tenantOption(spec: CommandSpec, parsed: ParsedCommand): string | undefined {
  return checkedOption(spec, parsed, "tenant", isTenantId, TENANT_RULE);
}

export function environmentOption(spec: CommandSpec, parsed: ParsedCommand): string | undefined {
  return checkedOption(spec, parsed, "environment", isEnvironmentRef, ENVIRONMENT_RULE);
}

export const keysCreate: CommandSpec = {
  name: "keys create",
  usage: `Usage: tollgate keys create (--roles <role,...> | --service-account <id|name>) [options]

Create an API key, printed once: for a new service account holding --roles, or for an existing
service account (the key gets its roles).

  --roles <r1,r2>        a new service account with these roles: ${BUILT_IN_ROLE_IDS.join(", ")},
                         or roles of rbac.roles
  --service-account <a>  an existing service account of the tenant, by id (usr_…) or name
  --tenant <id>          tenant (default: ${DEFAULT_TENANT_ID}); it must exist
  --create-tenant        create the tenant, with its two environments, if it does not exist
  --environment <env>    environment id or name (default: the tenant's default environment)
  --name <name>          key name, and a new account's (default: "Operator key")
  --type <type>          private_key (default) or publishable_key
  --expires-at <time>    RFC 3339 expiry (default: never)
${CONFIG_OPTION}`,
  options: {
    config: "string",
    tenant: "string",
    "create-tenant": "boolean",
    roles: "string",
    "service-account": "string",
    environment: "string",
    name: "string",
    type: "string",
    "expires-at": "string",
  },
};

/** `--roles`: the roles of a new service account, held to the config's catalog. */
function rolesFrom(option: string, catalog: RoleCatalog): string[] {
  const usage = (message: string) => new UsageError(message, keysCreate.usage);
  const listed = option
    .split(",")
    .map((role) => role.trim())
    .filter(Boolean);
  // The key's account is a service account: the roles one may hold.
  const roleIds = catalog.list("service_account").map((role) => role.id);
  const unknown = listed.find((role) => !catalog.assignable(role, "service_account"));
  if (unknown !== undefined) throw usage(`Unknown role "${unknown}"; the roles are ${roleIds.join(", ")}.`);
  if (listed.length === 0) throw usage(`--roles needs at least one of ${roleIds.join(", ")}.`);
  // A role named twice is held once, as POST /v1/users does.
  return [...new Set(listed)];
}

export async function runKeysCreate(parsed: ParsedCommand): Promise<number> {
  const usage = (message: string) => new UsageError(message, keysCreate.usage);
  const tenantId = tenantOption(keysCreate, parsed) ?? DEFAULT_TENANT_ID;
  const rolesOption = stringOption(parsed, "roles");
  const serviceAccount = checkedOption(keysCreate, parsed, "service-account", isName, NAME_RULE);
  if (rolesOption === undefined && serviceAccount === undefined) {
    throw usage("--roles (a new service account) or --service-account (an existing one) is required.");
  }
  if (rolesOption !== undefined && serviceAccount !== undefined) {
    throw usage("--roles and --service-account do not go together: an existing service account's key gets its roles.");
  }
  const config = configFrom(parsed);
  const catalog = roleCatalogOf(config);
  const roles = rolesOption === undefined ? undefined : rolesFrom(rolesOption, catalog);
  const type = stringOption(parsed, "type") ?? "private_key";
  if (type !== "private_key" && type !== "publishable_key") {
    throw usage("--type must be private_key or publishable_key.");
  }
  const name = checkedOption(keysCreate, parsed, "name", isName, NAME_RULE)?.trim() ?? "Operator key";
  const environmentRef = environmentOption(keysCreate, parsed);
  // RFC 3339 with an offset and a real calendar date, as the API takes it: Date.parse alone
  // accepts `2030-02-30` (rolled over to March) and dates without a time.
  const expiresAt = checkedOption(keysCreate, parsed, "expires-at", isRfc3339, TIMESTAMP_RULE);
  if (expiresAt !== undefined && !(Date.parse(expiresAt) > Date.now())) {
    throw usage("--expires-at must be in the future.");
  }
  const created = await withWritableStore(config, (db) =>
    createOperatorKey(db, catalog, {
      tenantId,
      createTenant: parsed.values["create-tenant"] === true,
      environment: environmentRef,
      account: roles === undefined ? { serviceAccount: (serviceAccount as string).trim() } : { roles },
      name,
      type: type as KeyType,
      expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
    }),
  );
  const { apiKey, secret, environment } = created;
  console.log(apiKey);
  const account = `${roles === undefined ? "" : "new "}service account ${secret.owner_name} (${secret.user_id})`;
  console.error(
    `Created ${secret.id} (${secret.display_id}) for ${account} in ${environment.name} (${environment.id}) of tenant ${tenantId}, roles ${created.roles.join(", ") || "none (publishable)"}. The key above is shown once.`,
  );
  return 0;
}

/**
 * `--status` takes the dashboard's words (active, revoked, disabled) and the API's (published,
 * deleted, archived): people read the first, scripts and the API docs use the second.
 */
const STATUS_BY_WORD = new Map<string, SecretStatus>(
  STATUSES.flatMap((status) => [
    [KEY_STATUS_WORDS[status], status],
    [status, status],
  ]),
);
const STATUS_CHOICES = STATUSES.map((status) => `${KEY_STATUS_WORDS[status]} (${status})`).join(", ");

export const keysList: CommandSpec = {
  name: "keys list",
  usage: `Usage: tollgate keys list [options]

List the API keys of one environment, newest first. Works while the server runs.

  --tenant <id>          tenant (default: ${DEFAULT_TENANT_ID})
  --environment <env>    environment id or name (default: the tenant's default environment)
  --status <status>      active (default), revoked or disabled (its account is archived);
                         or the API's words for them: published, deleted, archived
${CONFIG_OPTION}`,
  options: { config: "string", tenant: "string", environment: "string", status: "string" },
};

export async function runKeysList(parsed: ParsedCommand): Promise<number> {
  const word = stringOption(parsed, "status") ?? "active";
  const status = STATUS_BY_WORD.get(word.toLowerCase());
  if (status === undefined) throw new UsageError(`--status must be one of ${STATUS_CHOICES}.`, keysList.usage);
  const tenantId = tenantOption(keysList, parsed) ?? DEFAULT_TENANT_ID;
  const environment = environmentOption(keysList, parsed);
  const db = openExistingStore(configFrom(parsed));
  try {
    const {
      environment: listed,
      rows,
      total,
    } = await listOperatorKeys(db, localPages(db, READ_BUDGET_MS), {
      tenantId,
      environment,
      status,
    });
    const shown = rows.length < total ? `, the newest ${rows.length} shown` : "";
    const words = `${KEY_STATUS_WORDS[status]} key${total === 1 ? "" : "s"} (status ${status})`;
    console.log(`${total} ${words} in ${listed.name} (${listed.id}) of tenant ${tenantId}${shown}`);
    if (rows.length > 0) console.log(`\n${keyTable(rows)}`);
    return 0;
  } finally {
    db.close();
  }
}

function keyTable(rows: SecretWithOwnerRow[]): string {
  const minute = (at: string | null, none: string) => (at === null ? none : `${at.slice(0, 16).replace("T", " ")}Z`);
  const table = [
    ["ID", "KEY", "NAME", "ACCOUNT", "ROLES", "STATUS", "CREATED", "LAST USED", "EXPIRES"],
    ...rows.map((row) => [
      row.id,
      row.display_id,
      row.name,
      `${row.owner_name} (${row.owner_type === "user" ? "user" : "service account"})`,
      (JSON.parse(row.roles) as string[]).join(",") || "-",
      KEY_STATUS_WORDS[row.status],
      minute(row.created_at, "-"),
      minute(row.last_used_at, "never"),
      minute(row.expires_at, "never"),
    ]),
  ];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)));
  return table
    .map((cells) =>
      cells
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export const keysRevoke: CommandSpec = {
  name: "keys revoke",
  usage: `Usage: tollgate keys revoke <key id>

Revoke an API key (its id, such as sec_01J…, from "tollgate keys list"). It fails from the next
request on, on a server running on the same database too.

${CONFIG_OPTION}`,
  options: { config: "string" },
  positionals: ["the key id"],
};

export async function runKeysRevoke(parsed: ParsedCommand): Promise<number> {
  const id = parsed.positionals[0] as string;
  const revoked = await withWritableStore(configFrom(parsed), async (db) => await revokeOperatorKey(db, id));
  console.log(`Revoked ${revoked.id} (${revoked.display_id}, "${revoked.name}").`);
  return 0;
}

export const keysLeaked: CommandSpec = {
  name: "keys leaked",
  usage: `Usage: tollgate keys leaked <key>

Revoke a key you found where it should not be (a log, a repository, a ticket), whoever's it is,
as POST /v1/secrets/leaked does: audited as secret.leaked, and its owner sees it on API Keys in
the dashboard until they acknowledge it. It fails from the next request on, on a server running
on the same database too.

${CONFIG_OPTION}`,
  options: { config: "string" },
  positionals: ["the key"],
};

export async function runKeysLeaked(parsed: ParsedCommand): Promise<number> {
  const key = (parsed.positionals[0] as string).trim();
  if (!isWellFormedApiKey(key)) {
    throw new UsageError(
      "That is not a Tollgate key: keys are sk_ or pk_, live_ or test_, then 64 hex characters whose last 8 are a checksum, and this one's format or checksum is wrong.",
      keysLeaked.usage,
    );
  }
  const reporter = { source: "operator" as const, address: null, requestId: null, userAgent: null };
  const [outcome] = await withWritableStore(configFrom(parsed), (db) =>
    // This process has no cache to evict from; a server on the store sees the credential generation move.
    reportLeakedKeys(db, reporter, [{ key, url: null }], true, () => {}),
  );
  if (outcome?.kind === "revoked") {
    const { key: row } = outcome;
    console.log(
      `Revoked ${row.id} (${row.display_id}, "${row.name}") of tenant ${row.tenant_id}, environment ${row.environment_id}, as leaked. Its owner is told in the dashboard.`,
    );
    return 0;
  }
  if (outcome?.kind === "already_revoked") {
    console.log(
      `${outcome.key.id} (${outcome.key.display_id}, "${outcome.key.name}") was revoked already; nothing changed.`,
    );
    return 0;
  }
  throw new OperatorError("No API key in this database is that key; nothing changed.");
}

export const keysHash: CommandSpec = {
  name: "keys hash",
  usage: `Usage: tollgate keys hash <key>

Print the SHA-256 hex of <key>: the form auth.api_key.keys in config.yaml lists keys in.`,
  options: {},
  positionals: ["the key"],
};

export function runKeysHash(parsed: ParsedCommand): number {
  console.log(sha256Hex(parsed.positionals[0] as string));
  return 0;
}
