import type { Queries } from "../../db";
import type { CreditLedger, CreditSpend, SpendResult } from "./ledger";
import { lastRefillBoundary } from "./refill";

// The balance as it is once a due refill is applied: a refill SETS remaining to the amount.
// `@boundary` is the latest refill boundary ("" without a refill, which no timestamp sorts before).
const REFILLED = "CASE WHEN refilled_at < @boundary THEN refill_amount ELSE credits_remaining END";
const OWNER = "tenant_id = @tenantId AND environment_id = @environmentId AND owner_id = @ownerId AND has_credits = 1";

/**
 * Credits where several instances share the store (PostgreSQL): each spend is one conditional
 * UPDATE, refill included, that the database runs one at a time per row, re-checking its
 * condition after any spend it waited for. So a balance never goes below zero nor is spent
 * twice, across every instance, and nothing is held in memory to be lost.
 */
export class StoredCreditLedger implements CreditLedger {
  constructor(private readonly db: Queries) {}

  async spend({ tenantId, environmentId, credits, cost, now }: CreditSpend): Promise<SpendResult> {
    const params = {
      tenantId,
      environmentId,
      ownerId: credits.ownerId,
      cost,
      boundary: credits.refill === null ? "" : lastRefillBoundary(credits.refill, now),
    };
    const remaining = await this.db.value<number | null>(
      `UPDATE limits SET credits_remaining = ${REFILLED} - @cost,
         refilled_at = CASE WHEN refilled_at < @boundary THEN @boundary ELSE refilled_at END
       WHERE ${OWNER} AND (credits_remaining IS NULL OR ${REFILLED} >= @cost)
       RETURNING credits_remaining`,
      params,
    );
    if (remaining !== undefined) return { spent: true, remaining: remaining === null ? null : Number(remaining) };
    const left = await this.db.value<number | null>(`SELECT ${REFILLED} FROM limits WHERE ${OWNER}`, params);
    // No row with credits: they were removed a moment ago, by another instance; nothing to spend.
    if (left === undefined) return { spent: true, remaining: null };
    return { spent: false, remaining: left === null ? null : Number(left) };
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
