import { type Db, sql, sqlPluck } from "../../db";
import type { Scope } from "../../db/scope";

export type { Scope };

// Per connection: tenant and environment → their scope key. Keys never change once made.
const keys = new WeakMap<Db, Map<string, number>>();

function cacheOf(db: Db): Map<string, number> {
  let cache = keys.get(db);
  if (!cache) {
    cache = new Map();
    keys.set(db, cache);
  }
  return cache;
}

/** The scope key of a tenant's environment for reading; undefined when it has no events yet. */
export function findScopeKey(db: Db, scope: Scope): number | undefined {
  const cache = cacheOf(db);
  const cacheKey = `${scope.tenantId}\u0000${scope.environmentId}`;
  let key = cache.get(cacheKey);
  if (key === undefined) {
    key = sqlPluck(db, "SELECT key FROM event_scopes WHERE tenant_id = ? AND environment_id = ?").get(
      scope.tenantId,
      scope.environmentId,
    ) as number | undefined;
    if (key !== undefined) cache.set(cacheKey, key);
  }
  return key;
}

/** The scope key for writing, made on the environment's first event. */
export function scopeKeyFor(db: Db, scope: Scope): number {
  const existing = findScopeKey(db, scope);
  if (existing !== undefined) return existing;
  sql(db, "INSERT OR IGNORE INTO event_scopes (tenant_id, environment_id) VALUES (?, ?)").run(
    scope.tenantId,
    scope.environmentId,
  );
  return findScopeKey(db, scope) as number;
}
