import { type Queries, type Store } from "../../db";
import { newId, nowIso } from "../../db/ids";
import { sha256Hex } from "../auth/hash";
import { displayIdOf, generateApiKey } from "../auth/key-format";
import type { KeyType, StoredKeyRecord } from "../auth/model";
import type { EnvironmentType } from "../environments/model";
import type { SecretRow } from "./model";
import { keyLimitsOf } from "../limits/key-limits";
import type { LimitsRow } from "../limits/model";

// The secrets table at its lowest level: no caller, no audit. Every verb builds on these.

export interface IssueKeyInput {
  tenantId: string;
  environmentId: string;
  environmentType: EnvironmentType;
  userId: string;
  createdBy: string | null;
  name: string;
  description?: string | null;
  type: KeyType;
  roles: string[];
  expiresAt?: string | null;
}

export interface IssuedKey {
  /** The key itself: returned to the caller once and never stored. */
  apiKey: string;
  secret: SecretRow;
}

/** Generates a key, stores only its hash, and returns the key this one time. */
export async function issueKey(db: Queries, input: IssueKeyInput): Promise<IssuedKey> {
  const apiKey = generateApiKey(
    input.type === "publishable_key" ? "pk" : "sk",
    input.environmentType === "production" ? "live" : "test",
  );
  const now = nowIso();
  const secret: SecretRow = {
    id: newId("sec"),
    tenant_id: input.tenantId,
    environment_id: input.environmentId,
    user_id: input.userId,
    created_by: input.createdBy,
    name: input.name,
    description: input.description ?? null,
    type: input.type,
    provider: "flexprice",
    key_hash: sha256Hex(apiKey),
    display_id: displayIdOf(apiKey),
    roles: JSON.stringify(input.roles),
    status: "published",
    expires_at: input.expiresAt ?? null,
    last_used_at: null,
    replaced_by: null,
    created_at: now,
    updated_at: now,
  };
  // The row as stored (every column, defaults included), from the INSERT: not read back (read.ts, withOwnerOf).
  const stored = (await db.get(
    `INSERT INTO secrets (id, tenant_id, environment_id, user_id, created_by, name, description, type, provider,
       key_hash, display_id, roles, status, expires_at, last_used_at, created_at, updated_at)
     VALUES (@id, @tenant_id, @environment_id, @user_id, @created_by, @name, @description, @type, @provider,
       @key_hash, @display_id, @roles, @status, @expires_at, @last_used_at, @created_at, @updated_at)
     RETURNING *`,
    secret,
  )) as SecretRow;
  return { apiKey, secret: stored };
}

/**
 * The cold path of verification, handed to the authenticator. Primary-key reads, not a join:
 * better-sqlite3's SQLite build re-plans joined statements on every run, which made the join
 * five times slower. The third reads the key's limits and its account's (SPEC §14), cached with
 * the key so that a cache hit reads nothing.
 */
export async function findVerifiableKey(db: Queries, keyHash: string): Promise<StoredKeyRecord | undefined> {
  const secret = (await db.get(
    `SELECT id, name, key_hash, tenant_id, environment_id, user_id, type, roles, status, expires_at
     FROM secrets WHERE key_hash = ?`,
    keyHash,
  )) as Omit<StoredKeyRecord, "owner_type" | "owner_status"> | undefined;
  if (!secret) return undefined;
  const owner = (await db.get("SELECT type, status FROM users WHERE id = ?", secret.user_id)) as {
    type: StoredKeyRecord["owner_type"];
    status: StoredKeyRecord["owner_status"];
  };
  const limits = (await db.all(
    "SELECT * FROM limits WHERE tenant_id = ? AND environment_id = ? AND owner_id IN (?, ?)",
    secret.tenant_id,
    secret.environment_id,
    secret.id,
    secret.user_id,
  )) as LimitsRow[];
  return { ...secret, owner_type: owner.type, owner_status: owner.status, limits: keyLimitsOf(secret, limits) };
}

/** Records when keys were last used, in one transaction for the whole batch. */
export function recordKeysUsed(store: Store, usedAt: Map<string, string>): Promise<void> {
  return store.transaction(async (tx) => {
    for (const [id, at] of usedAt) {
      await tx.run(
        "UPDATE secrets SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
        at,
        id,
        at,
      );
    }
  });
}
