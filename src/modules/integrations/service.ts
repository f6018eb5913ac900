// Integration secrets (SPEC §12): sealed at rest, masked on every read. No HTTP here.
import { randomBytes } from "node:crypto";
import type { Config } from "../../config";
import { type Db, sql } from "../../db";
import { newId, nowIso } from "../../db/ids";
import type { Logger } from "../../http/logging";
import { ApiError, notFound, validationError } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { recordAudit } from "../audit/service";
import { KEY_SETTING, SecretBox, type SealedTo, UnsealError, keyIdOfSealed, parseEncryptionKey } from "./cipher";
import {
  INTEGRATION_MESSAGES,
  type IntegrationScope,
  type IntegrationSecretRow,
  type Provider,
  isProvider,
} from "./model";

/** What the service needs: the store, the master key (null when none is configured), a log. */
export interface IntegrationDeps {
  db: Db;
  box: SecretBox | null;
  logger: Logger;
}

export class MasterKeyError extends Error {}

/**
 * The master key of config, checked against the store: every sealed row must name this key and
 * one must open. A wrong key stops the start with a sentence naming the setting, rather than
 * serving credentials it cannot read. Null when no key is configured.
 */
export function openSecretBox(db: Db, config: Config): SecretBox | null {
  const text = config.secrets.encryption_key;
  if (text === "") return null;
  const key = parseEncryptionKey(text);
  if (!key) throw new MasterKeyError(`${KEY_SETTING} must be 32 bytes written as 64 hex characters or as base64`);
  const box = new SecretBox(key);
  const rows = sql(db, "SELECT id, tenant_id, environment_id, credentials FROM integration_secrets").all() as Pick<
    IntegrationSecretRow,
    "id" | "tenant_id" | "environment_id" | "credentials"
  >[];
  const foreign = rows.filter((row) => keyIdOfSealed(row.credentials) !== box.keyId);
  const sample = rows[0];
  let opens = true;
  if (sample && foreign.length === 0) {
    try {
      box.open(sample.credentials, sealedTo(sample));
    } catch {
      opens = false;
    }
  }
  if (foreign.length > 0 || !opens) {
    const count = foreign.length || 1;
    throw new MasterKeyError(
      `${KEY_SETTING} is not the key the integration secrets in this database were encrypted with ` +
        `(${count} of ${rows.length} do not open under it). Configure the key they were encrypted with, or move them to this one with ` +
        `"tollgate secrets rotate-key --from-env <variable holding the old key>".`,
    );
  }
  return box;
}

function sealedTo(row: Pick<IntegrationSecretRow, "id" | "tenant_id" | "environment_id">): SealedTo {
  return { secretId: row.id, tenantId: row.tenant_id, environmentId: row.environment_id };
}

/** Without a master key, integration secrets are refused, naming the setting to configure. */
function requireBox(box: SecretBox | null): SecretBox {
  if (box) return box;
  throw validationError(
    `Integration secrets need a master key: set ${KEY_SETTING} ("tollgate secrets generate-key" prints one)`,
    { setting: "secrets.encryption_key", env: "TOLLGATE_SECRETS_ENCRYPTION_KEY" },
  );
}

export function checkedProvider(value: string): Provider {
  if (isProvider(value)) return value;
  throw validationError(INTEGRATION_MESSAGES.unknownProvider, { provider: INTEGRATION_MESSAGES.unknownProvider });
}

/**
 * The credentials of a row, opened. A row that does not open (tampered, copied from another row)
 * is a server fault: logged with the row's id, never its value, and answered 500.
 */
function openCredentials(deps: IntegrationDeps, row: IntegrationSecretRow): Record<string, string> {
  const box = requireBox(deps.box);
  try {
    return JSON.parse(box.open(row.credentials, sealedTo(row))) as Record<string, string>;
  } catch (err) {
    logUnreadable(deps, row, err);
    throw new ApiError(500, "internal_error", INTEGRATION_MESSAGES.unreadable);
  }
}

function logUnreadable(deps: IntegrationDeps, row: IntegrationSecretRow, err: unknown) {
  deps.logger.error("integration secret does not decrypt", {
    secret_id: row.id,
    tenant_id: row.tenant_id,
    environment_id: row.environment_id,
    reason: err instanceof UnsealError ? err.message : "not a credentials object",
  });
}

