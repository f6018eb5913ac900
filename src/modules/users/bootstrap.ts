import { type Config, DEFAULT_TENANT_ID, DEFAULT_USER_ID } from "../../config";
import type { Db } from "../../db";
import { ensureTenant } from "../environments/service";
import { DEFAULT_USER_NAME, ensureUserAccount } from "./service";

/**
 * Makes every tenant and user a config key points to exist, with the tenant's two starting
 * environments, in one transaction. Safe to run at every start.
 */
export function ensureConfigKeyPrincipals(db: Db, config: Config): void {
  db.transaction(() => {
    for (const key of Object.values(config.auth.api_key.keys)) {
      ensureTenant(db, key.tenant_id, key.tenant_id === DEFAULT_TENANT_ID ? "Default Tenant" : key.tenant_id);
      ensureUserAccount(db, key.tenant_id, key.user_id, key.user_id === DEFAULT_USER_ID ? DEFAULT_USER_NAME : key.name);
    }
  }).immediate();
}
