// What a start needs of integration secrets: the master key checked against the store, and
// the webhook signing secrets decrypted into memory (and reloaded when another instance
// changes them).
import type { Config } from "../../config";
import { type Queries } from "../../db";
import { KEY_SETTING, SecretBox, keyIdOfSealed, parseEncryptionKey } from "./cipher";
import type { IntegrationSecretRow } from "./model";
import { type IntegrationDeps, openCredentials, scopeOf, sealedTo } from "./service";
import { SIGNING_CREDENTIALS, SigningSecrets } from "./signing";

export class MasterKeyError extends Error {}

/**
 * The master key of config, checked against the store: every sealed row must name this key and
 * one must open. A wrong key stops the start with a sentence naming the setting, rather than
 * serving credentials it cannot read. Null when no key is configured.
 */
export async function openSecretBox(db: Queries, config: Config): Promise<SecretBox | null> {
  const text = config.secrets.encryption_key;
  if (text === "") return null;
  const key = parseEncryptionKey(text);
  if (!key) throw new MasterKeyError(`${KEY_SETTING} must be 32 bytes written as 64 hex characters or as base64`);
  const box = new SecretBox(key);
  const rows = (await db.all("SELECT id, tenant_id, environment_id, credentials FROM integration_secrets")) as Pick<
    IntegrationSecretRow,
    "id" | "tenant_id" | "environment_id" | "credentials"
  >[];
  const foreign = rows.filter((row) => keyIdOfSealed(row.credentials) !== box.keyId);
  const opens = (row: (typeof rows)[number]) => {
    try {
      box.open(row.credentials, sealedTo(row));
      return true;
    } catch {
      return false;
    }
  };
  // The key id already names the key; one row opening confirms it. A row that does not open
  // under the right key was tampered with: loadSigningSecrets logs it, and reads refuse it.
  const wrongKey = foreign.length > 0 || (rows.length > 0 && !rows.some(opens));
  if (wrongKey) {
    const count = foreign.length || rows.length;
    throw new MasterKeyError(
      `${KEY_SETTING} is not the key the integration secrets in this database were encrypted with ` +
        `(${count} of ${rows.length} do not open under it). Configure the key they were encrypted with, or move them to this one with ` +
        `"tollgate secrets rotate-key --from-env <variable holding the old key>".`,
    );
  }
  return box;
}

/**
 * The signing secrets of every stored secret, for webhook deliveries (signing.ts). A row that
 * does not open is logged (openCredentials) and left out: its deliveries are refused.
 */
async function loadSigningSecrets(deps: IntegrationDeps): Promise<SigningSecrets> {
  const signing = new SigningSecrets();
  if (!deps.box) return signing;
  const rows = (await deps.db.all("SELECT * FROM integration_secrets ORDER BY id")) as IntegrationSecretRow[];
  for (const row of rows) {
    if (SIGNING_CREDENTIALS[row.provider] === undefined) continue;
    try {
      signing.saved(scopeOf(row), row.provider, openCredentials(deps, row));
    } catch {
      // Logged by openCredentials, with the row's id and never a value.
    }
  }
  return signing;
}

/**
 * Reloads `signing` from the store, for an instance that heard another change an integration
 * secret (PostgreSQL, change-watch.ts). Reloads never overlap: one asked for while another runs
 * is run once more after it, so the last change is always read. The promise rejects when the
 * store could not be read (the signing secrets held are kept); the watch then asks again at its
 * next poll.
 */
export function signingSecretsReloader(deps: IntegrationDeps, signing: SigningSecrets): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  const reload = async () => {
    try {
      do {
        again = false;
        signing.replaceWith(await loadSigningSecrets(deps));
      } while (again);
    } finally {
      running = null;
    }
  };
  return () => {
    if (running === null) {
      running = reload();
      return running;
    }
    again = true;
    return running;
  };
}
