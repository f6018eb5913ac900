import {
  type Admission,
  AccessOutcome,
  type KeyCredits,
  type KeyLimits,
  type KeyRateLimit,
  type LimitAsk,
  type LimitGate,
  type LimitState,
  type MaybePromise,
} from "../auth/model";
import type { CreditLedger, SpendResult } from "./ledger";
import { nextRefillBoundary } from "./refill";
import type { RateLimitWindows, WindowAnswer, WindowRequest } from "./windows";

/** The rate limits one request counts against, with what each costs it, and their RateLimit-Policy field. */
interface Plan {
  limits: KeyRateLimit[];
  requests: WindowRequest[];
  policy: string;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * A request against a key's limits (SPEC §14), in the order the SPEC gives: its rate limits
 * (the auto-applied ones and those the request names), all or none; then its credits. A request
 * a rate limit refuses spends no credits.
 */
export class Limiter implements LimitGate {
  /**
   * The plan of a request to Tollgate's own routes (the auto-applied limits, cost 1), per cached
   * key's limits: built once, not on every request. A changed configuration is a new KeyLimits.
   */
  readonly #autoPlans = new WeakMap<KeyLimits, Plan>();

  constructor(
    private readonly windows: RateLimitWindows,
    private readonly ledger: CreditLedger,
    private readonly now: () => number = Date.now,
  ) {}

  admit(limits: KeyLimits, ask: LimitAsk): MaybePromise<Admission> {
    const now = this.now();
    const plan = ask.named.length === 0 ? this.#autoPlan(limits) : planOf(limits.ratelimits, ask.named);
    let ratelimits: LimitState[] = [];
    let headers = NO_HEADERS;
    if (plan.requests.length > 0) {
      const answer = this.windows.take(plan.requests, now);
      ratelimits = statesOf(plan, answer, now);
      headers = { "ratelimit-policy": plan.policy, ratelimit: remainingField(ratelimits, now) };
      if (!answer.admitted) {
        const retryAfterSeconds = Math.max(1, Math.ceil(answer.retryAfterMs / 1000));
        return { refusal: AccessOutcome.RateLimited, ratelimits, credits: null, retryAfterSeconds, headers };
      }
    }
    const credits = limits.credits;
    if (credits === null) return { refusal: null, ratelimits, credits: null, retryAfterSeconds: 0, headers };
    // Unlimited credits are nothing to spend: no balance is kept for them.
    if (credits.unlimited) {
      return { refusal: null, ratelimits, credits: { remaining: null }, retryAfterSeconds: 0, headers };
    }
    const spent = this.ledger.spend({
      tenantId: limits.tenantId,
      environmentId: limits.environmentId,
      credits,
      cost: ask.credits,
      now,
    });
    if (spent instanceof Promise) return spent.then((result) => afterSpend(result, credits, ratelimits, headers, now));
    return afterSpend(spent, credits, ratelimits, headers, now);
  }

  #autoPlan(limits: KeyLimits): Plan {
    let plan = this.#autoPlans.get(limits);
    if (plan === undefined) {
      plan = planOf(limits.ratelimits, []);
      this.#autoPlans.set(limits, plan);
    }
    return plan;
  }
}

/** The admission once the credits were spent, or found short. */
function afterSpend(
  result: SpendResult,
  credits: KeyCredits,
  ratelimits: LimitState[],
  headers: Readonly<Record<string, string>>,
  now: number,
): Admission {
  if (result.spent) {
    return { refusal: null, ratelimits, credits: { remaining: result.remaining }, retryAfterSeconds: 0, headers };
  }
  // Out of credits: a retry can pass once they refill, and not before; without a refill, never.
  const refillIn = credits.refill === null ? 0 : nextRefillBoundary(credits.refill, now) - now;
  return {
    refusal: AccessOutcome.UsageExceeded,
    ratelimits,
    credits: { remaining: result.remaining },
    retryAfterSeconds: refillIn > 0 ? Math.max(1, Math.ceil(refillIn / 1000)) : 0,
    headers,
  };
}

/** The key's limits this request counts against, each with its cost: those it names, and the auto-applied ones (cost 1). */
function planOf(ratelimits: KeyRateLimit[], named: LimitAsk["named"]): Plan {
  const limits: KeyRateLimit[] = [];
  const requests: WindowRequest[] = [];
  for (const limit of ratelimits) {
    const asked = named.find((ask) => ask.name === limit.name);
    if (asked === undefined && !limit.autoApply) continue;
    limits.push(limit);
    requests.push({ window: limit.window, limit: limit.limit, durationMs: limit.durationMs, cost: asked?.cost ?? 1 });
  }
  return { limits, requests, policy: policyField(limits) };
}

function statesOf(plan: Plan, answer: WindowAnswer, now: number): LimitState[] {
  const states: LimitState[] = new Array(plan.limits.length);
  for (let i = 0; i < plan.limits.length; i++) {
    const limit = plan.limits[i] as KeyRateLimit;
    const state = answer.states[i];
    states[i] = {
      name: limit.name,
      limit: limit.limit,
      remaining: state?.remaining ?? 0,
      reset: state?.resetAt ?? now,
      duration_ms: limit.durationMs,
    };
  }
  return states;
}

// The IETF RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers,
// structured fields): per limit `"name";q=<limit>;w=<window seconds>` and `"name";r=<remaining>;t=<seconds
// until the window has room again>`.

/** RateLimit-Policy: changes only with the configuration, so a plan builds it once. */
function policyField(limits: KeyRateLimit[]): string {
  let field = "";
  for (const limit of limits) {
    if (field !== "") field += ", ";
    field += `"${limit.name}";q=${limit.limit};w=${Math.max(1, Math.ceil(limit.durationMs / 1000))}`;
  }
  return field;
}

/** RateLimit: what each limit has left after this request. */
function remainingField(states: LimitState[], now: number): string {
  let field = "";
  for (const state of states) {
    if (field !== "") field += ", ";
    field += `"${state.name}";r=${state.remaining};t=${Math.max(0, Math.ceil((state.reset - now) / 1000))}`;
  }
  return field;
}
