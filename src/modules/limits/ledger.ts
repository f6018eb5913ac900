import type { KeyCredits, MaybePromise } from "../auth/model";

/** One spend of credits: whose (the key's own, or its account's), how many, and when. */
export interface CreditSpend {
  tenantId: string;
  environmentId: string;
  credits: KeyCredits;
  cost: number;
  now: number;
}

/** What a spend did: spent or not, and the balance after it (null: unlimited). */
export interface SpendResult {
  spent: boolean;
  remaining: number | null;
}

/**
 * Where balances are kept and spent (SPEC §14): never below zero, never spent twice, refilled
 * lazily at the boundary. Each engine has its own (app.ts picks): on SQLite, whose one server
 * process is the only spender, balances in memory written to the store every second
 * (ledger-buffered.ts); on PostgreSQL, which several instances share, each spend one
 * conditional UPDATE (ledger-stored.ts).
 */
export interface CreditLedger {
  spend(spend: CreditSpend): MaybePromise<SpendResult>;
  /** Writes every balance held in memory to the store: before a response shows stored balances, and at stop. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The balance key of an owner: owners are unique, environments keep a service account's apart. */
export function balanceKey(environmentId: string, ownerId: string): string {
  return `${environmentId}/${ownerId}`;
}
