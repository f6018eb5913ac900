import { type Queries } from "../../db";
import type { Scope } from "../../db/scope";

export type { Scope };

// Per connection: tenant and environment → their scope key. Keys never change once made.
const keys = new WeakMap<Queries, Map<string, number>>();

function cacheOf(db: Queries): Map<string, number> {
  let cache = keys.get(db);
  if (!cache) {
    cache = new Map();
    keys.set(db, cache);
  }
  return cache;
}

/** The scope key of a tenant's environment for reading; undefined when it has no events yet. */
export async function findScopeKey(db: Queries, scope: Scope): Promise<number | undefined> {
  const cache = cacheOf(db);
  const cacheKey = `${scope.tenantId}\u0000${scope.environmentId}`;
  let key = cache.get(cacheKey);
  if (key === undefined) {
    key = (await db.value(
      "SELECT key FROM event_scopes WHERE tenant_id = ? AND environment_id = ?",
      scope.tenantId,
      scope.environmentId,
    )) as number | undefined;
    if (key !== undefined) cache.set(cacheKey, key);
  }
  return key;
}

/** The scope key for writing, made on the environment's first event. */
export async function scopeKeyFor(db: Queries, scope: Scope): Promise<number> {
  const existing = await findScopeKey(db, scope);
  if (existing !== undefined) return existing;
  await db.run(
    "INSERT INTO event_scopes (tenant_id, environment_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
    scope.tenantId,
    scope.environmentId,
  );
  return (await findScopeKey(db, scope)) as number;
}
