import type { KeyLimits, KeyRateLimit } from "../auth/model";
import { balanceKey } from "./ledger";
import type { LimitsRow, RateLimit } from "./model";

/**
 * The limits a key's requests are held to (SPEC §14), from its own `limits` row and its
 * account's in the key's environment: the account's rate limits with the key's own added, a
 * key's limit of the same name winning; the key's credits when it has some, else the account's
 * (shared by its keys). Null when neither carries anything: such a key pays nothing per request.
 */
export function keyLimitsOf(
  key: { id: string; user_id: string; tenant_id: string; environment_id: string },
  rows: LimitsRow[],
): KeyLimits | null {
  const own = rows.find((row) => row.owner_id === key.id);
  const account = rows.find((row) => row.owner_id === key.user_id);
  const byName = new Map<string, KeyRateLimit>();
  for (const row of [account, own]) {
    if (row === undefined) continue;
    for (const limit of JSON.parse(row.ratelimits) as RateLimit[]) {
      byName.set(limit.name, {
        name: limit.name,
        limit: limit.limit,
        durationMs: limit.duration_ms,
        autoApply: limit.auto_apply,
        window: `${row.environment_id}/${row.owner_id}/${limit.name}`,
      });
    }
  }
  const payer = own?.has_credits === 1 ? own : account?.has_credits === 1 ? account : undefined;
  const credits =
    payer === undefined
      ? null
      : {
          ownerId: payer.owner_id,
          balance: balanceKey(payer.environment_id, payer.owner_id),
          version: payer.credits_version,
          unlimited: payer.credits_remaining === null,
          refill:
            payer.refill_interval === null
              ? null
              : {
                  interval: payer.refill_interval,
                  amount: payer.refill_amount as number,
                  refill_day: payer.refill_day,
                },
        };
  if (byName.size === 0 && credits === null) return null;
  return { tenantId: key.tenant_id, environmentId: key.environment_id, ratelimits: [...byName.values()], credits };
}
