import type { Config } from "../../config";
import { USER_ACCOUNT_ROLES } from "../rbac/roles";
import { Grants, type RoleCatalog } from "../rbac/service";
import { sha256Hex } from "./hash";
import type { Credential, KeyLimits, StoredKeyRecord, StoredSessionRecord, UserType } from "./model";

// The credentials the authenticator verifies, in the one shape its caches hold: config keys,
// stored keys and §10 sessions, each built from what config or the store says of it.

/** A credential that exists (a key, or a §10 session), as the caches hold it. Whether it may be used right now is decided per request. */
export interface VerifiedKey {
  hash: Buffer;
  credential: Credential;
  tenantId: string;
  userId: string;
  userType: UserType;
  /** Stored keys are pinned to their environment; config keys (null) pick one per request. */
  environmentId: string | null;
  active: boolean;
  expiresAtMs: number | null;
  permissions: Grants;
  /** When this key was last handed to the LastUsedRecorder (ms), so it is noted once a minute. */
  lastNotedAt: number;
  /** A stored key's rate limits and credits (SPEC §14); null for other credentials and keys without. */
  limits: KeyLimits | null;
}

/** Config keys by SHA-256 hex: each acts as its user account, with full access. */
export function configKeysOf(config: Config, roles: RoleCatalog): Map<string, VerifiedKey> {
  return new Map(
    Object.entries(config.auth.api_key.keys).map(([hash, key]) => [
      hash,
      {
        hash: Buffer.from(hash, "hex"),
        credential: {
          kind: "config_key",
          id: configKeyId(hash),
          name: key.name,
          type: "private_key",
          roles: USER_ACCOUNT_ROLES,
          expiresAt: null,
        },
        tenantId: key.tenant_id,
        userId: key.user_id,
        userType: "user",
        environmentId: null,
        active: key.is_active,
        expiresAtMs: null,
        permissions: roles.grantsOf(USER_ACCOUNT_ROLES),
        lastNotedAt: 0,
        limits: null,
      },
    ]),
  );
}

export function toVerifiedKey(row: StoredKeyRecord, catalog: RoleCatalog): VerifiedKey {
  const roles = JSON.parse(row.roles) as string[];
  return {
    hash: Buffer.from(row.key_hash, "hex"),
    credential: { kind: "api_key", id: row.id, name: row.name, type: row.type, roles, expiresAt: row.expires_at },
    tenantId: row.tenant_id,
    userId: row.user_id,
    userType: row.owner_type,
    environmentId: row.environment_id,
    active: row.status === "published",
    expiresAtMs: row.expires_at === null ? null : Date.parse(row.expires_at),
    // Publishable keys identify their owner but hold no permissions at all.
    permissions: row.type === "publishable_key" ? Grants.NONE : catalog.grantsOf(roles),
    lastNotedAt: 0,
    limits: row.limits,
  };
}

/** A session acts as its person, with the person's role, in the environment each request picks. */
export function toVerifiedSession(row: StoredSessionRecord, catalog: RoleCatalog): VerifiedKey {
  const roles = JSON.parse(row.owner_roles) as string[];
  return {
    hash: Buffer.from(row.token_hash, "hex"),
    credential: {
      kind: "session",
      id: row.id,
      name: "Session",
      type: "private_key",
      roles,
      expiresAt: row.expires_at,
    },
    tenantId: row.tenant_id,
    userId: row.user_id,
    userType: "user",
    environmentId: null,
    active: true,
    expiresAtMs: Date.parse(row.expires_at),
    permissions: catalog.grantsOf(roles),
    lastNotedAt: 0,
    limits: null,
  };
}

/** A stable public id for a config key, derived from its hash without revealing it. */
function configKeyId(hash: string): string {
  return `cfg_${sha256Hex(`tollgate-config-key:${hash}`).slice(0, 16)}`;
}
