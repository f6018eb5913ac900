import { issueKey } from "../../src/modules/secrets/store";
import type { Harness } from "./harness";
import { DEFAULT_TENANT } from "./harness";

export interface TestKeyOptions {
  roles?: string[];
  type?: "private_key" | "publishable_key";
  expiresAt?: string | null;
  environment?: "development" | "production";
  tenantId?: string;
  userId?: string;
}

export async function environmentOf(h: Harness, type: "development" | "production", tenantId = DEFAULT_TENANT) {
  const env = await h.context.db.get<{ id: string; type: "development" | "production" }>(
    "SELECT * FROM environments WHERE tenant_id = ? AND type = ?",
    tenantId,
    type,
  );
  if (!env) throw new Error(`no ${type} environment in tenant ${tenantId}`);
  return env;
}

/** A stored key, issued through the service layer the keys API will use. */
export async function issueTestKey(h: Harness, options: TestKeyOptions = {}) {
  const tenantId = options.tenantId ?? DEFAULT_TENANT;
  const env = await environmentOf(h, options.environment ?? "development", tenantId);
  return issueKey(h.context.db, {
    tenantId,
    environmentId: env.id,
    environmentType: env.type,
    userId: options.userId ?? DEFAULT_TENANT,
    createdBy: null,
    name: "test key",
    type: options.type ?? "private_key",
    roles: options.roles ?? ["super_admin"],
    expiresAt: options.expiresAt ?? null,
  });
}
