import { t } from "elysia";
import { Name } from "../../http/schemas";

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

const name = Name();

export const CreateEnvironmentBody = t.Object(
  {
    name,
    type: t.Union([t.Literal("development"), t.Literal("production")], {
      error: "Type must be 'development' or 'production'",
    }),
  },
  { additionalProperties: false },
);

export const UpdateEnvironmentBody = t.Object({ name }, { additionalProperties: false });
