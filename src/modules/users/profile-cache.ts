import type { Static } from "elysia";
import { LRUCache } from "lru-cache";
import type { Queries } from "../../db";
import type { UserSchema } from "./model";
import { findUser, toUserResponse } from "./service";

export type UserProfile = Static<typeof UserSchema>;

/**
 * Account profiles as `GET /v1/users/me` shows them, so that route reads no SQLite on the hot
 * path (each read in WAL mode costs a few microseconds of locking). The users service
 * invalidates an account whenever it changes, the tenants service every account of a tenant
 * whenever the tenant changes; the generation fence keeps a read that raced the change from
 * caching the old profile.
 */
export class ProfileCache {
  readonly #profiles: LRUCache<string, UserProfile>;
  #generation = 0;

  constructor(size: number) {
    this.#profiles = new LRUCache({ max: size });
  }

  /** Answered at once from the cache (GET /v1/users/me on the hot path), else read from the store. */
  get(db: Queries, tenantId: string, userId: string): UserProfile | Promise<UserProfile | undefined> {
    const key = `${tenantId}\u0000${userId}`;
    return this.#profiles.get(key) ?? this.#load(db, key, tenantId, userId);
  }

  async #load(db: Queries, key: string, tenantId: string, userId: string): Promise<UserProfile | undefined> {
    const generation = this.#generation;
    const row = await findUser(db, tenantId, userId);
    if (!row) return undefined;
    const profile = toUserResponse(row);
    if (generation === this.#generation) this.#profiles.set(key, profile);
    return profile;
  }

  /** Forgets every profile, as when an account changed in another process. */
  clear(): void {
    this.#generation++;
    this.#profiles.clear();
  }

  invalidate(tenantId: string, userId: string): void {
    this.#generation++;
    this.#profiles.delete(`${tenantId}\u0000${userId}`);
  }

  /** Forgets every profile of a tenant: each one shows the tenant, which just changed. */
  invalidateTenant(tenantId: string): void {
    this.#generation++;
    const prefix = `${tenantId}\u0000`;
    for (const key of [...this.#profiles.keys()]) if (key.startsWith(prefix)) this.#profiles.delete(key);
  }
}
