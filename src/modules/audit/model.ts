import { t } from "elysia";
import type { AuditAction } from "./actions";
import { paginationFields } from "../../http/pagination";
import { Timestamp } from "../../http/schemas";

export type ActorType = "user" | "service_account" | "config_key" | "system";

/** Who made a change and from where: everything an audit row says besides the change itself. */
export interface AuditContext {
  tenantId: string;
  environmentId: string | null;
  actor: { type: ActorType; id: string | null; name: string | null };
  credentialId: string | null;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
}

/** One change: which action (of the catalogue, ./actions.ts, which also gives its resource type), on what. */
export interface AuditEntry {
  action: AuditAction;
  resourceId: string;
  before?: object | null;
  after?: object | null;
}

export interface AuditLogRow {
  id: string;
  tenant_id: string;
  environment_id: string | null;
  action: string;
  resource_type: string;
  resource_id: string;
  actor_type: ActorType;
  actor_id: string | null;
  actor_name: string | null;
  credential_id: string | null;
  changes: string;
  request_id: string | null;
  ip: string | null;
  user_agent: string | null;
  created_at: string;
}

export const AuditLogSchema = t.Object(
  {
    id: t.String(),
    action: t.String(),
    resource_type: t.String(),
    resource_id: t.String(),
    actor: t.Object({
      type: t.String(),
      id: t.Nullable(t.String()),
      name: t.Nullable(t.String()),
    }),
    credential_id: t.Nullable(t.String()),
    environment_id: t.Nullable(t.String()),
    changes: t.Object({ before: t.Unknown(), after: t.Unknown() }),
    request_id: t.Nullable(t.String()),
    ip: t.Nullable(t.String()),
    user_agent: t.Nullable(t.String()),
    created_at: t.String(),
  },
  { title: "AuditLog" },
);

const timestamp = Timestamp();

export const AuditLogQuery = t.Object(
  {
    action: t.Optional(
      t.String({
        minLength: 1,
        maxLength: 255,
        description:
          "An action (`secret.revoked` also finds the older rows that said `secret.deleted`), or every action of one resource type (`secret.*`, or just `secret`)",
      }),
    ),
    resource_type: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
    resource_id: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
    actor_id: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
    start_time: t.Optional(timestamp),
    end_time: t.Optional(timestamp),
    ...paginationFields,
  },
  { additionalProperties: false },
);
