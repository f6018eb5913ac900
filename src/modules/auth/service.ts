import { timingSafeEqual } from "node:crypto";
import type { Config } from "../../config";
import { skipRequestLog } from "../../http";
import { ApiError } from "../../http/errors";
import type { EnvironmentDirectory } from "../environments/service";
import type { CredentialChangeWatch } from "./change-watch";
import { configKeysOf, toVerifiedKey, toVerifiedSession, type VerifiedKey } from "./credentials";
import type { FailedAuthLimiter } from "./failure-limiter";
import type { RoleCatalog } from "../rbac/service";
import { sha256 } from "./hash";
import type { KeyCache } from "./key-cache";
import { isWellFormedApiKey } from "./key-format";
import {
  type Access,
  type Admission,
  AccessOutcome,
  accessDenied,
  type LimitAsk,
  type LimitGate,
  limitRefusal,
  type MaybePromise,
  type Principal,
  type StoredKeyRecord,
  type StoredSessionRecord,
} from "./model";
import { isWellFormedOpaqueToken } from "./opaque-token";

export type { VerifiedKey } from "./credentials";
export type { MaybePromise } from "./model";

/** What a key's own request to Tollgate's routes asks of its limits: the auto-applied ones, and 1 credit (SPEC §14). */
export const OWN_REQUEST: LimitAsk = { named: [], credits: 1 };

export const ENVIRONMENT_HEADER = "x-environment-id";
/** `Authorization: Bearer <session token>`: read only when no API key header was sent. */
export const AUTHORIZATION_HEADER = "authorization";
const BEARER = /^Bearer[ \t]+(\S*)[ \t]*$/i;

/** `last_used_at` is kept to the minute: a key's use is reported at most once a minute. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export interface AuthenticatorDeps {
  config: Config;
  cache: KeyCache<VerifiedKey>;
  environments: EnvironmentDirectory;
  /** The store lookup on a cache miss, by SHA-256 hex. */
  findKey(keyHash: string): Promise<StoredKeyRecord | undefined>;
  /** Told that a stored key was used, at most once a minute per key. */
  keyUsed(secretId: string, at: number): void;
  /** Asked before each verification whether another process changed credentials. */
  changes: CredentialChangeWatch;
  /** Told every outcome: the credential kind when accepted, the AccessOutcome when refused. */
  recordOutcome?: (outcome: string) => void;
  /** Counts failed credential checks per client address; consulted on failures only. */
  failures: FailedAuthLimiter;
  /** The client's address (null when unknown, e.g. app.handle without a socket: not limited). */
  clientAddress(request: Request): string | null;
  /** The roles keys and accounts name, built-in and from config. */
  roles: RoleCatalog;
  /** Verified §10 sessions, by SHA-256 hex of the token: a cache of their own, never shared with keys. */
  sessionCache: KeyCache<VerifiedKey>;
  /** The store lookup of a session on a cache miss, by SHA-256 hex. */
  findSession(tokenHash: string): Promise<StoredSessionRecord | undefined>;
  /** Holds a key's requests to its rate limits and credits (SPEC §14). */
  limits: LimitGate;
}

/**
 * The hot path: who is calling (SPEC.md §1) and may they do this (§2).
 * Every failure is an AccessOutcome; the table in model.ts turns it into status and message.
 */
export class Authenticator {
  readonly header: string;
  readonly #configKeys: Map<string, VerifiedKey>;

  constructor(private readonly deps: AuthenticatorDeps) {
    this.header = deps.config.auth.api_key.header;
    this.#configKeys = configKeysOf(deps.config, deps.roles);
  }

  /**
   * A key presented on behalf of someone else (POST /v1/keys/verify, forward-auth): the same
   * check as a request's own key, after the same look for changes made by other processes, so a
   * key revoked anywhere a moment ago is refused here too. Nothing is thrown or counted: the
   * caller decides what the outcome means.
   */
  async inspectKey(
    presented: string,
    now = Date.now(),
  ): Promise<{ key: VerifiedKey | null; refusal: AccessOutcome | null }> {
    this.deps.changes.check();
    const key = await this.#findKey(presented.trim());
    if (typeof key === "string") return { key: null, refusal: key };
    return { key, refusal: refusalOf(key, now) };
  }

  /** Checks a presented key: format, checksum, cache, store, then state and expiry. */
  async verifyApiKey(presented: string, now = Date.now()): Promise<VerifiedKey | AccessOutcome> {
    const key = await this.#findKey(presented);
    if (typeof key === "string") return key;
    return refusalOf(key, now) ?? key;
  }

