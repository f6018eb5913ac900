import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { Value } from "@sinclair/typebox/value";
import type { TSchema } from "@sinclair/typebox";
import { parse as parseYaml } from "yaml";
import { MEMORY_DATABASE } from "../db/sqlite/open";
import { isAllowedHostEntry, parseCidr } from "../http/hosts";
import { RESERVED_ROLE_IDS } from "../modules/rbac/roles";
import { RATE_LIMIT_NAME_PATTERN } from "../modules/limits/model";
import { KEY_SETTING, parseEncryptionKey } from "../modules/integrations/cipher";
import { parseGithubPublicKey } from "./github-keys";
import { type Config, ConfigKeySchema, ConfigSchema, DEFAULT_CONFIG, DEV_KEY_HASH } from "./schema";

export {
  type Config,
  type ConfigKey,
  DEFAULT_CONFIG,
  DEV_KEY_HASH,
  DEFAULT_TENANT_ID,
  DEFAULT_USER_ID,
} from "./schema";

export class ConfigError extends Error {}

export interface ConfigSource {
  /** Explicit path from `--config`; wins over TOLLGATE_CONFIG and the working directory. */
  path?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

const ENV_PREFIX = "TOLLGATE_";

/**
 * Defaults, then the YAML file, then TOLLGATE_* variables, then validation.
 * Any problem throws a ConfigError naming the field, so the process stops before serving.
 */
export function loadConfig(source: ConfigSource = {}): Config {
  const env = source.env ?? process.env;
  const file = resolveConfigPath(source.path ?? env.TOLLGATE_CONFIG, source.cwd ?? process.cwd());
  let merged: unknown = structuredClone(DEFAULT_CONFIG);
  if (file) merged = mergeConfig(ConfigSchema, merged, readYaml(file));
  merged = applyEnvOverrides(ConfigSchema, merged, env, []);
  return validateConfig(merged);
}

function resolveConfigPath(explicit: string | undefined, cwd: string): string | null {
  if (explicit) {
    if (!existsSync(explicit)) throw new ConfigError(`Config file not found: ${explicit}`);
    return explicit;
  }
  const local = `${cwd}/config.yaml`;
  return existsSync(local) ? local : null;
}

function readYaml(path: string): unknown {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`Config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlainObject(parsed)) throw new ConfigError(`Config file ${path} must hold a mapping at the top level`);
  return parsed;
}

/**
 * Objects merge field by field so a partial file keeps the other defaults; maps (such as the
 * config keys) are replaced whole, so a production file can drop the development key.
 */
function mergeConfig(schema: TSchema, base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isStructSchema(schema) || !isPlainObject(base) || !isPlainObject(override)) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const child = schema.properties[key];
    out[key] = child ? mergeConfig(child, base[key], value) : value;
  }
  return out;
}

/** TOLLGATE_SERVER_PORT sets server.port; a map such as TOLLGATE_AUTH_API_KEY_KEYS takes JSON. */
function applyEnvOverrides(
  schema: TSchema,
  value: unknown,
  env: Record<string, string | undefined>,
  path: string[],
): unknown {
  if (isStructSchema(schema)) {
    const out: Record<string, unknown> = isPlainObject(value) ? { ...value } : {};
    for (const [key, child] of Object.entries(schema.properties)) {
      out[key] = applyEnvOverrides(child, out[key], env, [...path, key]);
    }
    return out;
  }
  const name = ENV_PREFIX + path.join("_").toUpperCase();
  const raw = env[name];
  if (raw === undefined) return value;
  if (schema.type === "object") {
    try {
      return JSON.parse(raw);
    } catch {
      throw new ConfigError(`Invalid config: ${name} must be a JSON object`);
    }
  }
  if (schema.type === "array") return parseList(name, raw);
  return Value.Convert(schema, raw);
}

/** A list from the environment: a JSON array, or values separated by commas (empty: none). */
function parseList(name: string, raw: string): unknown {
  const text = raw.trim();
  if (text.startsWith("[")) {
    try {
      return JSON.parse(text);
    } catch {
      throw new ConfigError(`Invalid config: ${name} must be a JSON array or a comma-separated list`);
    }
  }
  return text
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

function validateConfig(candidate: unknown): Config {
  const withDefaults = Value.Default(ConfigSchema, candidate) as Record<string, any>;
  // Value.Default does not reach into map values; each config key gets its defaults here.
  const keys = withDefaults.auth?.api_key?.keys;
  if (isPlainObject(keys)) {
    for (const [hash, key] of Object.entries(keys)) {
      // Checked before the schema, whose message would quote the map key: it may be a real key.
      if (!SHA256_HEX.test(hash) || isDevelopmentKeyInClear(hash)) throw new ConfigError(rawKeyMessage(hash));
      keys[hash] = Value.Default(ConfigKeySchema, key);
    }
  }
  // Nor into the roles' (a description left out is empty).
  const roles = withDefaults.rbac?.roles;
  if (isPlainObject(roles)) {
    for (const role of Object.values(roles)) if (isPlainObject(role)) role.description ??= "";
  }
  const first = Value.Errors(ConfigSchema, withDefaults).First();
  if (first) {
    const field = first.path.split("/").filter(Boolean).join(".") || "(root)";
    throw new ConfigError(`Invalid config: ${field}: ${describeError(first.schema, first.message)}`);
  }
  const config = withDefaults as Config;
  checkHost(config.server.host);
  config.server.public_url = checkedPublicUrl(config.server.public_url);
  checkAllowedHosts(config.server.allowed_hosts);
  checkDatabasePath(config.database.path);
  checkDatabaseUrl(config.database.url);
  if (config.database.url !== "" && config.customer_portal.signing_key === "") {
    // Every server must sign portal sessions with one key, and the shared database is no place for it.
    throw new ConfigError(
      "Invalid config: customer_portal.signing_key (TOLLGATE_CUSTOMER_PORTAL_SIGNING_KEY) is required with database.url: every server on the database must sign portal sessions with the same key",
    );
  }
  checkCustomerPortal(config.customer_portal);
  checkEncryptionKey(config.secrets.encryption_key);
  checkRoles(config.rbac.roles);
  checkForwardAuth(config.forward_auth);
  checkGithubPublicKeys(config.leaked_keys.github.public_keys);
  // Hashes are compared as lowercase hex everywhere else.
  config.auth.api_key.keys = Object.fromEntries(
    Object.entries(config.auth.api_key.keys).map(([hash, key]) => [hash.toLowerCase(), key]),
  );
  config.auth.api_key.header = config.auth.api_key.header.toLowerCase();
  return config;
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** Empty (integration secrets off) or 32 bytes as hex or base64; the message never quotes the key. */
function checkEncryptionKey(text: string): void {
  if (text === "" || parseEncryptionKey(text) !== null) return;
  throw new ConfigError(
    `Invalid config: ${KEY_SETTING} must be 32 bytes written as 64 hex characters or as base64; "tollgate secrets generate-key" prints one`,
  );
}

/** The development key is 64 hex characters itself, so it passes for a digest unless recognised. */
function isDevelopmentKeyInClear(entry: string): boolean {
  return createHash("sha256").update(entry.toLowerCase()).digest("hex") === DEV_KEY_HASH;
}

function rawKeyMessage(entry: string): string {
  // Enough to find the entry, too little to use it.
  const shown = entry.length > 8 ? `${entry.slice(0, 4)}…` : "…";
  return (
    `Invalid config: auth.api_key.keys: the entry "${shown}" is not the SHA-256 of a key. ` +
    `Keys are listed by their digest, never in clear: run "tollgate keys hash <key>" and use what it prints.`
  );
}

/** A choice of literals says what it accepts; any other schema keeps TypeBox's message. */
function describeError(schema: TSchema, message: string): string {
  const choices = (schema.anyOf as TSchema[] | undefined)?.map((option) => option.const);
  if (choices?.length && choices.every((c) => typeof c === "string")) return `must be one of ${choices.join(", ")}`;
  return message;
}

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A host name or an IP address, without a scheme or a port. */
export function isValidHost(host: string): boolean {
  return isIP(host) !== 0 || HOST_NAME.test(host);
}

function checkHost(host: string): void {
  if (isValidHost(host)) return;
  throw new ConfigError(
    `Invalid config: server.host: "${host}" is not a host name or an IP address (such as 127.0.0.1, 0.0.0.0 or ::1); the port goes in server.port`,
  );
}

function checkAllowedHosts(entries: string[]): void {
  for (const entry of entries) {
    if (isAllowedHostEntry(entry, isValidHost)) continue;
    throw new ConfigError(
      `Invalid config: server.allowed_hosts: "${entry}" is not a host name or an IP address without a port (such as tollgate.example.com), "*.example.com" or "*"`,
    );
  }
}

/** A name of an operator's role, entity or action: lower case, as Flexprice's own are. */
const NAME = /^[a-z][a-z0-9_]{0,63}$/;
const PERMISSION_PART = /^([a-z][a-z0-9_.-]{0,63}|\*)$/;

function checkRoles(roles: Config["rbac"]["roles"]): void {
  for (const [id, role] of Object.entries(roles)) {
    const at = `rbac.roles.${id}`;
    if (!NAME.test(id)) {
      throw new ConfigError(
        `Invalid config: rbac.roles: "${id}" is not a role id: lower-case letters, digits and underscores, starting with a letter (such as orders_reader)`,
      );
    }
    if (RESERVED_ROLE_IDS.includes(id)) {
      throw new ConfigError(`Invalid config: ${at}: "${id}" is a built-in role; give yours another id`);
    }
    const entries = Object.entries(role.permissions);
    if (entries.length === 0) {
      throw new ConfigError(`Invalid config: ${at}.permissions: a role allows at least one action on one entity`);
    }
    for (const [entity, actions] of entries) {
      if (!PERMISSION_PART.test(entity)) {
        throw new ConfigError(
          `Invalid config: ${at}.permissions: "${entity}" is not an entity name: lower-case letters, digits, "_", "." or "-", starting with a letter; or "*"`,
        );
      }
      const bad = actions.find((action) => !PERMISSION_PART.test(action));
      if (bad !== undefined) {
        throw new ConfigError(
          `Invalid config: ${at}.permissions.${entity}: "${bad}" is not an action name: lower-case letters, digits, "_", "." or "-", starting with a letter; or "*"`,
        );
      }
    }
  }
}

const PERMISSION = /^[a-z][a-z0-9_.-]{0,63}:[a-z][a-z0-9_.-]{0,63}$/;
const METHOD = /^[A-Z]{1,32}$/;
const RATE_LIMIT_NAME = new RegExp(RATE_LIMIT_NAME_PATTERN);

function checkForwardAuth({ trusted_proxies, rules }: Config["forward_auth"]): void {
  for (const entry of trusted_proxies) {
    if (parseCidr(entry) === null) {
      throw new ConfigError(
        `Invalid config: forward_auth.trusted_proxies: "${entry}" is not an IP address or a CIDR range (such as 10.0.0.0/8 or ::1/128)`,
      );
    }
  }
  rules.forEach((rule, i) => {
    const at = `forward_auth.rules[${i}]`;
    if (!rule.path.startsWith("/")) {
      throw new ConfigError(`Invalid config: ${at}.path: "${rule.path}" must start with "/"`);
    }
    if ((rule.permission === undefined) === (rule.public !== true)) {
      throw new ConfigError(
        `Invalid config: ${at}: give either permission (such as orders:read) or public: true, not both and not neither`,
      );
    }
    if (rule.permission !== undefined && !PERMISSION.test(rule.permission)) {
      throw new ConfigError(
        `Invalid config: ${at}.permission: "${rule.permission}" is not entity:action in lower case (such as orders:read)`,
      );
    }
    const method = rule.methods?.find((m) => !METHOD.test(m));
    if (method !== undefined) {
      throw new ConfigError(
        `Invalid config: ${at}.methods: "${method}" is not an HTTP method in capitals (such as GET)`,
      );
    }
    if (rule.host !== undefined && !isValidHost(rule.host)) {
      throw new ConfigError(`Invalid config: ${at}.host: "${rule.host}" is not a host name without a port`);
    }
    if (rule.public === true && (rule.ratelimits !== undefined || rule.cost !== undefined)) {
      throw new ConfigError(
        `Invalid config: ${at}: a public rule has no key to limit; ratelimits and cost need a permission`,
      );
    }
    const badName = rule.ratelimits?.find((limit) => !RATE_LIMIT_NAME.test(limit.name));
    if (badName !== undefined) {
      throw new ConfigError(
        `Invalid config: ${at}.ratelimits: "${badName.name}" is not a rate limit name: lower-case letters, digits, "_", "." or "-", starting with a letter`,
      );
    }
  });
}

/** GitHub's secret scanning keys: each an ECDSA P-256 key in PEM, each identifier listed once. */
function checkGithubPublicKeys(keys: Config["leaked_keys"]["github"]["public_keys"]): void {
  const seen = new Set<string>();
  keys.forEach(({ key_identifier, key }, i) => {
    const at = `leaked_keys.github.public_keys[${i}]`;
    if (seen.has(key_identifier)) {
      throw new ConfigError(`Invalid config: ${at}.key_identifier: "${key_identifier}" is listed twice`);
    }
    seen.add(key_identifier);
    const parsed = parseGithubPublicKey(key);
    if (typeof parsed === "string") {
      throw new ConfigError(
        `Invalid config: ${at}.key ${parsed}; copy the keys from https://api.github.com/meta/public_keys/secret_scanning`,
      );
    }
  });
}

