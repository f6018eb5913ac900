// Integration secrets (SPEC §12): sealed at rest, masked on every read. No HTTP here.
import type { Scope } from "../../db/scope";
import { type Queries, type Store } from "../../db";
import { newId, nowIso } from "../../db/ids";
import type { Logger } from "../../http/logging";
import { ApiError, notFound, validationError } from "../../http/errors";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import { KEY_SETTING, type SecretBox, type SealedTo, UnsealError } from "./cipher";
import type { SigningSecrets } from "./signing";
import { INTEGRATION_MESSAGES, type IntegrationSecretRow, type Provider, isProvider } from "./model";

/** What the service needs: the store, the master key (null when none is configured), a log. */
export interface IntegrationDeps {
  db: Store;
  box: SecretBox | null;
  logger: Logger;
}

/** What the routes that change secrets need besides: the webhook signing secrets to keep current. */
export interface IntegrationWriteDeps extends IntegrationDeps {
  signing: SigningSecrets;
}

export function scopeOf(row: Pick<IntegrationSecretRow, "tenant_id" | "environment_id">): Scope {
  return { tenantId: row.tenant_id, environmentId: row.environment_id };
}

export function sealedTo(row: Pick<IntegrationSecretRow, "id" | "tenant_id" | "environment_id">): SealedTo {
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
export function openCredentials(deps: IntegrationDeps, row: IntegrationSecretRow): Record<string, string> {
  const box = requireBox(deps.box);
  try {
    return JSON.parse(box.open(row.credentials, sealedTo(row))) as Record<string, string>;
  } catch (err) {
    deps.logger.error("integration secret does not decrypt", {
      secret_id: row.id,
      tenant_id: row.tenant_id,
      environment_id: row.environment_id,
      reason: err instanceof UnsealError ? err.message : "not a credentials object",
    });
    throw new ApiError(500, "internal_error", INTEGRATION_MESSAGES.unreadable);
  }
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

async function findByProvider(
  db: Queries,
  scope: Scope,
  provider: Provider,
): Promise<IntegrationSecretRow | undefined> {
  return (await db.get(
    "SELECT * FROM integration_secrets WHERE tenant_id = @tenantId AND environment_id = @environmentId AND provider = @provider",
    { ...scope, provider },
  )) as IntegrationSecretRow | undefined;
}

/** What an audit row may say of a secret: never a credential, only their names. */
function auditShape(row: Pick<IntegrationSecretRow, "id" | "name" | "provider">, credentialNames: string[]) {
  return { id: row.id, name: row.name, provider: row.provider, credential_names: credentialNames.sort() };
}

/**
 * Creates the provider's secret in the environment, or replaces the one there (same id; audited
 * as an update, old and new values never shown).
 */
export async function saveIntegration(
  deps: IntegrationWriteDeps,
  ctx: AuditContext,
  scope: Scope,
  providerText: string,
  input: { name: string; credentials: Record<string, string>; provider?: string },
): Promise<IntegrationSecretView> {
  const box = requireBox(deps.box);
  const provider = checkedProvider(providerText);
  if (input.provider !== undefined && input.provider !== provider) {
    const rule = "must match the provider in the path";
    throw validationError(`provider ${rule}`, { provider: rule });
  }
  const plaintext = JSON.stringify(input.credentials);
  const names = Object.keys(input.credentials);
  const now = nowIso();
  const saved = await deps.db.transaction(async (tx) => {
    const existing = await findByProvider(tx, scope, provider);
    if (existing) {
      const sealed = box.seal(plaintext, sealedTo(existing));
      await tx.run(
        "UPDATE integration_secrets SET name = ?, credentials = ?, updated_at = ? WHERE id = ?",
        input.name,
        sealed,
        now,
        existing.id,
      );
      const before = safeNames(deps, existing);
      await recordAudit(tx, ctx, {
        action: AUDIT.integration.update,
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
    await tx.run(
      `INSERT INTO integration_secrets (id, tenant_id, environment_id, provider, name, credentials, created_by,
         created_by_type, created_at, updated_at)
       VALUES (@id, @tenant_id, @environment_id, @provider, @name, @credentials, @created_by, @created_by_type,
         @created_at, @updated_at)`,
      row,
    );
    await recordAudit(tx, ctx, {
      action: AUDIT.integration.create,
      resourceId: row.id,
      before: null,
      after: auditShape(row, names),
    });
    return toView(row, input.credentials);
  });
  // Committed: deliveries are checked against the new signing secret from now on.
  deps.signing.saved(scope, provider, input.credentials);
  return saved;
}

/** The credential names of a row being replaced, for its audit row; none when it does not open. */
function safeNames(deps: IntegrationDeps, row: IntegrationSecretRow): string[] {
  try {
    return Object.keys(openCredentials(deps, row));
  } catch {
    return [];
  }
}

export async function getIntegration(deps: IntegrationDeps, scope: Scope, providerText: string) {
  requireBox(deps.box);
  const provider = checkedProvider(providerText);
  const row = await findByProvider(deps.db, scope, provider);
  if (!row) throw notFound(INTEGRATION_MESSAGES.notFound);
  return toView(row, openCredentials(deps, row));
}

export async function linkedProviders(deps: IntegrationDeps, scope: Scope): Promise<{ providers: string[] }> {
  requireBox(deps.box);
  const providers = await deps.db.values<string>(
    "SELECT provider FROM integration_secrets WHERE tenant_id = @tenantId AND environment_id = @environmentId ORDER BY provider",
    scope,
  );
  return { providers };
}

export async function deleteIntegration(
  deps: IntegrationWriteDeps,
  ctx: AuditContext,
  scope: Scope,
  id: string,
): Promise<void> {
  requireBox(deps.box);
  const provider = await deps.db.transaction(async (tx) => {
    const row = (await tx.get(
      "SELECT * FROM integration_secrets WHERE id = @id AND tenant_id = @tenantId AND environment_id = @environmentId",
      { ...scope, id },
    )) as IntegrationSecretRow | undefined;
    if (!row) throw notFound(INTEGRATION_MESSAGES.notFound);
    await tx.run("DELETE FROM integration_secrets WHERE id = ?", row.id);
    await recordAudit(tx, ctx, {
      action: AUDIT.integration.delete,
      resourceId: row.id,
      before: auditShape(row, []),
      after: null,
    });
    return row.provider;
  });
  deps.signing.deleted(scope, provider);
}
