// `tollgate secrets …`: the master key integration credentials are sealed with (SPEC §12).
import { generateEncryptionKey } from "../modules/integrations/cipher";
import type { CommandSpec, ParsedCommand } from "./args";

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
