import { t } from "elysia";

export type EnvironmentType = "development" | "production";

export interface EnvironmentRow {
  id: string;
  tenant_id: string;
  name: string;
  type: EnvironmentType;
  is_default: 0 | 1;
  created_at: string;
  updated_at: string;
}

export const EnvironmentSchema = t.Object(
  {
    id: t.String(),
    name: t.String(),
    type: t.Union([t.Literal("development"), t.Literal("production")]),
    created_at: t.String(),
    updated_at: t.String(),
  },
  { title: "Environment" },
);
