import { ApiError } from "../../http/errors";
import type { Permission } from "../rbac/model";
import type { Grants } from "../rbac/service";

export type CredentialKind = "config_key" | "api_key" | "session";
export type KeyType = "private_key" | "publishable_key";
export type UserType = "user" | "service_account";

export interface Credential {
  kind: CredentialKind;
  id: string;
  /** The config key's or stored key's name, for audit rows. */
  name: string;
  type: KeyType;
  roles: string[];
  expiresAt: string | null;
}

/** What verification needs of a stored key and its owner, read on a cache miss. */
export interface StoredKeyRecord {
  id: string;
  name: string;
  key_hash: string;
  tenant_id: string;
  environment_id: string;
  user_id: string;
  type: KeyType;
  /** JSON array of role ids. */
  roles: string;
  status: "published" | "archived" | "deleted";
  expires_at: string | null;
  owner_type: UserType;
  owner_status: "published" | "archived";
  /** Its rate limits and credits, its own and its account's (SPEC §14); null when it has none. */
  limits: KeyLimits | null;
}

/** A rate limit that applies to a key: its own, or its service account's (whose window its keys share). */
export interface KeyRateLimit {
  name: string;
  limit: number;
  durationMs: number;
  autoApply: boolean;
  /** The window it counts in: environment, owner and name. */
  window: string;
}

/** The credits a key spends: its own, or its account's. The balance is the ledger's, not cached here. */
export interface KeyCredits {
  ownerId: string;
  /** The balance's name in a ledger held in memory: its environment and owner, built once per cached key. */
  balance: string;
  /** Moves on each change of the configuration: a balance of an older version is not spent. */
  version: number;
  /** Set with `remaining: null`: nothing to count or spend. */
  unlimited: boolean;
  refill: { interval: "daily" | "monthly"; amount: number; refill_day: number | null } | null;
}

/** The limits a key's requests are held to, cached with the key so a cache hit reads nothing. */
export interface KeyLimits {
  tenantId: string;
  environmentId: string;
  ratelimits: KeyRateLimit[];
  credits: KeyCredits | null;
}

/** What one request asks of a key's limits. */
export interface LimitAsk {
  /** Limits named by a verify call or a forward-auth rule, with the cost of this request. */
  named: { name: string; cost: number }[];
  /** Credits this request spends (when the key has credits). */
  credits: number;
}

/** A limit as a request left it (SPEC §13's `ratelimits` of a verification). */
export interface LimitState {
  name: string;
  limit: number;
  remaining: number;
  /** When the window next has room it does not have now, ms since the epoch. */
  reset: number;
  duration_ms: number;
}

/** What the limits said of one request. */
export interface Admission {
  refusal: AccessOutcome.RateLimited | AccessOutcome.UsageExceeded | null;
  ratelimits: LimitState[];
  credits: { remaining: number | null } | null;
  /** When refused: in how many seconds a retry can pass (0: none can, e.g. credits with no refill). */
  retryAfterSeconds: number;
  /** RateLimit-Policy and RateLimit, for every response a limit applied to. */
  headers: Record<string, string>;
}

/** Counts a request against a key's limits and spends its credits (limits/gate.ts). */
export interface LimitGate {
  admit(limits: KeyLimits, ask: LimitAsk): MaybePromise<Admission>;
}

/** A value now, or the promise of one: the hot path answers from caches without a promise. */
export type MaybePromise<T> = T | Promise<T>;

/** What verification needs of a §10 session and its account, read on a cache miss. */
export interface StoredSessionRecord {
  id: string;
  token_hash: string;
  tenant_id: string;
  user_id: string;
  expires_at: string;
  revoked_at: string | null;
  owner_type: UserType;
  owner_status: "published" | "archived";
  /** JSON array: the person's role (super_admin, all_writer or all_reader). */
  owner_roles: string;
}

/** Who is calling, in which tenant and environment, with what: what every guarded handler gets. */
export interface Principal {
  tenantId: string;
  environmentId: string;
  userId: string;
  userType: UserType;
  credential: Credential;
  permissions: Grants;
  /** RateLimit-Policy and RateLimit of the key's limits, for the response (SPEC §14); absent when none apply. */
  limitHeaders?: Record<string, string>;
}