  /**
   * The key presented, if it exists (config or store); its state and expiry are not judged here.
   * Answered at once from the config or the cache, a promise only when the store is asked: the
   * hot path is a cache hit, and each asynchronous step on it costs a fraction of a microsecond.
   */
  #findKey(presented: string): MaybePromise<VerifiedKey | AccessOutcome> {
    if (presented === "") return AccessOutcome.KeyMissing;
    const hash = sha256(presented);
    const hex = hash.toString("hex");
    const known = this.#configKeys.get(hex) ?? this.deps.cache.get(hex);
    if (known) return matching(known, hash);
    // A typo or a guess fails its checksum here, before the store is asked anything.
    if (!isWellFormedApiKey(presented) || this.deps.cache.isKnownUnknown(hex)) return AccessOutcome.KeyInvalid;
    return this.#storedKey(hex).then((stored) => matching(stored, hash));
  }

  /** A key neither the config nor the cache holds, looked up in the store. */
  async #storedKey(hex: string): Promise<VerifiedKey | undefined> {
    const { cache } = this.deps;
    const generation = cache.generation;
    const row = await this.deps.findKey(hex);
    if (!row || row.status === "deleted" || row.owner_status !== "published") {
      cache.fillUnknown(hex, generation);
      return undefined;
    }
    const key = toVerifiedKey(row, this.deps.roles);
    cache.fill(hex, key, generation);
    return key;
  }

  /**
   * Checks a §10 session token: format and checksum, cache, store, then expiry. A session is
   * cached like a key (positive and negative, behind the same generation fence), so revoking
   * one evicts it and the next request with it fails.
   */
  async verifySession(presented: string, now = Date.now()): Promise<VerifiedKey | AccessOutcome> {
    if (!isWellFormedOpaqueToken(presented, "tgs")) return AccessOutcome.SessionInvalid;
    const hash = sha256(presented);
    const hex = hash.toString("hex");
    const session = this.deps.sessionCache.get(hex) ?? (await this.#storedSession(hex));
    if (!session || !timingSafeEqual(session.hash, hash)) return AccessOutcome.SessionInvalid;
    if (session.expiresAtMs !== null && session.expiresAtMs <= now) return AccessOutcome.SessionExpired;
    return session;
  }

  /** A session the cache does not hold, looked up in the store. */
  async #storedSession(hex: string): Promise<VerifiedKey | undefined> {
    const cache = this.deps.sessionCache;
    if (cache.isKnownUnknown(hex)) return undefined;
    const generation = cache.generation;
    const row = await this.deps.findSession(hex);
    if (!row || row.revoked_at !== null || row.owner_type !== "user" || row.owner_status !== "published") {
      cache.fillUnknown(hex, generation);
      return undefined;
    }
    const session = toVerifiedSession(row, this.deps.roles);
    cache.fill(hex, session, generation);
    return session;
  }

  /**
   * The principal of a §10 session token, wherever the caller found it: the Authorization
   * header here, the dashboard's cookie there. `environment` is what the caller asked for
   * (X-Environment-ID, the dashboard's switcher); null for the tenant's default. Throws the
   * outcome's error; a caller that answers a request passes it through `refused` so it counts
   * against the client's budget of failed credential checks, as `authorize` does.
   */
  async sessionPrincipal(
    token: string,
    environment: string | null,
    access: Exclude<Access, { kind: "public" }> = { kind: "authenticated" },
  ): Promise<Principal> {
    this.deps.changes.check();
    const session = await this.verifySession(token);
    if (typeof session === "string") throw accessDenied(session);
    return this.#principalOf(session, environment, access, OWN_REQUEST);
  }

  /** The client address of a request, as the failed-attempt limits count it. */
  addressOf(request: Request): string | null {
    return this.deps.clientAddress(request);
  }

  /**
   * Authenticates the request and checks what the route declared; throws (or rejects with) the
   * outcome's error. Synchronous when all it needs is cached (see #findKey), else a promise.
   */
  authorize(request: Request, access: Exclude<Access, { kind: "public" }>): MaybePromise<Principal> {
    let principal: MaybePromise<Principal>;
    try {
      principal = this.#authorize(request, access);
    } catch (error) {
      throw this.#refusal(error, request);
    }
    if (principal instanceof Promise) {
      return principal.then(
        (accepted) => this.#accepted(accepted),
        (error) => {
          throw this.#refusal(error, request);
        },
      );
    }
    return this.#accepted(principal);
  }

  #accepted(principal: Principal): Principal {
    this.deps.recordOutcome?.(principal.credential.kind);
    return principal;
  }

  #refusal(error: unknown, request: Request): unknown {
    const refusal = this.refused(error, request);
    if (refusal === error) this.deps.recordOutcome?.((error as ApiError).reason ?? "error");
    return refusal;
  }

  /**
   * Forward-auth (SPEC §13): the principal of the key a proxied request carries (null: none),
   * holding `permission`, in the environment that request asked for. Refused like a request of
   * Tollgate's own: a 401 counts against `clientAddress`, the client behind the proxy, so one
   * client guessing keys does not use up the budget of everyone behind the same proxy.
   */
  async forwardedPrincipal(
    request: Request,
    presented: string | null,
    environment: string | null,
    permission: string,
    /** The limits the matching rule names and the credits it costs. */
    ask: LimitAsk,
    /** Asked only when the key is refused. */
    clientAddress: () => string | null,
  ): Promise<Principal> {
    try {
      if (presented === null) throw accessDenied(AccessOutcome.KeyMissing);
      this.deps.changes.check();
      const key = await this.verifyApiKey(presented.trim());
      if (typeof key === "string") throw accessDenied(key);
      const principal = await this.#principalOf(key, environment, { kind: "permission", permission }, ask);
      this.deps.recordOutcome?.(principal.credential.kind);
      return principal;
    } catch (error) {
      const refusal = this.refused(error, request, clientAddress());
      if (refusal === error) this.deps.recordOutcome?.((error as ApiError).reason ?? "error");
      throw refusal;
    }
  }

  get failures(): FailedAuthLimiter {
    return this.deps.failures;
  }

  /**
   * Every refused credential passes here (API keys above, portal session tokens in the auth
   * plugin). A 401 is a failed credential check: it is counted against the client's address,
   * and once the address is over its budget it becomes a 429 saying until when. Requests that
   * get through never come here, so successful traffic pays nothing for the limit.
   */
  refused(error: unknown, request: Request, clientAddress = this.deps.clientAddress(request)): unknown {
    if (!(error instanceof ApiError) || error.status !== 401) return error;
    const verdict = this.deps.failures.fail(clientAddress);
    if (!verdict.log) skipRequestLog(request);
    if (verdict.retryAfterSeconds === 0) return error;
    this.deps.recordOutcome?.(AccessOutcome.TooManyFailures);
    return this.#tooManyFailures(verdict.retryAfterSeconds);
  }

  // One error per distinct wait, built once: a flood of refusals does not pay for a fresh Error
  // (and its stack trace) each. At most window_seconds of them.
  readonly #tooMany = new Map<number, ApiError>();

  #tooManyFailures(retryAfterSeconds: number): ApiError {
    let error = this.#tooMany.get(retryAfterSeconds);
    if (error === undefined) {
      if (this.#tooMany.size >= 3600) this.#tooMany.clear();
      const { maxFailures, windowSeconds } = this.deps.failures;
      error = accessDenied(AccessOutcome.TooManyFailures, {
        reason: `More than ${maxFailures} failed credential checks from this address within ${windowSeconds} seconds; a valid credential is still accepted`,
        retry_after_seconds: retryAfterSeconds,
        max_failures: maxFailures,
        window_seconds: windowSeconds,
      });
      this.#tooMany.set(retryAfterSeconds, error);
    }
    return error;
  }

  #authorize(request: Request, access: Exclude<Access, { kind: "public" }>): MaybePromise<Principal> {
    const presented = request.headers.get(this.header);
    // No key: a session, if the request carries one. A request with a key never gets here, so
    // the key path pays nothing for sessions.
    if (presented === null) return this.#bearer(request, access);
    this.deps.changes.check();
    const found = this.#findKey(presented.trim());
    const environment = request.headers.get(ENVIRONMENT_HEADER);
    if (found instanceof Promise) return found.then((key) => this.#keyPrincipal(key, environment, access));
    return this.#keyPrincipal(found, environment, access);
  }

  #keyPrincipal(
    found: VerifiedKey | AccessOutcome,
    environment: string | null,
    access: Exclude<Access, { kind: "public" }>,
  ): MaybePromise<Principal> {
    const key = typeof found === "string" ? found : (refusalOf(found, Date.now()) ?? found);
    if (typeof key === "string") throw accessDenied(key);
    return this.#principalOf(key, environment, access, OWN_REQUEST);
  }

  #bearer(request: Request, access: Exclude<Access, { kind: "public" }>): Promise<Principal> {
    const authorization = request.headers.get(AUTHORIZATION_HEADER);
    const token = authorization === null ? undefined : BEARER.exec(authorization)?.[1];
    // No Authorization header, or one of another scheme: no credential of ours at all.
    if (token === undefined) throw accessDenied(AccessOutcome.KeyMissing);
    return this.sessionPrincipal(token, request.headers.get(ENVIRONMENT_HEADER), access);
  }

  #principalOf(
    key: VerifiedKey,
    requestedEnvironment: string | null,
    access: { kind: "authenticated" } | { kind: "permission"; permission: string },
    ask: LimitAsk,
  ): MaybePromise<Principal> {
    const environmentId = this.#environmentFor(key, requestedEnvironment);
    if (environmentId instanceof Promise) {
      return environmentId.then((resolved) => this.#principalIn(key, resolved, access, ask));
    }
    return this.#principalIn(key, environmentId, access, ask);
  }

  /**
   * The principal of `key` in `environmentId`, once the route's declared access is checked and
   * then the key's limits (SPEC §14 order: the key, its permission, its rate limits, its credits).
   */
  #principalIn(
    key: VerifiedKey,
    environmentId: string,
    access: { kind: "authenticated" } | { kind: "permission"; permission: string },
    ask: LimitAsk,
  ): MaybePromise<Principal> {
    if (access.kind === "permission") {
      if (key.credential.type === "publishable_key") throw accessDenied(AccessOutcome.PublishableKeyRefused);
      if (!key.permissions.allows(access.permission)) {
        throw accessDenied(AccessOutcome.PermissionMissing, {
          required: access.permission,
          roles: key.credential.roles,
        });
      }
    }
    this.noteUse(key);
    const principal: Principal = {
      tenantId: key.tenantId,
      environmentId,
      userId: key.userId,
      userType: key.userType,
      credential: key.credential,
      permissions: key.permissions,
    };
    if (key.limits === null) return principal;
    const admission = this.deps.limits.admit(key.limits, ask);
    if (admission instanceof Promise) return admission.then((admitted) => withinLimits(principal, admitted));
    return withinLimits(principal, admission);
  }

  /** Records that a key was used (last_used_at), at most once a minute per key. */
  noteUse(key: VerifiedKey): void {
    if (key.credential.kind !== "api_key") return;
    const now = Date.now();
    if (now - key.lastNotedAt < LAST_USED_RESOLUTION_MS) return;
    key.lastNotedAt = now;
    this.deps.keyUsed(key.credential.id, now);
  }

  #environmentFor(key: VerifiedKey, requested: string | null): MaybePromise<string> {
    const wanted = requested?.trim() || null;
    if (key.environmentId !== null) {
      // A stored key works only where it was created; asking for another environment is refused.
      if (wanted !== null && wanted !== key.environmentId) throw accessDenied(AccessOutcome.EnvironmentInaccessible);
      return key.environmentId;
    }
    const { environments } = this.deps;
    if (wanted === null) {
      const fallback = environments.defaultFor(key.tenantId);
      return fallback instanceof Promise ? fallback.then(defaultEnvironment) : defaultEnvironment(fallback);
    }
    const member = environments.belongsTo(key.tenantId, wanted);
    const checked = (belongs: boolean) => {
      if (!belongs) throw accessDenied(AccessOutcome.EnvironmentInaccessible);
      return wanted;
    };
    return member instanceof Promise ? member.then(checked) : checked(member);
  }
}

/** The principal, carrying the RateLimit headers for its response; or the 429 of the limit that refused it. */
function withinLimits(principal: Principal, admission: Admission): Principal {
  if (admission.refusal !== null) throw limitRefusal(admission);
  principal.limitHeaders = admission.headers;
  return principal;
}

/** The key found, if it is the one presented (constant-time); else the refusal. */
function matching(key: VerifiedKey | undefined, hash: Buffer): VerifiedKey | AccessOutcome {
  if (!key || !timingSafeEqual(key.hash, hash)) return AccessOutcome.KeyInvalid;
  return key;
}

/** The tenant's default environment a config key acts in; refused when the tenant has none. */
function defaultEnvironment(id: string | undefined): string {
  if (id === undefined) throw accessDenied(AccessOutcome.EnvironmentInaccessible);
  return id;
}

/** Why an existing key may not be used right now, if it may not. */
function refusalOf(key: VerifiedKey, now: number): AccessOutcome | null {
  if (!key.active) return AccessOutcome.KeyInactive;
  if (key.expiresAtMs !== null && key.expiresAtMs <= now) return AccessOutcome.KeyExpired;
  return null;
}
