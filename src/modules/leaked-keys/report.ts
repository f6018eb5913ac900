// Leaked keys (SPEC §16): a key found where it should not be is killed by whoever found it.
import type { Queries, Store } from "../../db";
import { nowIso } from "../../db/ids";
import { AUDIT } from "../audit/actions";
import type { AuditContext } from "../audit/model";
import { recordAudit } from "../audit/service";
import { sha256Hex } from "../auth/hash";
import { isWellFormedApiKey } from "../auth/key-format";
import type { KeyDeps } from "../secrets/model";
import { toSecretResponse, WITH_OWNER } from "../secrets/read";
import type { LeakedKeyRow, LeakOutcome, LeakSource, ReportedKey } from "./model";

/** Where a report came from, for the audit rows it writes: never who (a report needs no credential). */
export interface Reporter {
  source: LeakSource;
  address: string | null;
  requestId: string | null;
  userAgent: string | null;
}

/** How an audit row names the reporter of a leak. */
const REPORTED_BY: Record<LeakSource, string> = {
  report: "Leak report (POST /v1/secrets/leaked)",
  github: "GitHub secret scanning",
  operator: "tollgate keys leaked",
};

/** Keys looked up and changed in one transaction: a report's 100, or a slice of GitHub's larger batches. */
const KEYS_PER_TRANSACTION = 100;

/**
 * Reports keys leaked and answers, in order, what became of each. Text that is not a key's
 * format, or fails its checksum, is set aside before anything is looked up, so a flood of
 * random keys costs no store read. Every key that exists and is not revoked yet is marked leaked
 * and, when `revoke`, revoked: status deleted, as DELETE /v1/secrets/api/keys/{id} leaves it,
 * which also bumps the credential generation, so every other server drops it from its cache.
 * `evict` is told the hashes of the keys revoked, after their transaction commits and before
 * this returns: a server evicts them from its own cache there, so the very next request with
 * one fails. Each change is audited as `secret.leaked` in its key's tenant and environment,
 * naming where the report came from (the reporter's address).
 */
export async function reportLeakedKeys(
  db: Store,
  reporter: Reporter,
  reported: ReportedKey[],
  revoke: boolean,
  evict: (keyHashes: string[]) => void,
): Promise<LeakOutcome[]> {
  const hashes = reported.map(({ key }) => (isWellFormedApiKey(key) ? sha256Hex(key) : null));
  // A key reported twice is looked up and changed once, where it was first named.
  const firstUrl = new Map<string, string | null>();
  hashes.forEach((hash, i) => {
    if (hash !== null && !firstUrl.has(hash)) firstUrl.set(hash, reported[i]?.url ?? null);
  });
  const unique = [...firstUrl.keys()];
  const found = new Map<string, LeakOutcome>();
  for (let start = 0; start < unique.length; start += KEYS_PER_TRANSACTION) {
    const slice = unique.slice(start, start + KEYS_PER_TRANSACTION);
    const outcomes = await db.transaction(async (tx) => {
      const rows = (await tx.all(`${WITH_OWNER} WHERE ${tx.dialect.inJsonArray("s.key_hash", "@hashes")}`, {
        hashes: JSON.stringify(slice),
      })) as LeakedKeyRow[];
      const changed: [string, LeakOutcome][] = [];
      for (const row of rows) {
        if (row.status === "deleted") {
          changed.push([row.key_hash, { kind: "already_revoked", key: row }]);
          continue;
        }
        const key = await markLeaked(tx, reporter, row, firstUrl.get(row.key_hash) ?? null, revoke);
        changed.push([row.key_hash, { kind: revoke ? "revoked" : "reported", key }]);
      }
      return changed;
    });
    for (const [hash, outcome] of outcomes) found.set(hash, outcome);
    evict(outcomes.flatMap(([hash, outcome]) => (outcome.kind === "revoked" ? [hash] : [])));
  }
  return hashes.map((hash) =>
    hash === null ? { kind: "malformed" } : (found.get(hash) ?? ({ kind: "unknown" } as const)),
  );
}

/** `reportLeakedKeys` for a server: the keys it revokes leave its cache before it answers. */
export function revokeLeakedKeys(
  deps: Pick<KeyDeps, "db" | "keyCache">,
  reporter: Reporter,
  reported: ReportedKey[],
  revoke: boolean,
): Promise<LeakOutcome[]> {
  return reportLeakedKeys(deps.db, reporter, reported, revoke, (hashes) => deps.keyCache.invalidate(hashes));
}

/**
 * Marks one key leaked, revoking it when `revoke`, and audits it in the caller's transaction.
 * A new report of a key whose leak was acknowledged asks its owner again: it leaked again.
 */
async function markLeaked(
  db: Queries,
  reporter: Reporter,
  before: LeakedKeyRow,
  url: string | null,
  revoke: boolean,
): Promise<LeakedKeyRow> {
  const now = nowIso();
  const after: LeakedKeyRow = {
    ...before,
    status: revoke ? "deleted" : before.status,
    updated_at: revoke ? now : before.updated_at,
    leaked_at: now,
    leak_source: reporter.source,
    leak_url: url,
    leak_acknowledged_at: null,
    leak_acknowledged_by: null,
  };
  await db.run(
    `UPDATE secrets SET status = @status, updated_at = @updated_at, leaked_at = @leaked_at,
       leak_source = @leak_source, leak_url = @leak_url, leak_acknowledged_at = NULL, leak_acknowledged_by = NULL
     WHERE tenant_id = @tenant_id AND environment_id = @environment_id AND id = @id`,
    {
      status: after.status,
      updated_at: after.updated_at,
      leaked_at: after.leaked_at,
      leak_source: after.leak_source,
      leak_url: after.leak_url,
      tenant_id: after.tenant_id,
      environment_id: after.environment_id,
      id: after.id,
    },
  );
  await recordAudit(db, auditContextOf(reporter, before), {
    action: AUDIT.secret.leaked,
    resourceId: before.id,
    before: toSecretResponse(before),
    after: { ...toSecretResponse(after), leak: { source: reporter.source, url, revoked: revoke } },
  });
  return after;
}

/** The audit context of a report, in the key's own tenant and environment. */
function auditContextOf(reporter: Reporter, key: LeakedKeyRow): AuditContext {
  return {
    tenantId: key.tenant_id,
    environmentId: key.environment_id,
    actor: { type: "system", id: null, name: REPORTED_BY[reporter.source] },
    credentialId: null,
    requestId: reporter.requestId,
    ip: reporter.address,
    userAgent: reporter.userAgent,
  };
}
