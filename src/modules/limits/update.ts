import type { Queries } from "../../db";
import { nowIso } from "../../db/ids";
import { validationError } from "../../http/errors";
import { LIMITS_MESSAGES, type Limits, type LimitsInput, type LimitsScope } from "./model";
import { findLimitsRow, limitsOf } from "./read";

/**
 * What the schema cannot say about a limits body: names unique per owner, refill_day for a
 * monthly refill only, a refill only for counted credits. Checked before anything is written.
 */
export function checkLimitsInput(input: LimitsInput): void {
  const seen = new Set<string>();
  for (const [index, limit] of (input.ratelimits ?? []).entries()) {
    if (seen.has(limit.name)) {
      throw validationError(LIMITS_MESSAGES.duplicateName(limit.name), {
        [`ratelimits[${index}].name`]: "is already used by another limit of this list",
      });
    }
    seen.add(limit.name);
  }
  const refill = input.credits?.refill;
  if (refill) {
    if (refill.interval !== "monthly" && refill.refill_day != null) {
      throw validationError(LIMITS_MESSAGES.refillDayMonthlyOnly, {
        "credits.refill.refill_day": "is for monthly refills",
      });
    }
    if (input.credits?.remaining === null) {
      throw validationError(LIMITS_MESSAGES.refillNeedsRemaining, { "credits.remaining": "is required with a refill" });
    }
  }
}

/** Whether a body changes anything at all. */
export function hasLimits(input: LimitsInput): boolean {
  return input.ratelimits !== undefined || input.credits !== undefined;
}

/**
 * Replaces the parts of an owner's limits that `input` names (checked by checkLimitsInput), in
 * the caller's transaction; answers them before and after, for its audit row. Setting credits
 * (or removing them) moves their version, so a spend of the old balance still on its way to the
 * store is dropped rather than undoing the change; the triggers of migration 019 tell every
 * process to drop the keys it cached with the old configuration.
 */
export async function replaceLimits(
  db: Queries,
  scope: LimitsScope,
  input: LimitsInput,
): Promise<{ before: Limits; after: Limits }> {
  const now = nowIso();
  const row = await findLimitsRow(db, scope);
  const before = limitsOf(row);
  if (!row) {
    await db.run(
      "INSERT INTO limits (tenant_id, environment_id, owner_id, updated_at) VALUES (?, ?, ?, ?)",
      scope.tenantId,
      scope.environmentId,
      scope.ownerId,
      now,
    );
  }
  const where = "tenant_id = @tenantId AND environment_id = @environmentId AND owner_id = @ownerId";
  if (input.ratelimits !== undefined) {
    const ratelimits = input.ratelimits.map((limit) => ({
      name: limit.name,
      limit: limit.limit,
      duration_ms: limit.duration_ms,
      auto_apply: limit.auto_apply ?? false,
    }));
    await db.run(`UPDATE limits SET ratelimits = @ratelimits, updated_at = @now WHERE ${where}`, {
      ...scope,
      ratelimits: JSON.stringify(ratelimits),
      now,
    });
  }
  if (input.credits !== undefined) {
    const credits = input.credits;
    const refill = credits?.refill ?? null;
    await db.run(
      `UPDATE limits SET has_credits = @has, credits_remaining = @remaining, refill_interval = @interval,
         refill_amount = @amount, refill_day = @day, refilled_at = @now, credits_version = credits_version + 1,
         updated_at = @now
       WHERE ${where}`,
      {
        ...scope,
        has: credits === null ? 0 : 1,
        remaining: credits?.remaining ?? null,
        interval: refill?.interval ?? null,
        amount: refill?.amount ?? null,
        day: refill?.interval === "monthly" ? (refill.refill_day ?? 1) : null,
        now,
      },
    );
  }
  return { before, after: limitsOf(await findLimitsRow(db, scope)) };
}

/**
 * A rotation's replacement takes over the old key's limits: the same rate limits, and its
 * credits, which the old key no longer holds (during its grace period it has none left to
 * spend), so rotating a key never doubles a balance.
 */
export async function handOverLimits(db: Queries, from: LimitsScope, to: LimitsScope): Promise<void> {
  const limits = limitsOf(await findLimitsRow(db, from));
  if (limits.ratelimits.length === 0 && limits.credits === null) return;
  await replaceLimits(db, to, limits);
  if (limits.credits !== null && limits.credits.remaining !== null) {
    await replaceLimits(db, from, { credits: { remaining: 0, refill: null } });
  }
}
