import type { Static } from "elysia";
import { type Queries, type PageReader, type Paged, type Store } from "../../db";
import { newId, nowIso } from "../../db/ids";
import { alreadyExists, notFound, validationError } from "../../http/errors";
import type { Page } from "../../http/pagination";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import { ENVIRONMENT_MESSAGES, type EnvironmentRow, type EnvironmentSchema, type EnvironmentType } from "./model";

export type EnvironmentResponse = Static<typeof EnvironmentSchema>;

const DEFAULT_ENVIRONMENTS: { name: string; type: EnvironmentType; isDefault: boolean }[] = [
  { name: "Development", type: "development", isDefault: true },
  { name: "Production", type: "production", isDefault: false },
];

/** Creates the tenant and its two starting environments if they do not exist yet. Idempotent. */
export async function ensureTenant(db: Queries, tenantId: string, name: string): Promise<void> {
  const now = nowIso();
  await db.run(
    "INSERT INTO tenants (id, name, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
    tenantId,
    name,
    now,
    now,
  );
  const existing = await db.value("SELECT count(*) FROM environments WHERE tenant_id = ?", tenantId);
  if (existing !== 0) return;
  for (const env of DEFAULT_ENVIRONMENTS) {
    await db.run(
      "INSERT INTO environments (id, tenant_id, name, type, is_default, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      newId("env"),
      tenantId,
      env.name,
      env.type,
      env.isDefault ? 1 : 0,
      now,
      now,
    );
  }
}

export async function findEnvironment(db: Queries, tenantId: string, id: string): Promise<EnvironmentRow | undefined> {
  return (await db.get("SELECT * FROM environments WHERE tenant_id = ? AND id = ?", tenantId, id)) as
    EnvironmentRow | undefined;
}

export function toEnvironmentResponse(row: EnvironmentRow): EnvironmentResponse {
  return { id: row.id, name: row.name, type: row.type, created_at: row.created_at, updated_at: row.updated_at };
}

export function listEnvironments(pages: PageReader, tenantId: string, page: Page): Promise<Paged<EnvironmentRow>> {
  return pages.page<EnvironmentRow>(tenantId, {
    from: "environments",
    where: "tenant_id = @tenantId",
    orderBy: "created_at, id",
    params: { tenantId },
    page,
  });
}

export async function getEnvironment(db: Queries, tenantId: string, id: string): Promise<EnvironmentRow> {
  const row = await findEnvironment(db, tenantId, id);
  if (!row) throw notFound(ENVIRONMENT_MESSAGES.notFound);
  return row;
}

async function nameTaken(db: Queries, tenantId: string, name: string, exceptId: string | null): Promise<boolean> {
  return (
    (await db.value(
      "SELECT 1 FROM environments WHERE tenant_id = ? AND name = ? AND id IS DISTINCT FROM ?",
      tenantId,
      name,
      exceptId,
    )) !== undefined
  );
}

export async function createEnvironment(
  db: Store,
  audit: AuditContext,
  input: { name: string; type: EnvironmentType },
): Promise<EnvironmentRow> {
  const name = input.name.trim();
  return await db.transaction(async (tx) => {
    if (await nameTaken(tx, audit.tenantId, name, null)) throw alreadyExists(ENVIRONMENT_MESSAGES.duplicateName);
    const now = nowIso();
    const row: EnvironmentRow = {
      id: newId("env"),
      tenant_id: audit.tenantId,
      name,
      type: input.type,
      is_default: 0,
      created_at: now,
      updated_at: now,
    };
    await tx.run(
      `INSERT INTO environments (id, tenant_id, name, type, is_default, created_at, updated_at)
         VALUES (@id, @tenant_id, @name, @type, @is_default, @created_at, @updated_at)`,
      row,
    );
    await recordAudit(tx, audit, {
      action: AUDIT.environment.created,
      resourceId: row.id,
      after: toEnvironmentResponse(row),
    });
    return row;
  });
}

/**
 * PUT /v1/environments/{id}: renames it. `type`, when sent, must be the type it has: an
 * environment's type never changes (its keys are sk_live_/sk_test_ by it, and the tenant's
 * development and production defaults stay what they are). A request that only confirms the
 * type changes nothing and writes no audit row.
 */
export async function updateEnvironment(
  db: Store,
  audit: AuditContext,
  id: string,
  input: { name?: string; type?: EnvironmentType },
): Promise<EnvironmentRow> {
  if (input.name === undefined && input.type === undefined) {
    throw validationError(ENVIRONMENT_MESSAGES.nothingToUpdate, { name: "is required when type is absent" });
  }
  const name = input.name?.trim();
  return await db.transaction(async (tx) => {
    const before = await getEnvironment(tx, audit.tenantId, id);
    if (input.type !== undefined && input.type !== before.type) {
      throw validationError(ENVIRONMENT_MESSAGES.typeImmutable, {
        type: `cannot be changed; this environment is ${before.type}`,
      });
    }
    if (name === undefined) return before;
    if (await nameTaken(tx, audit.tenantId, name, id)) throw alreadyExists(ENVIRONMENT_MESSAGES.duplicateName);
    const after: EnvironmentRow = { ...before, name, updated_at: nowIso() };
    await tx.run(
      "UPDATE environments SET name = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
      after.name,
      after.updated_at,
      audit.tenantId,
      id,
    );
    await recordAudit(tx, audit, {
      action: AUDIT.environment.updated,
      resourceId: id,
      before: toEnvironmentResponse(before),
      after: toEnvironmentResponse(after),
    });
    return after;
  });
}

/**
 * Answers the two questions the auth path asks on every config-key request without touching the
 * store after the first time: the tenant's default environment, and whether an environment id
 * belongs to the tenant. Environments are never deleted, so a positive answer stays true;
 * negative answers are not kept, so a new environment is visible at once.
 */
export class EnvironmentDirectory {
  readonly #defaults = new Map<string, string>();
  readonly #members = new Set<string>();

  constructor(private readonly db: Queries) {}

  /** Answered at once once known (the auth hot path asks on every config-key request). */
  defaultFor(tenantId: string): string | Promise<string | undefined> {
    return this.#defaults.get(tenantId) ?? this.#loadDefault(tenantId);
  }

  async #loadDefault(tenantId: string): Promise<string | undefined> {
    const id = await this.db.value<string>(
      "SELECT id FROM environments WHERE tenant_id = ? AND is_default = 1",
      tenantId,
    );
    if (id !== undefined) this.#defaults.set(tenantId, id);
    return id;
  }

  /** Answered at once once known, as defaultFor. */
  belongsTo(tenantId: string, environmentId: string): boolean | Promise<boolean> {
    const key = `${tenantId}\u0000${environmentId}`;
    return this.#members.has(key) || this.#loadMember(key, tenantId, environmentId);
  }

  async #loadMember(key: string, tenantId: string, environmentId: string): Promise<boolean> {
    const found = await this.db.value(
      "SELECT 1 FROM environments WHERE tenant_id = ? AND id = ?",
      tenantId,
      environmentId,
    );
    if (found === undefined) return false;
    this.#members.add(key);
    return true;
  }
}
