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
const type = t.Union([t.Literal("development"), t.Literal("production")], {
  error: "Type must be 'development' or 'production'",
});

export const CreateEnvironmentBody = t.Object({ name, type }, { additionalProperties: false });

/**
 * Flexprice's UpdateEnvironmentRequest: either or both. `type` is accepted only as the type the
 * environment already has: an environment's type never changes (as in Flexprice), since its
 * keys are `sk_live_`/`sk_test_` by it and each tenant keeps one development and one
 * production default.
 */
export const UpdateEnvironmentBody = t.Object(
  { name: t.Optional(name), type: t.Optional(type) },
  { additionalProperties: false },
);

export const ENVIRONMENT_MESSAGES = {
  notFound: "Environment not found",
  duplicateName: "An environment with this name already exists",
  nothingToUpdate: "name is required",
  typeImmutable: "Environment type cannot be changed",
} as const;
