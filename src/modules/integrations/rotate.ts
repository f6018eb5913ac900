// Re-encrypting every integration secret under a new master key (`tollgate secrets rotate-key`).
import type { Queries, Store } from "../../db";
import { type SecretBox, UnsealError, keyIdOfSealed } from "./cipher";
import type { IntegrationSecretRow } from "./model";
import { sealedTo } from "./service";

export class RotationError extends Error {}

/**
 * Opens every row with `from` and seals it again with `to`, in one transaction: either every row
 * moves to the new key or none does. Rows already under `to` (a rotation run twice) are checked
 * and left alone. A row that opens under neither key stops the rotation, naming the row, never
 * its value. `first` runs at the start of the transaction (the CLI's check that no server runs
 * on the store); what it throws rolls everything back.
 */
export function rotateMasterKey(
  store: Store,
  from: SecretBox,
  to: SecretBox,
  first: (tx: Queries) => Promise<void> = async () => {},
): Promise<{ rotated: number; current: number }> {
  return store.transaction(async (tx) => {
    await first(tx);
    const rows = await tx.all<Pick<IntegrationSecretRow, "id" | "tenant_id" | "environment_id" | "credentials">>(
      "SELECT id, tenant_id, environment_id, credentials FROM integration_secrets ORDER BY id",
    );
    let rotated = 0;
    let current = 0;
    for (const row of rows) {
      const bound = sealedTo(row);
      const underNew = keyIdOfSealed(row.credentials) === to.keyId;
      let plaintext: string;
      try {
        plaintext = (underNew ? to : from).open(row.credentials, bound);
      } catch (err) {
        const why = err instanceof UnsealError ? err.message : "unreadable";
        throw new RotationError(
          `Integration secret ${row.id} does not open under the ${underNew ? "new" : "old"} key (${why}); nothing was changed`,
        );
      }
      if (underNew) {
        current++;
        continue;
      }
      await tx.run("UPDATE integration_secrets SET credentials = ? WHERE id = ?", to.seal(plaintext, bound), row.id);
      rotated++;
    }
    return { rotated, current };
  });
}
