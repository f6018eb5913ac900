import type { Static } from "elysia";
import { type Queries, type PageReader, type Paged } from "../../db";
import { newId, nowIso } from "../../db/ids";
import type { Page } from "../../http/pagination";
import { ACTION_PREFIX, filterNames } from "./actions";
import type { AuditContext, AuditEntry, AuditLogQuery, AuditLogRow, AuditLogSchema } from "./model";

/** Field names that must never reach an audit row, whatever a caller passes as before/after. */
// `credentials`: an integration secret's values; its audit rows name them only (integrations/service.ts).
const SECRET_FIELDS = new Set([
  "api_key",
  "key",
  "key_hash",
  "password",
  "password_hash",
  "token",
  "secret",
  "credentials",
]);

function redact(value: object | null | undefined): unknown {
  if (value === null || value === undefined) return null;
  return JSON.parse(JSON.stringify(value), (key, v) => (SECRET_FIELDS.has(key) ? undefined : v));
}

/** Appends one audit row. Call it inside the transaction that makes the change. */
export async function recordAudit(db: Queries, ctx: AuditContext, entry: AuditEntry): Promise<void> {
  await db.run(
    `INSERT INTO audit_logs (id, tenant_id, environment_id, action, resource_type, resource_id, actor_type, actor_id,
       actor_name, credential_id, changes, request_id, ip, user_agent, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    newId("aud"),
    ctx.tenantId,
    ctx.environmentId,
    entry.action.name,
    entry.action.resourceType,
    entry.resourceId,
    ctx.actor.type,
    ctx.actor.id,
    ctx.actor.name,
    ctx.credentialId,
    JSON.stringify({ before: redact(entry.before), after: redact(entry.after) }),
    ctx.requestId,
    ctx.ip,
    ctx.userAgent,
    nowIso(),
  );
}

type AuditFilters = Omit<Static<typeof AuditLogQuery>, "limit" | "offset">;

/**
 * The `action` filter: `secret.*` (or `secret`) is every action of a resource type (a range of the action
 * index: the names from `secret.` up to, not including, `secret/`); an action name is that
 * action under its current name and its former ones (see filterNames).
 */
function actionClause(action: string, params: Record<string, unknown>): string {
  const prefix = ACTION_PREFIX.exec(action)?.[1];
  if (prefix !== undefined) {
    params.action_from = `${prefix}.`;
    params.action_before = `${prefix}/`;
    return "action >= @action_from AND action < @action_before";
  }
  const names = filterNames(action);
  names.forEach((name, i) => {
    params[`action_${i}`] = name;
  });
  return `action IN (${names.map((_, i) => `@action_${i}`).join(", ")})`;
}

/** The caller's tenant and environment only, newest first. */
export function listAuditLogs(
  pages: PageReader,
  scope: { tenantId: string; environmentId: string },
  filters: AuditFilters,
  page: Page,
): Promise<Paged<AuditLogRow>> {
  const where = ["tenant_id = @tenantId", "environment_id = @environmentId"];
  const params: Record<string, unknown> = { ...scope };
  if (filters.action !== undefined) where.push(actionClause(filters.action, params));
  const exact = { resource_type: "resource_type", resource_id: "resource_id", actor_id: "actor_id" };
  for (const [field, column] of Object.entries(exact)) {
    const value = filters[field as keyof typeof exact];
    if (value !== undefined) {
      where.push(`${column} = @${field}`);
      params[field] = value;
    }
  }
  if (filters.start_time) {
    where.push("created_at >= @start_time");
    params.start_time = new Date(filters.start_time).toISOString();
  }
  if (filters.end_time) {
    where.push("created_at < @end_time");
    params.end_time = new Date(filters.end_time).toISOString();
  }
  return pages.page<AuditLogRow>(scope.tenantId, {
    from: "audit_logs",
    where: where.join(" AND "),
    orderBy: "created_at DESC, id DESC",
    params,
    page,
  });
}

export function toAuditLogResponse(row: AuditLogRow): Static<typeof AuditLogSchema> {
  return {
    id: row.id,
    action: row.action,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    actor: { type: row.actor_type, id: row.actor_id, name: row.actor_name },
    credential_id: row.credential_id,
    environment_id: row.environment_id,
    changes: JSON.parse(row.changes),
    request_id: row.request_id,
    ip: row.ip,
    user_agent: row.user_agent,
    created_at: row.created_at,
  };
}
