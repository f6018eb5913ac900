import { type Config, DEFAULT_CONFIG } from "../../src/config";
import { createTollgate, type Tollgate } from "../../src/app";
import { MEMORY_DATABASE, SqliteStore } from "../../src/db";
import { createLogger } from "../../src/http/logging";
import { join } from "node:path";
import { sha256Hex } from "../../src/modules/auth/hash";
import { tempDir } from "./temp";
import { testStore } from "./test-store";
import { randomBytes } from "node:crypto";

export const DEV_KEY = "0cc505d7b917e0b1f25ccbea029dd43f4002edfea46b7f941f281911246768fe";
export const DEFAULT_TENANT = "00000000-0000-0000-0000-000000000000";

/** A second tenant, with a config key of its own, for isolation tests. */
export const OTHER_TENANT = "tenant-two";
export const OTHER_TENANT_USER = "user-two";
export const OTHER_TENANT_KEY = "second-tenant-operator-key";

export interface Harness extends Tollgate {
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>;
}

export interface CallOptions {
  /** The X-API-Key value; the development key unless given (null sends none). */
  key?: string | null;
  body?: unknown;
  /** A raw body, sent as is. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface HarnessOptions {
  /**
   * "memory" (default): one in-memory store, event batches committed on the main thread.
   * "file": a store in a temporary folder, as a server runs it: the event writer thread commits
   * (with fsync), reads go through the reader threads. Close the harness when done.
   */
  store?: "memory" | "file";
  /** On a PostgreSQL run, how often changes made by another process are polled (default: never). */
  changePollMs?: number;
  /**
   * At most how often verification compares the store's change counters (default: the server's,
   * change-watch.ts). See OWN_EVICTIONS_ONLY.
   */
  changeCheckIntervalMs?: number;
  /** The clock of the limits (failed attempts, sign-in, rate limits, credit refills); default the real one. */
  now?: () => number;
}

/**
 * A harness whose change watch compares the counters on its first request and then not for an
 * hour: a cached credential is dropped only by the server's own eviction. A test of "fails on
 * the very next request" uses it so that, without the eviction, it fails every time, not only
 * when the next request comes within the server's interval (a millisecond) of the change.
 */
export const OWN_EVICTIONS_ONLY: HarnessOptions = { changeCheckIntervalMs: 60 * 60 * 1000 };

/** A Tollgate on an in-memory (or file) store with captured logs, driven through app.handle. */
export async function createHarness(
  overrides: DeepPartial<Config> = {},
  options: HarnessOptions = {},
): Promise<Harness> {
  const config = mergeDeep(structuredClone(DEFAULT_CONFIG), overrides) as Config;
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger("debug", { sink: (line) => logs.push(JSON.parse(line)) });
  const path = options.store === "file" ? join(tempDir("harness-"), "tollgate.db") : MEMORY_DATABASE;
  // On a PostgreSQL run (test-store.ts), a database of its own instead of the SQLite file.
  const { store, database } = await testStore(path);
  if (database !== null) {
    config.database.url = database.url;
    // A key of its own, as each SQLite store has: one Tollgate's portal tokens are not another's.
    config.customer_portal.signing_key ||= randomBytes(24).toString("hex");
  }
  const tollgate = await createTollgate({
    config,
    store,
    logger,
    now: options.now,
    // On PostgreSQL the watch would poll the store in the background for ever, and hold a
    // listening connection: a run leaves hundreds of harnesses open, and their polls, each
    // reopening connections, slowed a whole run to connection timeouts. A harness is alone on
    // its database; only tests of changes made elsewhere ask for a poll.
    credentialChanges: {
      checkIntervalMs: options.changeCheckIntervalMs,
      pollMs: database === null ? undefined : (options.changePollMs ?? Number.POSITIVE_INFINITY),
      listen: false,
    },
  });
  return {
    ...tollgate,
    logs,
    call: (method, path, options) => callApp(tollgate.app, method, path, options),
  };
}

/**
 * The SQLite store under a Tollgate: for what only SQLite has (its statement cache, pragmas,
 * multi-statement scripts, SQL functions, the file). Portable SQL goes through `context.db`.
 */
export function sqliteStoreOf(tollgate: Pick<Tollgate, "context">): SqliteStore {
  const store = tollgate.context.db;
  if (!(store instanceof SqliteStore)) throw new Error(`this test needs the SQLite store, not ${store.engine}`);
  return store;
}

/** The better-sqlite3 connection under a Tollgate's SQLite store (see sqliteStoreOf). */
export function sqliteOf(tollgate: Pick<Tollgate, "context">): SqliteStore["db"] {
  return sqliteStoreOf(tollgate).db;
}

/** The development key's tenant and OTHER_TENANT, each with its own config key. */
export function createTwoTenantHarness(
  overrides: DeepPartial<Config> = {},
  options: HarnessOptions = {},
): Promise<Harness> {
  return createHarness(
    {
      ...overrides,
      // Other auth settings given pass through; the keys are these two.
      auth: {
        ...overrides.auth,
        api_key: {
          ...overrides.auth?.api_key,
          keys: {
            [sha256Hex(DEV_KEY)]: { tenant_id: DEFAULT_TENANT, user_id: DEFAULT_TENANT, name: "dev", is_active: true },
            [sha256Hex(OTHER_TENANT_KEY)]: {
              tenant_id: OTHER_TENANT,
              user_id: OTHER_TENANT_USER,
              name: "other",
              is_active: true,
            },
          },
        },
      },
    },
    options,
  );
}

export async function callApp(
  app: { handle(request: Request): Promise<Response> },
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<CallResult> {
  const headers = new Headers(options.headers);
  const key = options.key === undefined ? DEV_KEY : options.key;
  if (key !== null) headers.set("x-api-key", key);
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers.set("content-type", "application/json");
  }
  const response = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

function mergeDeep(base: any, override: any): any {
  for (const [k, v] of Object.entries(override ?? {})) {
    base[k] = v && typeof v === "object" && !Array.isArray(v) && k !== "keys" ? mergeDeep(base[k] ?? {}, v) : v;
  }
  return base;
}

/**
 * Asserts the one error envelope (SPEC §0) and returns its nested error member as 2.0.x clients
 * read it (`details` left out when empty). Every caller thereby also checks that the flat fields
 * newer clients read say the same: `code` is `error.internal_error`, `message` is
 * `error.message`, `http_status_code` is the status, `details` is `error.details`.
 */
export function errorOf(result: CallResult): { message: string; internal_error: string; details?: any } {
  const body = result.body;
  if (body?.success !== false || typeof body?.error?.message !== "string") {
    throw new Error(`not an error envelope (status ${result.status}): ${result.text}`);
  }
  const flat = {
    code: body.code,
    message: body.message,
    http_status_code: body.http_status_code,
    details: body.details,
  };
  const expected = {
    code: body.error.internal_error,
    message: body.error.message,
    http_status_code: result.status,
    details: body.error.details,
  };
  if (JSON.stringify(flat) !== JSON.stringify(expected) || typeof body.details !== "object" || body.details === null) {
    throw new Error(`the flat error fields disagree with the nested ones (status ${result.status}): ${result.text}`);
  }
  const { details, ...rest } = body.error;
  return Object.keys(details).length === 0 ? rest : body.error;
}

/** The whole error body the server sends for a status, code and message (SPEC §0). */
export function errorBody(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
  return {
    code,
    message,
    http_status_code: status,
    details,
    success: false,
    error: { message, internal_error: code, details },
  };
}
