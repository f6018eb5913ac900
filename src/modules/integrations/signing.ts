// The webhook signing credential of each environment's provider secrets, held in memory.
import type { Scope } from "../../db/scope";
import { randomBytes } from "node:crypto";
import type { Provider } from "./model";

/** Which credential of a provider's secret signs its webhook deliveries (SPEC §12). */
export const SIGNING_CREDENTIALS: Partial<Record<Provider, string>> = { stripe: "webhook_secret" };

/** A signing secret to check a delivery with: the environment's own, or a stand-in. */
export interface SigningSecret {
  value: string;
  /** False for the stand-in: the environment has no such secret (or no such tenant or environment). */
  found: boolean;
}

/**
 * Each environment's webhook signing secrets, decrypted once: at start (start.ts,
 * loadSigningSecrets) and when the integrations routes change a secret, after the change
 * commits. Webhook deliveries are checked against this map, never against the store, so a
 * delivery for an environment that has a secret costs what one for an unknown tenant costs: one
 * map lookup, no row read, no decryption, whatever the size of the stored credentials. A refusal
 * cannot tell by its timing whether a tenant, environment or secret exists.
 *
 * On a SQLite file only this process changes integration secrets while it runs (`tollgate
 * secrets rotate-key` refuses to run beside a server, and nothing else writes them). On
 * PostgreSQL other instances may: their changes are heard (migration 018, change-watch.ts) and
 * the map is reloaded whole (start.ts, signingSecretsReloader).
 */
export class SigningSecrets {
  readonly #secrets = new Map<string, string>();
  // Same length as a Stripe signing secret; unknown to anyone, and never accepted (found: false).
  readonly #standIn: SigningSecret = { value: `whsec_${randomBytes(24).toString("base64url")}`, found: false };

  lookup(scope: Scope, provider: Provider): SigningSecret {
    const value = this.#secrets.get(keyOf(scope, provider));
    return value === undefined ? this.#standIn : { value, found: true };
  }

  /** After a secret is saved: its signing credential, or none when the new credentials lack it. */
  saved(scope: Scope, provider: Provider, credentials: Record<string, string>): void {
    const name = SIGNING_CREDENTIALS[provider];
    const value = name === undefined ? undefined : credentials[name];
    if (value === undefined) this.#secrets.delete(keyOf(scope, provider));
    else this.#secrets.set(keyOf(scope, provider), value);
  }

  deleted(scope: Scope, provider: Provider): void {
    this.#secrets.delete(keyOf(scope, provider));
  }

  /** After a reload from the store: what `loaded` holds, instead of everything held so far. */
  replaceWith(loaded: SigningSecrets): void {
    this.#secrets.clear();
    for (const [key, value] of loaded.#secrets) this.#secrets.set(key, value);
  }
}

function keyOf(scope: Scope, provider: Provider): string {
  return `${scope.tenantId}\u0000${scope.environmentId}\u0000${provider}`;
}
