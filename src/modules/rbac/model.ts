import { t } from "elysia";

/** Tollgate's own entities: what its routes are guarded by. Roles of the operator's may name others. */
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
/** Tollgate's own actions; `verify` only on `secret` (POST /v1/keys/verify). */
export const ACTIONS = ["read", "write", "verify"] as const;

export type Entity = (typeof ENTITIES)[number];
export type Action = (typeof ACTIONS)[number];
/** A permission one of Tollgate's own routes declares. */
export type Permission = `${Entity}:${Action}`;

/** The roles Tollgate ships; config may add roles beside them (rbac.roles), never redefine these. */
export type BuiltInRoleId =
  "super_admin" | "all_writer" | "all_reader" | "event_ingestor" | "event_reader" | "key_verifier";

/** The two kinds of account; a role is given to one or both (Flexprice's UserType.AllowedRoles). */
export type AccountType = "user" | "service_account";

export interface Role {
  id: string;
  name: string;
  description: string;
  /** entity → actions; `*` matches any entity or action. */
  permissions: Record<string, string[]>;
}

/** A role as the catalog holds it: also who may be given it. */
export interface CatalogRole extends Role {
  assignableTo: readonly AccountType[];
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
