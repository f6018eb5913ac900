// Re-encrypting every integration secret under a new master key (`tollgate secrets rotate-key`).
import { type Db, sql } from "../../db";
import { type SecretBox, UnsealError, keyIdOfSealed } from "./cipher";
import type { IntegrationSecretRow } from "./model";
import { sealedTo } from "./service";

export class RotationError extends Error {}

/**
 * Opens every row with `from` and seals it again with `to`, in one transaction: either every row
 * moves to the new key or none does. Rows already under `to` (a rotation run twice) are checked
 * and left alone. A row that opens under neither key stops the rotation, naming the row, never
 * its value.
 */
export function rotateMasterKey(db: Db, from: SecretBox, to: SecretBox): { rotated: number; current: number } {
  return db.transaction(() => {
    const rows = sql(
      db,
      "SELECT id, tenant_id, environment_id, credentials FROM integration_secrets ORDER BY id",
    ).all() as Pick<IntegrationSecretRow, "id" | "tenant_id" | "environment_id" | "credentials">[];
    const update = sql(db, "UPDATE integration_secrets SET credentials = ? WHERE id = ?");
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
      update.run(to.seal(plaintext, bound), row.id);
      rotated++;
    }
    return { rotated, current };
  })();
}
