import { type Db, sql } from "../../db";
import { newId, nowIso } from "../../db/ids";
import { sha256Hex } from "../auth/hash";
import type { KeyType } from "../auth/model";
import type { EnvironmentType } from "../environments/model";
import { displayIdOf, generateApiKey } from "./key-format";
import type { SecretRow, VerifiableKeyRow } from "./model";

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
export function issueKey(db: Db, input: IssueKeyInput): IssuedKey {
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
    created_at: now,
    updated_at: now,
  };
  sql(
    db,
    `INSERT INTO secrets (id, tenant_id, environment_id, user_id, created_by, name, description, type, provider,
       key_hash, display_id, roles, status, expires_at, last_used_at, created_at, updated_at)
     VALUES (@id, @tenant_id, @environment_id, @user_id, @created_by, @name, @description, @type, @provider,
       @key_hash, @display_id, @roles, @status, @expires_at, @last_used_at, @created_at, @updated_at)`,
  ).run(secret);
  return { apiKey, secret };
}

export function findVerifiableKey(db: Db, keyHash: string): VerifiableKeyRow | undefined {
  return sql(
    db,
    `SELECT s.id, s.key_hash, s.tenant_id, s.environment_id, s.user_id, s.type, s.roles, s.status, s.expires_at,
            u.type AS owner_type, u.status AS owner_status
     FROM secrets s JOIN users u ON u.id = s.user_id
     WHERE s.key_hash = ?`,
  ).get(keyHash) as VerifiableKeyRow | undefined;
}

/** Records when keys were last used, in one transaction for the whole batch. */
export function recordKeysUsed(db: Db, usedAt: Map<string, string>): void {
  const update = sql(db, "UPDATE secrets SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)");
  db.transaction(() => {
    for (const [id, at] of usedAt) update.run(at, id, at);
  })();
}
