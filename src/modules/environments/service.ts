import type { Static } from "elysia";
import { type Db, type PageReader, type Paged, sql, sqlPluck } from "../../db";
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
export function ensureTenant(db: Db, tenantId: string, name: string): void {
  const now = nowIso();
  sql(db, "INSERT OR IGNORE INTO tenants (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)").run(
    tenantId,
    name,
    now,
    now,
  );
  const existing = sqlPluck(db, "SELECT count(*) FROM environments WHERE tenant_id = ?").get(tenantId);
  if (existing !== 0) return;
  const insert = sql(
    db,
    "INSERT INTO environments (id, tenant_id, name, type, is_default, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  for (const env of DEFAULT_ENVIRONMENTS) {
    insert.run(newId("env"), tenantId, env.name, env.type, env.isDefault ? 1 : 0, now, now);
  }
}

export function findEnvironment(db: Db, tenantId: string, id: string): EnvironmentRow | undefined {
  return sql(db, "SELECT * FROM environments WHERE tenant_id = ? AND id = ?").get(tenantId, id) as
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

export function getEnvironment(db: Db, tenantId: string, id: string): EnvironmentRow {
  const row = findEnvironment(db, tenantId, id);
  if (!row) throw notFound(ENVIRONMENT_MESSAGES.notFound);
  return row;
}

function nameTaken(db: Db, tenantId: string, name: string, exceptId: string | null): boolean {
  return (
    sqlPluck(db, "SELECT 1 FROM environments WHERE tenant_id = ? AND name = ? AND id IS NOT ?").get(
      tenantId,
      name,
      exceptId,
    ) !== undefined
  );
}

export function createEnvironment(
  db: Db,
  audit: AuditContext,
  input: { name: string; type: EnvironmentType },
): EnvironmentRow {
  const name = input.name.trim();
  return db
    .transaction(() => {
      if (nameTaken(db, audit.tenantId, name, null)) throw alreadyExists(ENVIRONMENT_MESSAGES.duplicateName);
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
      sql(
        db,
        `INSERT INTO environments (id, tenant_id, name, type, is_default, created_at, updated_at)
         VALUES (@id, @tenant_id, @name, @type, @is_default, @created_at, @updated_at)`,
      ).run(row);
      recordAudit(db, audit, {
        action: AUDIT.environment.created,
        resourceId: row.id,
        after: toEnvironmentResponse(row),
      });
      return row;
    })
    .immediate();
}

/**
 * PUT /v1/environments/{id}: renames it. `type`, when sent, must be the type it has: an
 * environment's type never changes (its keys are sk_live_/sk_test_ by it, and the tenant's
 * development and production defaults stay what they are). A request that only confirms the
 * type changes nothing and writes no audit row.
 */
export function updateEnvironment(
  db: Db,
  audit: AuditContext,
  id: string,
  input: { name?: string; type?: EnvironmentType },
): EnvironmentRow {
  if (input.name === undefined && input.type === undefined) {
    throw validationError(ENVIRONMENT_MESSAGES.nothingToUpdate, { name: "is required when type is absent" });
  }
  const name = input.name?.trim();
  return db
    .transaction(() => {
      const before = getEnvironment(db, audit.tenantId, id);
      if (input.type !== undefined && input.type !== before.type) {
        throw validationError(ENVIRONMENT_MESSAGES.typeImmutable, {
          type: `cannot be changed; this environment is ${before.type}`,
        });
      }
      if (name === undefined) return before;
      if (nameTaken(db, audit.tenantId, name, id)) throw alreadyExists(ENVIRONMENT_MESSAGES.duplicateName);
      const after: EnvironmentRow = { ...before, name, updated_at: nowIso() };
      sql(db, "UPDATE environments SET name = ?, updated_at = ? WHERE tenant_id = ? AND id = ?").run(
        after.name,
        after.updated_at,
        audit.tenantId,
        id,
      );
      recordAudit(db, audit, {
        action: AUDIT.environment.updated,
        resourceId: id,
        before: toEnvironmentResponse(before),
        after: toEnvironmentResponse(after),
      });
      return after;
    })
    .immediate();
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
  readonly #defaultOf;
  readonly #exists;

  constructor(db: Db) {
    this.#defaultOf = sqlPluck(db, "SELECT id FROM environments WHERE tenant_id = ? AND is_default = 1");
    this.#exists = sqlPluck(db, "SELECT 1 FROM environments WHERE tenant_id = ? AND id = ?");
  }

  defaultFor(tenantId: string): string | undefined {
    let id = this.#defaults.get(tenantId);
    if (id === undefined) {
      id = this.#defaultOf.get(tenantId) as string | undefined;
      if (id !== undefined) this.#defaults.set(tenantId, id);
    }
    return id;
  }

  belongsTo(tenantId: string, environmentId: string): boolean {
    const key = `${tenantId}\u0000${environmentId}`;
    if (this.#members.has(key)) return true;
    if (this.#exists.get(tenantId, environmentId) === undefined) return false;
    this.#members.add(key);
    return true;
  }
}