function checkDatabasePath(path: string): void {
  if (path === MEMORY_DATABASE || !existsSync(path) || !statSync(path).isDirectory()) return;
  throw new ConfigError(
    `Invalid config: database.path: "${path}" is a folder; give the path of the database file, such as ${path.replace(/\/+$/, "")}/tollgate.db`,
  );
}

/** `scheme://host[:port]` of an http(s) address, as a browser sends it in `Origin`; null for anything else. */
function httpOriginOf(text: string): string | null {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : null;
  } catch {
    return null;
  }
}

/**
 * server.public_url: empty, or an absolute http(s) address with nothing after the host and port
 * (a trailing "/" at most), kept as its origin (`https://tollgate.example.com`), since the
 * links built on it add their own paths.
 */
function checkedPublicUrl(text: string): string {
  if (text === "") return text;
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    url = null;
  }
  const plain =
    url !== null &&
    (url.protocol === "http:" || url.protocol === "https:") &&
    url.pathname === "/" &&
    url.search === "" &&
    url.hash === "" &&
    url.username === "" &&
    url.password === "" &&
    !/[?#]/.test(text);
  if (url !== null && plain) return url.origin;
  throw new ConfigError(
    `Invalid config: server.public_url: "${text}" is not an absolute http(s) address without a path, such as https://tollgate.example.com; leave it empty for the address the server listens on`,
  );
}

