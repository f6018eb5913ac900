import type { Queries } from "../../db";
import { type Credits, type Limits, type LimitsRow, type LimitsScope, NO_LIMITS, type RateLimit } from "./model";
import { dueRefillBoundary } from "./refill";

/** The configuration columns of a `limits` row; all null when the owner has none (a LEFT JOIN). */
export type LimitsColumns = Pick<
  LimitsRow,
  "credits_remaining" | "refill_interval" | "refill_amount" | "refill_day" | "refilled_at"
> & { ratelimits: string | null; has_credits: number | null };

/** The columns a key or account row joins in, each prefixed `limit_` (see joinedLimits). */
export function limitsColumns(alias: string): string {
  return [
    "ratelimits",
    "has_credits",
    "credits_remaining",
    "refill_interval",
    "refill_amount",
    "refill_day",
    "refilled_at",
  ]
    .map((column) => `${alias}.${column} AS limit_${column}`)
    .join(", ");
}

/** The row of an owner in `ownerAlias`'s tenant and environment, joined as `alias`. */
export function limitsJoin(alias: string, ownerAlias: string, ownerColumn = "id"): string {
  return `LEFT JOIN limits ${alias} ON ${alias}.tenant_id = ${ownerAlias}.tenant_id AND ${alias}.environment_id = ${ownerAlias}.environment_id AND ${alias}.owner_id = ${ownerAlias}.${ownerColumn}`;
}

/** The columns limitsColumns selected, under their own names. */
export function joinedLimits(joined: object): LimitsColumns {
  const row = joined as Record<string, unknown>;
  return {
    ratelimits: (row.limit_ratelimits as string | undefined) ?? null,
    has_credits: (row.limit_has_credits as number | undefined) ?? null,
    credits_remaining: row.limit_credits_remaining as number | null,
    refill_interval: row.limit_refill_interval as LimitsRow["refill_interval"],
    refill_amount: row.limit_refill_amount as number | null,
    refill_day: row.limit_refill_day as number | null,
    refilled_at: row.limit_refilled_at as string | null,
  };
}

/**
 * What an owner's limits are, as responses show them at `now`: a refill that is due shows as
 * applied (it will be, on the next spend), so a balance is never shown stale past a boundary.
 */
export function limitsOf(columns: LimitsColumns | undefined, now = Date.now()): Limits {
  if (!columns || columns.ratelimits === null) return NO_LIMITS;
  return { ratelimits: JSON.parse(columns.ratelimits) as RateLimit[], credits: creditsOf(columns, now) };
}

function creditsOf(columns: LimitsColumns, now: number): Credits | null {
  if (columns.has_credits !== 1) return null;
  const refill =
    columns.refill_interval === null
      ? null
      : {
          interval: columns.refill_interval,
          amount: columns.refill_amount as number,
          refill_day: columns.refill_interval === "monthly" ? (columns.refill_day ?? 1) : null,
        };
  const due = dueRefillBoundary(refill, columns.refilled_at, now) !== "";
  return { remaining: due ? (refill?.amount ?? null) : columns.credits_remaining, refill };
}

export async function findLimitsRow(db: Queries, scope: LimitsScope): Promise<LimitsRow | undefined> {
  return (await db.get(
    "SELECT * FROM limits WHERE tenant_id = ? AND environment_id = ? AND owner_id = ?",
    scope.tenantId,
    scope.environmentId,
    scope.ownerId,
  )) as LimitsRow | undefined;
}

/** An owner's limits in one environment (none: no rate limits, no credits). */
export async function readLimits(db: Queries, scope: LimitsScope): Promise<Limits> {
  return limitsOf(await findLimitsRow(db, scope));
}

/** Several owners' limits in one environment, in one query: the list of service accounts. */
export async function readLimitsOfOwners(
  db: Queries,
  scope: Omit<LimitsScope, "ownerId">,
  ownerIds: string[],
): Promise<Map<string, Limits>> {
  const rows = (await db.all(
    `SELECT * FROM limits WHERE tenant_id = @tenantId AND environment_id = @environmentId AND ${db.dialect.inJsonArray("owner_id", "@owners")}`,
    { ...scope, owners: JSON.stringify(ownerIds) },
  )) as LimitsRow[];
  const now = Date.now();
  return new Map(rows.map((row) => [row.owner_id, limitsOf(row, now)]));
}
