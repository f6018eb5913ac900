import { type Config, loadConfig } from "../config";
import { type ParsedCommand, stringOption } from "./args";

export const CONFIG_OPTION =
  "  --config <path>        config.yaml (else $TOLLGATE_CONFIG, else ./config.yaml, else the built-in defaults)";

/**
 * The config for a command: its --config file, the TOLLGATE_* variables, and then the
 * command's own flags (`flags`, as the variables they stand for), which win over both.
 */
export function configFrom(parsed: ParsedCommand, flags: Record<string, string> = {}): Config {
  return loadConfig({ path: stringOption(parsed, "config"), env: { ...process.env, ...flags } });
}
