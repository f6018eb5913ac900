import type { Store } from "../../db";
import type { Logger } from "../../http/logging";
import type { KeyCredits } from "../auth/model";
import { balanceKey, type CreditLedger, type CreditSpend, type SpendResult } from "./ledger";
import type { LimitsRow } from "./model";
import { dueRefillBoundary } from "./refill";

/** How often spends are written to the store: a crash forgets at most this much of them. */
const FLUSH_INTERVAL_MS = 1000;
/** A balance unused this long, and written, is let go: read again from the store if used again. */
const IDLE_MS = 60_000;

interface Balance {
  tenantId: string;
  environmentId: string;
  ownerId: string;
  /** The configuration this balance belongs to (credits_version). */
  version: number;
  /** null: unlimited. */
  remaining: number | null;
  refilledAt: string | null;
  refill: KeyCredits["refill"];
  /** Spent (or refilled) since it was last written. */
  dirty: boolean;
  lastUsedAt: number;
}

/**
 * Credits where one server process is the only spender (SQLite): balances are held in memory,
 * read from the store on first use, spent synchronously (no store write on the request's path)
 * and written back at most every second and on a graceful stop. A crash therefore forgets at
 * most the last second of spends: the key gets them back, never loses any.
 *
 * A write is for the configuration version it was spent under: when credits were set or reset
 * meanwhile (here or by `tollgate` beside the server), the write is dropped and the balance read
 * again, so a late write never undoes a reset.
 */
export class BufferedCreditLedger implements CreditLedger {
  readonly #balances = new Map<string, Balance>();
  readonly #loading = new Map<string, Promise<Balance | undefined>>();
  readonly #timer: ReturnType<typeof setInterval>;
  #flushing: Promise<void> | null = null;

  constructor(
    private readonly db: Store,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.#timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.#timer.unref?.();
  }

  spend(spend: CreditSpend): SpendResult | Promise<SpendResult> {
    const key = spend.credits.balance;
    const balance = this.#balances.get(key);
    // A balance of an older configuration than the key knows is stale: read the new one.
    if (balance !== undefined && balance.version >= spend.credits.version) return spendFrom(balance, spend);
    return this.#load(key, spend).then((loaded) =>
      loaded === undefined ? { spent: true, remaining: null } : spendFrom(loaded, spend),
    );
  }

  /** Reads a balance from the store, once however many spends wait for it. */
  #load(key: string, spend: CreditSpend): Promise<Balance | undefined> {
    let loading = this.#loading.get(key);
    if (loading === undefined) {
      loading = this.#read(key, spend).finally(() => this.#loading.delete(key));
      this.#loading.set(key, loading);
    }
    return loading;
  }

  async #read(key: string, { tenantId, environmentId, credits }: CreditSpend): Promise<Balance | undefined> {
    const row = (await this.db.get(
      "SELECT * FROM limits WHERE tenant_id = ? AND environment_id = ? AND owner_id = ? AND has_credits = 1",
      tenantId,
      environmentId,
      credits.ownerId,
    )) as LimitsRow | undefined;
    // Removed since the key was cached: nothing to spend (the key is dropped from the cache too).
    if (row === undefined) return undefined;
    const held = this.#balances.get(key);
    if (held !== undefined && held.version >= row.credits_version) return held;
    const balance: Balance = {
      tenantId,
      environmentId,
      ownerId: credits.ownerId,
      version: row.credits_version,
      remaining: row.credits_remaining,
      refilledAt: row.refilled_at,
      refill:
        row.refill_interval === null
          ? null
          : { interval: row.refill_interval, amount: row.refill_amount as number, refill_day: row.refill_day },
      dirty: false,
      lastUsedAt: this.now(),
    };
    this.#balances.set(key, balance);
    return balance;
  }

  /** Writes what was spent since the last write; lets idle balances go. */
  flush(): Promise<void> {
    // One write at a time: a second one waits for the first and then writes what is left.
    const previous = this.#flushing ?? Promise.resolve();
    const next = previous.then(() => this.#write());
    this.#flushing = next.finally(() => {
      if (this.#flushing === next) this.#flushing = null;
    });
    return next;
  }

  async #write(): Promise<void> {
    const now = this.now();
    const dirty: Balance[] = [];
    for (const [key, balance] of this.#balances) {
      if (balance.dirty) dirty.push(balance);
      else if (now - balance.lastUsedAt > IDLE_MS) this.#balances.delete(key);
    }
    if (dirty.length === 0) return;
    const written = dirty.map((balance) => ({ balance, remaining: balance.remaining, refilledAt: balance.refilledAt }));
    for (const { balance } of written) balance.dirty = false;
    try {
      const stale = await this.db.transaction(async (tx) => {
        const dropped: Balance[] = [];
        for (const { balance, remaining, refilledAt } of written) {
          const changed = await tx.run(
            `UPDATE limits SET credits_remaining = ?, refilled_at = ?
             WHERE tenant_id = ? AND environment_id = ? AND owner_id = ? AND credits_version = ?`,
            remaining,
            refilledAt,
            balance.tenantId,
            balance.environmentId,
            balance.ownerId,
            balance.version,
          );
          if (changed === 0) dropped.push(balance);
        }
        return dropped;
      });
      // Set or removed meanwhile: this balance is of the old configuration; read the new one when next used.
      for (const balance of stale) {
        const key = balanceKey(balance.environmentId, balance.ownerId);
        if (this.#balances.get(key) === balance) this.#balances.delete(key);
      }
    } catch (error) {
      // Kept in memory and written with the next flush; the store refusing a write is reported, not thrown at a timer.
      for (const { balance } of written) balance.dirty = true;
      this.logger.error("credits not written", { error: error instanceof Error ? error.message : String(error) });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

function spendFrom(balance: Balance, { cost, now }: CreditSpend): SpendResult {
  balance.lastUsedAt = now;
  const boundary = dueRefillBoundary(balance.refill, balance.refilledAt, now);
  if (boundary !== "" && balance.refill !== null) {
    balance.remaining = balance.refill.amount;
    balance.refilledAt = boundary;
    balance.dirty = true;
  }
  if (balance.remaining === null) return { spent: true, remaining: null };
  if (balance.remaining < cost) return { spent: false, remaining: balance.remaining };
  balance.remaining -= cost;
  if (cost > 0) balance.dirty = true;
  return { spent: true, remaining: balance.remaining };
}