/** `sk_live_…7d3f`: a short type prefix such as `sk_live_` or `whsec_` and the last 4 characters. */
export function maskCredential(value: string): string {
  if (value.length < 12) return "…";
  const prefix = /^(?:[a-z]{2,8}_){1,2}/.exec(value)?.[0] ?? "";
  const kept = value.length - prefix.length >= 12 ? prefix : "";
  return `${kept}…${value.slice(-4)}`;
}

export interface IntegrationSecretView {
  id: string;
  name: string;
  type: "integration";
  provider: string;
  display_id: string | null;
  roles: string[];
  user_type: "user" | "service_account" | null;
  status: "published";
  expires_at: string | null;
  last_used_at: string | null;
  environment_id: string;
  credentials: Record<string, string>;
  created_at: string;
  updated_at: string;
}

function toView(row: IntegrationSecretRow, credentials: Record<string, string>): IntegrationSecretView {
  return {
    id: row.id,
    name: row.name,
    type: "integration",
    provider: row.provider,
    display_id: null,
    roles: [],
    user_type: row.created_by_type,
    status: "published",
    expires_at: null,
    last_used_at: null,
    environment_id: row.environment_id,
    credentials: Object.fromEntries(Object.entries(credentials).map(([k, v]) => [k, maskCredential(v)])),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function findByProvider(db: Db, scope: IntegrationScope, provider: Provider): IntegrationSecretRow | undefined {
  return sql(
    db,
    "SELECT * FROM integration_secrets WHERE tenant_id = @tenantId AND environment_id = @environmentId AND provider = @provider",
  ).get({ ...scope, provider }) as IntegrationSecretRow | undefined;
}

/** What an audit row may say of a secret: never a credential, only their names. */
function auditShape(row: Pick<IntegrationSecretRow, "id" | "name" | "provider">, credentialNames: string[]) {
  return { id: row.id, name: row.name, provider: row.provider, credential_names: credentialNames.sort() };
}

/**
 * Creates the provider's secret in the environment, or replaces the one there (same id; audited
 * as an update, old and new values never shown).
 */
export function saveIntegration(
  deps: IntegrationDeps,
  ctx: AuditContext,
  scope: IntegrationScope,
  providerText: string,
  input: { name: string; credentials: Record<string, string>; provider?: string },
): IntegrationSecretView {
  const box = requireBox(deps.box);
  const provider = checkedProvider(providerText);
  if (input.provider !== undefined && input.provider !== provider) {
    const rule = "must match the provider in the path";
    throw validationError(`provider ${rule}`, { provider: rule });
  }
  const plaintext = JSON.stringify(input.credentials);
  const names = Object.keys(input.credentials);
  const now = nowIso();
  return deps.db.transaction(() => {
    const existing = findByProvider(deps.db, scope, provider);
    if (existing) {
      const sealed = box.seal(plaintext, sealedTo(existing));
      sql(deps.db, "UPDATE integration_secrets SET name = ?, credentials = ?, updated_at = ? WHERE id = ?").run(
        input.name,
        sealed,
        now,
        existing.id,
      );
      const before = safeNames(deps, existing);
      recordAudit(deps.db, ctx, {
        action: "integration.update",
        resourceType: "integration",
        resourceId: existing.id,
        before: auditShape(existing, before),
        after: auditShape({ ...existing, name: input.name }, names),
      });
      return toView({ ...existing, name: input.name, credentials: sealed, updated_at: now }, input.credentials);
    }
    const row: IntegrationSecretRow = {
      id: newId("sec"),
      tenant_id: scope.tenantId,
      environment_id: scope.environmentId,
      provider,
      name: input.name,
      credentials: "",
      created_by: ctx.actor.id,
      // Config keys are user accounts (SPEC §2).
      created_by_type:
        ctx.actor.type === "system" ? null : ctx.actor.type === "service_account" ? "service_account" : "user",
      created_at: now,
      updated_at: now,
    };
    row.credentials = box.seal(plaintext, sealedTo(row));
    sql(
      deps.db,
      `INSERT INTO integration_secrets (id, tenant_id, environment_id, provider, name, credentials, created_by,
         created_by_type, created_at, updated_at)
       VALUES (@id, @tenant_id, @environment_id, @provider, @name, @credentials, @created_by, @created_by_type,
         @created_at, @updated_at)`,
    ).run(row);
    recordAudit(deps.db, ctx, {
      action: "integration.create",
      resourceType: "integration",
      resourceId: row.id,
      before: null,
      after: auditShape(row, names),
    });
    return toView(row, input.credentials);
  })();
}

/** The credential names of a row being replaced, for its audit row; none when it does not open. */
function safeNames(deps: IntegrationDeps, row: IntegrationSecretRow): string[] {
  try {
    return Object.keys(openCredentials(deps, row));
  } catch {
    return [];
  }
}

export function getIntegration(deps: IntegrationDeps, scope: IntegrationScope, providerText: string) {
  requireBox(deps.box);
  const provider = checkedProvider(providerText);
  const row = findByProvider(deps.db, scope, provider);
  if (!row) throw notFound(INTEGRATION_MESSAGES.notFound);
  return toView(row, openCredentials(deps, row));
}

export function linkedProviders(deps: IntegrationDeps, scope: IntegrationScope): { providers: string[] } {
  requireBox(deps.box);
  const providers = sql(
    deps.db,
    "SELECT provider FROM integration_secrets WHERE tenant_id = @tenantId AND environment_id = @environmentId ORDER BY provider",
  )
    .all(scope)
    .map((row) => (row as { provider: string }).provider);
  return { providers };
}

export function deleteIntegration(deps: IntegrationDeps, ctx: AuditContext, scope: IntegrationScope, id: string) {
  requireBox(deps.box);
  deps.db.transaction(() => {
    const row = sql(
      deps.db,
      "SELECT * FROM integration_secrets WHERE id = @id AND tenant_id = @tenantId AND environment_id = @environmentId",
    ).get({ ...scope, id }) as IntegrationSecretRow | undefined;
    if (!row) throw notFound(INTEGRATION_MESSAGES.notFound);
    sql(deps.db, "DELETE FROM integration_secrets WHERE id = ?").run(row.id);
    recordAudit(deps.db, ctx, {
      action: "integration.delete",
      resourceType: "integration",
      resourceId: row.id,
      before: auditShape(row, []),
      after: null,
    });
  })();
}

/** What a server-side check (a webhook signature) is made with: a credential, or a stand-in. */
export interface VerificationCredential {
  value: string;
  /** False when the stand-in was used: no such secret or credential, or a row that does not open. */
  found: boolean;
}

// Per master key, a sealed value opened in place of a missing row (see verificationCredential).
const decoys = new WeakMap<SecretBox, { sealed: string; to: SealedTo }>();

function decoyOf(box: SecretBox): { sealed: string; to: SealedTo } {
  let decoy = decoys.get(box);
  if (!decoy) {
    const to = { secretId: "sec_decoy", tenantId: "decoy", environmentId: "decoy" };
    const standIn = randomBytes(24).toString("base64url");
    const plaintext = JSON.stringify({ secret_key: standIn, publishable_key: standIn, webhook_secret: standIn });
    decoy = { sealed: box.seal(plaintext, to), to };
    decoys.set(box, decoy);
  }
  return decoy;
}

/**
 * One credential of a provider's secret in an environment, in clear, for server-side use only
 * (a webhook's signing secret). One code path whether or not there is one: without a row
 * (unknown tenant or environment, no secret for the provider) the store's stand-in row is read
 * and an in-memory decoy decrypted and parsed in its place, and a random value returned with
 * `found: false`, so whoever asks from outside cannot tell these apart by timing. A row that does not open is logged (with its id, never a
 * value) and treated as absent. Without a master key no environment has a secret.
 */
export function verificationCredential(
  deps: IntegrationDeps,
  scope: IntegrationScope,
  provider: Provider,
  name: string,
): VerificationCredential {
  const standIn = { value: randomBytes(32).toString("base64url"), found: false };
  if (!deps.box) return standIn;
  // The environment's row, else the stand-in row: one index seek and one row read either way.
  const { found, ...row } = sql(
    deps.db,
    `SELECT *, 1 AS found FROM integration_secrets
       WHERE tenant_id = @tenantId AND environment_id = @environmentId AND provider = @provider
     UNION ALL SELECT *, 0 AS found FROM integration_secret_stand_in
     LIMIT 1`,
  ).get({ ...scope, provider }) as IntegrationSecretRow & { found: 0 | 1 };
  const decoy = decoyOf(deps.box);
  let credentials: Record<string, string>;
  try {
    credentials = JSON.parse(
      found ? deps.box.open(row.credentials, sealedTo(row)) : deps.box.open(decoy.sealed, decoy.to),
    );
  } catch (err) {
    if (found) logUnreadable(deps, row, err);
    return standIn;
  }
  const value = credentials[name];
  return found && value !== undefined ? { value, found: true } : standIn;
}
