import type { Credential, Principal } from "../auth/model";
import type { UserProfile } from "./profile-cache";
import { describeMe } from "./service";

/**
 * GET /v1/users/me's body, serialised once per credential and environment: the route is called
 * on every client start and health probe, and serialising its ~470 bytes was most of what it
 * cost beyond authentication. An entry remembers the profile object it was built from; the
 * profile cache replaces that object whenever the account or its tenant changes, and a changed
 * or revoked credential is a new object in the key cache, so a stale body is never served.
 * Keyed weakly by the credential: an entry goes when the key cache lets its credential go.
 */
export class MeBodies {
  readonly #bodies = new WeakMap<Credential, Map<string, { profile: UserProfile; body: string }>>();

  bodyOf(profile: UserProfile, principal: Principal): string {
    let byEnvironment = this.#bodies.get(principal.credential);
    if (!byEnvironment) {
      byEnvironment = new Map();
      this.#bodies.set(principal.credential, byEnvironment);
    }
    const cached = byEnvironment.get(principal.environmentId);
    if (cached?.profile === profile) return cached.body;
    const body = JSON.stringify(describeMe(profile, principal));
    byEnvironment.set(principal.environmentId, { profile, body });
    return body;
  }
}