/** Every way a request can fail to get through the door; each maps to one status and message. */
export enum AccessOutcome {
  KeyMissing = "key_missing",
  KeyInvalid = "key_invalid",
  KeyExpired = "key_expired",
  KeyInactive = "key_inactive",
  EnvironmentInaccessible = "environment_inaccessible",
  PublishableKeyRefused = "publishable_key_refused",
  PermissionMissing = "permission_missing",
  /** The client's address used up its budget of failed credential checks (failure-limiter.ts). */
  TooManyFailures = "too_many_failures",
  /** A bearer token that is malformed, unknown or revoked, or whose account is archived. */
  SessionInvalid = "session_invalid",
  SessionExpired = "session_expired",
  /** Forward-auth (SPEC §13): no rule of forward_auth.rules matches the forwarded request. */
  NoForwardRule = "no_forward_rule",
  /** Forward-auth asked by a peer outside forward_auth.trusted_proxies. */
  UntrustedProxy = "untrusted_proxy",
  /** Forward-auth: the proxy did not say which request it asks about, or its path cannot be judged safely. */
  UnjudgeableRequest = "unjudgeable_request",
  /** SPEC §14: one of the key's rate limits has no room for this request. */
  RateLimited = "rate_limited",
  /** SPEC §14: the key's credits do not cover this request. */
  UsageExceeded = "usage_exceeded",
}

export const ACCESS_RESPONSES: Record<AccessOutcome, { status: 401 | 403 | 429; message: string }> = {
  [AccessOutcome.KeyMissing]: { status: 401, message: "API key required" },
  [AccessOutcome.KeyInvalid]: { status: 401, message: "Invalid API key" },
  [AccessOutcome.KeyExpired]: { status: 401, message: "API key has expired" },
  [AccessOutcome.KeyInactive]: { status: 403, message: "API key is inactive" },
  [AccessOutcome.EnvironmentInaccessible]: { status: 403, message: "Invalid or inaccessible environment" },
  [AccessOutcome.PublishableKeyRefused]: { status: 403, message: "Publishable keys cannot access this resource" },
  [AccessOutcome.PermissionMissing]: { status: 403, message: "Insufficient permissions" },
  // Answered instead of a 401 once an address is over its budget; details say why and until when.
  [AccessOutcome.TooManyFailures]: { status: 429, message: "Too many failed authentication attempts" },
  [AccessOutcome.SessionInvalid]: { status: 401, message: "Invalid session token" },
  [AccessOutcome.SessionExpired]: { status: 401, message: "Session has expired" },
  [AccessOutcome.NoForwardRule]: { status: 403, message: "No forward-auth rule allows this request" },
  [AccessOutcome.UntrustedProxy]: {
    status: 403,
    message: "Forward-auth answers only the proxies listed in forward_auth.trusted_proxies",
  },
  [AccessOutcome.UnjudgeableRequest]: {
    status: 403,
    message:
      "The forwarded request cannot be judged: it needs X-Forwarded-Uri (or X-Original-URI) with a path that has no encoded slash, backslash or control character",
  },
  [AccessOutcome.RateLimited]: { status: 429, message: "Rate limit exceeded" },
  [AccessOutcome.UsageExceeded]: { status: 429, message: "Usage limit exceeded" },
};

// Refusals without details are the same every time; building them once keeps a flood of bad
// keys from paying for a fresh Error (and its stack trace) per request.
const PLAIN_DENIALS = new Map(
  Object.entries(ACCESS_RESPONSES).map(([outcome, { status, message }]) => [
    outcome,
    new ApiError(status, codeOf(status), message, undefined, outcome),
  ]),
);

/** A refusal is permission_denied; a limit (429) is too_many_requests, as Flexprice's list names it. */
function codeOf(status: number) {
  return status === 429 ? "too_many_requests" : "permission_denied";
}

export function accessDenied(
  outcome: AccessOutcome,
  details?: Record<string, unknown>,
  headers?: Record<string, string>,
): ApiError {
  if (!details && !headers) return PLAIN_DENIALS.get(outcome) as ApiError;
  const { status, message } = ACCESS_RESPONSES[outcome];
  return new ApiError(status, codeOf(status), message, details, outcome, headers);
}

/** The refusal of a request a key's limits did not admit: 429, Retry-After when a retry can pass, the RateLimit headers. */
export function limitRefusal(admission: Admission): ApiError {
  const outcome = admission.refusal ?? AccessOutcome.RateLimited;
  const details = admission.retryAfterSeconds > 0 ? { retry_after_seconds: admission.retryAfterSeconds } : {};
  return accessDenied(outcome, details, admission.headers);
}

/** What a route declares: exactly one of these, checked by a test over the whole route table. */
export type Access = { kind: "public" } | { kind: "authenticated" } | { kind: "permission"; permission: Permission };
