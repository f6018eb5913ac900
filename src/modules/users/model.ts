import { t } from "elysia";
import type { UserType } from "../auth/model";

export interface UserRow {
  id: string;
  tenant_id: string;
  type: UserType;
  name: string;
  email: string | null;
  password_hash: string | null;
  roles: string;
  status: "published" | "archived";
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export type UserWithTenantRow = UserRow & { tenant_name: string };

export const UserSchema = t.Object(
  {
    id: t.String(),
    type: t.Union([t.Literal("user"), t.Literal("service_account")]),
    name: t.String(),
    email: t.Nullable(t.String()),
    roles: t.Array(t.String()),
    status: t.String(),
    tenant: t.Object({ id: t.String(), name: t.String() }),
    created_at: t.String(),
    updated_at: t.String(),
  },
  { title: "User" },
);

export const MeSchema = t.Composite(
  [
    UserSchema,
    t.Object({
      environment_id: t.String(),
      credential: t.Object({
        kind: t.Union([t.Literal("config_key"), t.Literal("api_key"), t.Literal("session")]),
        id: t.String(),
        type: t.String(),
        roles: t.Array(t.String()),
        expires_at: t.Nullable(t.String()),
      }),
    }),
  ],
  { title: "Me" },
);
