import { t } from "elysia";

export const ENTITIES = [
  "event",
  "customer",
  "secret",
  "user",
  "environment",
  "audit_log",
  "tenant",
  "integration",
] as const;
export const ACTIONS = ["read", "write"] as const;

export type Entity = (typeof ENTITIES)[number];
export type Action = (typeof ACTIONS)[number];
export type Permission = `${Entity}:${Action}`;

export type RoleId = "super_admin" | "event_ingestor" | "event_reader";

export interface Role {
  id: RoleId;
  name: string;
  description: string;
  /** entity → actions; `*` matches any entity or action. */
  permissions: Record<string, string[]>;
}

export const RoleSchema = t.Object(
  {
    id: t.String(),
    name: t.String(),
    description: t.String(),
    permissions: t.Record(t.String(), t.Array(t.String())),
  },
  { title: "Role" },
);
