// A key's owner is told of its leak (the dashboard's banner on API Keys) until they acknowledge it.
import type { Queries, Store } from "../../db";
import { nowIso } from "../../db/ids";
import { invalidOperation } from "../../http/errors";
import { AUDIT } from "../audit/actions";
import type { AuditContext } from "../audit/model";
import { recordAudit } from "../audit/service";
import type { Principal } from "../auth/model";
import { getKey, type KeyScope, scopeOf, WITH_OWNER } from "../secrets/read";
import { LEAK_MESSAGES, type LeakedKeyRow } from "./model";

/** The most leaks the banner names at once; acknowledging some shows the next. */
const LEAKS_SHOWN = 20;

const TO_ACKNOWLEDGE = "s.leaked_at IS NOT NULL AND s.leak_acknowledged_at IS NULL";
const OWNER_CLAUSE = "(CAST(@ownerId AS TEXT) IS NULL OR s.user_id = @ownerId)";

export interface LeaksToAcknowledge {
  /** This environment's, newest first, at most LEAKS_SHOWN. */
  shown: LeakedKeyRow[];
  /** How many this environment has in all. */
  total: number;
  /** The tenant's other environments that have some, by name. */
  elsewhere: { id: string; name: string; count: number }[];
}

/**
 * The leaked keys a person has not acknowledged yet, among the keys they see (scopeOf: every key
 * of the environment for one who manages all keys, else their own): this environment's, and a
 * count for each other environment of the tenant, so a leak in Production is not missed while
 * Development is on screen.
 */
export async function leaksToAcknowledge(db: Queries, scope: KeyScope): Promise<LeaksToAcknowledge> {
  const shown = (await db.all(
    `${WITH_OWNER} WHERE s.tenant_id = @tenantId AND s.environment_id = @environmentId AND ${OWNER_CLAUSE}
       AND ${TO_ACKNOWLEDGE}
     ORDER BY s.leaked_at DESC, s.id DESC LIMIT ${LEAKS_SHOWN}`,
    scope,
  )) as LeakedKeyRow[];
  const counts = (await db.all(
    `SELECT e.id, e.name, count(*) AS count
     FROM secrets s JOIN environments e ON e.id = s.environment_id
     WHERE s.tenant_id = @tenantId AND ${OWNER_CLAUSE} AND ${TO_ACKNOWLEDGE}
     GROUP BY e.id, e.name ORDER BY e.name, e.id`,
    scope,
  )) as { id: string; name: string; count: number }[];
  const here = counts.find((row) => row.id === scope.environmentId);
  return {
    shown,
    total: Number(here?.count ?? 0),
    elsewhere: counts
      .filter((row) => row.id !== scope.environmentId)
      .map(({ id, name, count }) => ({ id, name, count: Number(count) })),
  };
}

/**
 * The owner has seen a key's leak and dealt with it: the banner stops naming it. Audited as
 * `secret.leak_acknowledged`. A key whose leak is acknowledged already is left as it is (two
 * tabs, a double click); one never reported leaked is refused.
 */
export async function acknowledgeLeak(
  deps: { db: Store },
  principal: Principal,
  audit: AuditContext,
  id: string,
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const before = (await getKey(tx, scopeOf(principal), id)) as LeakedKeyRow;
    if (before.leaked_at === null) throw invalidOperation(LEAK_MESSAGES.notLeaked);
    if (before.leak_acknowledged_at !== null) return;
    const at = nowIso();
    await tx.run(
      `UPDATE secrets SET leak_acknowledged_at = ?, leak_acknowledged_by = ?
       WHERE tenant_id = ? AND environment_id = ? AND id = ?`,
      at,
      principal.userId,
      before.tenant_id,
      before.environment_id,
      before.id,
    );
    const leak = (row: Pick<LeakedKeyRow, "leak_acknowledged_at" | "leak_acknowledged_by">) => ({
      id: before.id,
      display_id: before.display_id,
      leaked_at: before.leaked_at,
      leak_source: before.leak_source,
      leak_acknowledged_at: row.leak_acknowledged_at,
      leak_acknowledged_by: row.leak_acknowledged_by,
    });
    await recordAudit(tx, audit, {
      action: AUDIT.secret.leak_acknowledged,
      resourceId: before.id,
      before: leak(before),
      after: leak({ leak_acknowledged_at: at, leak_acknowledged_by: principal.userId }),
    });
  });
}