/**
 * The portal link must be absolute (it goes to a customer, elsewhere), and each allowed origin
 * exactly as browsers write it, since origins are compared as text: no path, no default port,
 * lower case.
 */
function checkCustomerPortal({ url, allowed_origins }: Config["customer_portal"]): void {
  if (url !== "" && httpOriginOf(url) === null) {
    throw new ConfigError(
      `Invalid config: customer_portal.url: "${url}" is not an absolute http(s) address such as https://billing.example.com/portal; leave it empty for Tollgate's own page at /portal`,
    );
  }
  for (const origin of allowed_origins) {
    const canonical = httpOriginOf(origin);
    if (canonical === origin) continue;
    const hint = canonical ? ` (did you mean "${canonical}"?)` : "";
    throw new ConfigError(
      `Invalid config: customer_portal.allowed_origins: "${origin}" is not an origin: give http(s)://host[:port], without a path, such as https://billing.example.com${hint}`,
    );
  }
}

function isStructSchema(schema: TSchema): schema is TSchema & { properties: Record<string, TSchema> } {
  return schema.type === "object" && typeof schema.properties === "object";
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Empty, or a PostgreSQL URL; what is wrong with another value is said without repeating it (it may hold a password). */
function checkDatabaseUrl(url: string): void {
  if (url === "") return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(
      "Invalid config: database.url: is not a URL; give postgres://user:password@host:5432/database, or leave it empty for the embedded store",
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new ConfigError(
      `Invalid config: database.url: must start with postgres:// (it starts with ${parsed.protocol}//), or be empty for the embedded store`,
    );
  }
  if (parsed.pathname.replace(/^\//, "") === "") {
    throw new ConfigError("Invalid config: database.url: names no database; add it after the host (…:5432/tollgate)");
  }
}
