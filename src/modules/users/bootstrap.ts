import { type Config, DEFAULT_TENANT_ID, DEFAULT_USER_ID } from "../../config";
import type { Store } from "../../db";
import { ensureTenant } from "../environments/service";
import { DEFAULT_USER_NAME, ensureUserAccount } from "./service";

/**
 * Makes every tenant and user a config key points to exist, with the tenant's two starting
 * environments, in one transaction. Safe to run at every start.
 */
export async function ensureConfigKeyPrincipals(db: Store, config: Config): Promise<void> {
  await db.transaction(async (tx) => {
    for (const key of Object.values(config.auth.api_key.keys)) {
      await ensureTenant(tx, key.tenant_id, key.tenant_id === DEFAULT_TENANT_ID ? "Default Tenant" : key.tenant_id);
      await ensureUserAccount(
        tx,
        key.tenant_id,
        key.user_id,
        key.user_id === DEFAULT_USER_ID ? DEFAULT_USER_NAME : key.name,
      );
    }
  });
}
