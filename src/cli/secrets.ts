// `tollgate secrets …`: the master key integration credentials are sealed with (SPEC §12).
import type { Queries } from "../db";
import { lockAndListOtherTollgates } from "../db/postgres/instances";
import { lockStore, StoreLockedError } from "../db/sqlite/lock";
import { generateEncryptionKey, KEY_SETTING, parseEncryptionKey, SecretBox } from "../modules/integrations/cipher";
import { RotationError, rotateMasterKey } from "../modules/integrations/rotate";
import { type CommandSpec, type ParsedCommand, stringOption, UsageError } from "./args";
import { CONFIG_OPTION, configFrom } from "./config-option";
import { CommandError, openExistingStore } from "./store";

export const secretsGenerateKey: CommandSpec = {
  name: "secrets generate-key",
  usage: `Usage: tollgate secrets generate-key

Print a new random master key for integration secrets (32 bytes as 64 hex characters), for
secrets.encryption_key in config.yaml or TOLLGATE_SECRETS_ENCRYPTION_KEY. Keep it out of the
database and out of version control; without it, the stored credentials cannot be read.`,
  options: {},
};

export function runSecretsGenerateKey(_parsed: ParsedCommand): number {
  console.log(generateEncryptionKey());
  return 0;
}

export const secretsRotateKey: CommandSpec = {
  name: "secrets rotate-key",
  usage: `Usage: tollgate secrets rotate-key --from-env <VARIABLE>

Re-encrypt every integration secret under the master key configured now (secrets.encryption_key
or TOLLGATE_SECRETS_ENCRYPTION_KEY), reading the key they are encrypted with from the
environment variable named by --from-env. One transaction: every secret moves, or none does.
Stop the server first, every instance on a shared database (they hold the old key): the command
refuses while one runs. Start them with the new key afterwards.

  --from-env <VARIABLE>  the environment variable holding the old key (hex or base64)
${CONFIG_OPTION}`,
  options: { "from-env": "string", config: "string" },
};

export async function runSecretsRotateKey(parsed: ParsedCommand): Promise<number> {
  const variable = stringOption(parsed, "from-env");
  if (!variable) throw new UsageError("--from-env names the variable that holds the old key.", secretsRotateKey.usage);
  const config = configFrom(parsed);
  const oldText = process.env[variable];
  if (!oldText) throw new CommandError(`The variable ${variable} (--from-env) is not set.`);
  const oldKey = parseEncryptionKey(oldText);
  if (!oldKey)
    throw new CommandError(`The variable ${variable} (--from-env) is not 32 bytes as 64 hex characters or base64.`);
  const newKey = config.secrets.encryption_key === "" ? null : parseEncryptionKey(config.secrets.encryption_key);
  if (!newKey)
    throw new CommandError(`Set the new key in ${KEY_SETTING} ("tollgate secrets generate-key" prints one).`);
  const from = new SecretBox(oldKey);
  const to = new SecretBox(newKey);
  // No server may run meanwhile: it would go on with the old key. A SQLite file is held, so none
  // starts halfway through; on PostgreSQL the rotation's transaction locks the secrets and
  // refuses while another Tollgate is connected (instances.ts).
  const lock = config.database.url === "" ? holdStoppedStore(config.database.path) : null;
  try {
    const store = openExistingStore(config);
    try {
      await store.migrate();
      const { rotated, current } = await rotateMasterKey(store, from, to, lock ? undefined : refuseBesideInstances);
      const already = current > 0 ? ` (${current} already under it)` : "";
      console.log(`Re-encrypted ${rotated} integration secrets under the new key${already}.`);
    } catch (err) {
      if (err instanceof RotationError) throw new CommandError(err.message);
      throw err;
    } finally {
      await store.close();
    }
  } finally {
    lock?.release();
  }
  return 0;
}

async function refuseBesideInstances(tx: Queries): Promise<void> {
  const others = await lockAndListOtherTollgates(tx, "integration_secrets");
  if (others.length === 0) return;
  throw new CommandError(
    `Tollgate is running on this database (${others.join(", ")} in pg_stat_activity): stop every instance first (they hold the old key), then run this again.`,
  );
}

function holdStoppedStore(path: string): ReturnType<typeof lockStore> {
  try {
    return lockStore(path);
  } catch (err) {
    if (err instanceof StoreLockedError) {
      throw new CommandError(
        `A server is running on ${path}: stop it first (it holds the old key), then run this again.`,
      );
    }
    throw err;
  }
}
