import {
  type Admission,
  AccessOutcome,
  type KeyLimits,
  type KeyRateLimit,
  type LimitAsk,
  type LimitGate,
  type LimitState,
  type MaybePromise,
} from "../auth/model";
import type { CreditLedger, SpendResult } from "./ledger";
import { nextRefillBoundary } from "./refill";
import type { RateLimitWindows } from "./windows";

/**
 * A request against a key's limits (SPEC §14), in the order the SPEC gives: its rate limits
 * (the auto-applied ones and those the request names), all or none; then its credits. A request
 * a rate limit refuses spends no credits.
 */
export class Limiter implements LimitGate {
  constructor(
    private readonly windows: RateLimitWindows,
    private readonly ledger: CreditLedger,
    private readonly now: () => number = Date.now,
  ) {}

  admit(limits: KeyLimits, ask: LimitAsk): MaybePromise<Admission> {
    const now = this.now();
    const applied = appliedLimits(limits.ratelimits, ask);
    const answer = this.windows.take(
      applied.map(({ limit, cost }) => ({
        window: limit.window,
        limit: limit.limit,
        durationMs: limit.durationMs,
        cost,
      })),
      now,
    );
    const ratelimits: LimitState[] = applied.map(({ limit }, i) => ({
      name: limit.name,
      limit: limit.limit,
      remaining: answer.states[i]?.remaining ?? 0,
      reset: answer.states[i]?.resetAt ?? now,
      duration_ms: limit.durationMs,
    }));
    const headers = rateLimitHeaders(ratelimits, now);
    const admission: Admission = { refusal: null, ratelimits, credits: null, retryAfterSeconds: 0, headers };
    if (!answer.admitted) {
      return {
        ...admission,
        refusal: AccessOutcome.RateLimited,
        retryAfterSeconds: Math.max(1, Math.ceil(answer.retryAfterMs / 1000)),
      };
    }
    const credits = limits.credits;
    if (credits === null) return admission;
    // Unlimited credits are nothing to spend: no balance is kept for them.
    if (credits.unlimited) return { ...admission, credits: { remaining: null } };
    const spent = this.ledger.spend({
      tenantId: limits.tenantId,
      environmentId: limits.environmentId,
      credits,
      cost: ask.credits,
      now,
    });
    const settle = (result: SpendResult): Admission => {
      if (result.spent) return { ...admission, credits: { remaining: result.remaining } };
      // Out of credits: a retry can pass once they refill, and not before; without a refill, never.
      const refillIn = credits.refill === null ? 0 : nextRefillBoundary(credits.refill, now) - now;
      return {
        ...admission,
        refusal: AccessOutcome.UsageExceeded,
        credits: { remaining: result.remaining },
        retryAfterSeconds: refillIn > 0 ? Math.max(1, Math.ceil(refillIn / 1000)) : 0,
      };
    };
    return spent instanceof Promise ? spent.then(settle) : settle(spent);
  }
}

/** The key's limits this request counts against, each with its cost: those it names, and the auto-applied ones (cost 1). */
function appliedLimits(limits: KeyRateLimit[], ask: LimitAsk): { limit: KeyRateLimit; cost: number }[] {
  const applied: { limit: KeyRateLimit; cost: number }[] = [];
  for (const limit of limits) {
    const named = ask.named.find((asked) => asked.name === limit.name);
    if (named !== undefined) applied.push({ limit, cost: named.cost });
    else if (limit.autoApply) applied.push({ limit, cost: 1 });
  }
  return applied;
}

/**
 * The IETF RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers, structured
 * fields): per limit `"name";q=<limit>;w=<window seconds>` and `"name";r=<remaining>;t=<seconds
 * until the window has room again>`. None when no limit applied.
 */
export function rateLimitHeaders(states: LimitState[], now: number): Record<string, string> {
  if (states.length === 0) return {};
  return {
    "ratelimit-policy": states
      .map((state) => `"${state.name}";q=${state.limit};w=${Math.max(1, Math.ceil(state.duration_ms / 1000))}`)
      .join(", "),
    ratelimit: states
      .map((state) => `"${state.name}";r=${state.remaining};t=${Math.max(0, Math.ceil((state.reset - now) / 1000))}`)
      .join(", "),
  };
}
