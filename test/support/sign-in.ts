import { randomBytes } from "node:crypto";
import { testStore } from "./test-store";
import { expect } from "bun:test";
import { createTollgate } from "../../src/app";
import { type Config, DEFAULT_CONFIG } from "../../src/config";
import { MEMORY_DATABASE } from "../../src/db";
import { createLogger } from "../../src/http/logging";
import type { PasswordHasher } from "../../src/modules/sessions/passwords";
import { type CallOptions, type CallResult, callApp, type Harness } from "./harness";

/** The header these tests' address resolver reads: app.handle has no socket to ask. */
export const CLIENT_HEADER = "x-test-client";

export interface Clock {
  t: number;
}

/** What the password verifier was asked, in order: which password against which hash. */
export interface Verification {
  password: string;
  hash: string;
}

export interface SignInCallOptions extends CallOptions {
  /** The client address the request comes from (none: unknown, as app.handle has no socket). */
  from?: string;
  /** Sends `Authorization: Bearer <token>` and no API key. */
  bearer?: string;
}

export interface SignInHarness extends Omit<Harness, "call"> {
  clock: Clock;
  /** Every hash the hasher produced, in order. */
  hashes: string[];
  verifications: Verification[];
  call(method: string, path: string, options?: SignInCallOptions): Promise<CallResult>;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/**
 * argon2id at a low cost, so a test run does not spend seconds hashing; the cost is the same
 * for every hash and for the dummy, which is what equal timing depends on. Every call is seen.
 */
export function spyHasher(): PasswordHasher & { hashes: string[]; verifications: Verification[] } {
  const hashes: string[] = [];
  const verifications: Verification[] = [];
  return {
    hashes,
    verifications,
    async hash(password) {
      const hash = await Bun.password.hash(password, { algorithm: "argon2id", memoryCost: 1024, timeCost: 1 });
      hashes.push(hash);
      return hash;
    },
    async verify(password, hash) {
      verifications.push({ password, hash });
      return Bun.password.verify(password, hash);
    },
  };
}

/** A Tollgate on an in-memory store whose clock, client addresses and password hasher the test holds. */
export async function signInHarness(
  overrides: DeepPartial<Config> = {},
  options: { changePollMs?: number } = {},
): Promise<SignInHarness> {
  const config = structuredClone(DEFAULT_CONFIG);
  for (const [section, values] of Object.entries(overrides)) {
    const target = config[section as keyof Config] as Record<string, unknown>;
    for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
      target[key] =
        value && typeof value === "object" && !Array.isArray(value)
          ? { ...(target[key] as object), ...(value as object) }
          : value;
    }
  }
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger("debug", { sink: (line) => logs.push(JSON.parse(line)) });
  const clock = { t: Date.now() };
  const hasher = spyHasher();
  // On a PostgreSQL run, a database of its own (test-store.ts), as createHarness does.
  const { store, database } = await testStore(MEMORY_DATABASE);
  if (database !== null) {
    config.database.url = database.url;
    config.customer_portal.signing_key ||= randomBytes(24).toString("hex");
  }
  const tollgate = await createTollgate({
    config,
    store,
    logger,
    credentialChanges:
      database === null ? undefined : { pollMs: options.changePollMs ?? Number.POSITIVE_INFINITY, listen: false },
    clientAddress: (request) => request.headers.get(CLIENT_HEADER),
    now: () => clock.t,
    passwords: hasher,
  });
  return {
    ...tollgate,
    logs,
    clock,
    hashes: hasher.hashes,
    verifications: hasher.verifications,
    call: (method, path, options = {}) => {
      const { from, bearer, ...rest } = options;
      const headers: Record<string, string> = { ...rest.headers };
      if (from !== undefined) headers[CLIENT_HEADER] = from;
      if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
      return callApp(tollgate.app, method, path, {
        ...rest,
        key: bearer !== undefined && rest.key === undefined ? null : rest.key,
        headers,
      });
    },
  };
}

/** The token of a one-time link (`…?token=…`). */
export function tokenOf(url: string): string {
  const token = new URL(url).searchParams.get("token");
  if (!token) throw new Error(`no token in ${url}`);
  return token;
}

/**
 * A person who can sign in, made the way people are: invited by a user account (the
 * development key), then setting their password through the one-time link.
 */
export async function addPerson(
  h: SignInHarness,
  email: string,
  password: string,
  name = "Person",
): Promise<{ id: string; token: string }> {
  const invite = await h.call("POST", "/v1/users", { body: { type: "user", email, name } });
  expect(invite.status).toBe(201);
  const set = await h.call("POST", "/v1/auth/set-password", {
    key: null,
    body: { token: tokenOf(invite.body.set_password_url), password },
  });
  expect(set.status).toBe(200);
  return { id: invite.body.id, token: set.body.token };
}

export async function login(h: SignInHarness, email: string, password: string, from?: string): Promise<CallResult> {
  return h.call("POST", "/v1/auth/login", { key: null, body: { email, password }, from });
}
