import { randomBytes } from "node:crypto";

/** How long a created key or link waits for the page that shows it. */
const TTL_MS = 5 * 60_000;
const MAX_WAITING = 1000;

/**
 * What is shown once (a new key, an invite's link), handed from the POST that made it to the
 * page its redirect loads (POST → redirect → GET), so that reloading that page shows it no
 * more and submits nothing again. Kept in this process's memory only, for a few minutes, for
 * the session that made it; taken at the first look.
 */
export class Reveals<T> {
  readonly #waiting = new Map<string, { session: string; value: T; until: number }>();

  put(session: string, value: T, now = Date.now()): string {
    for (const [id, entry] of this.#waiting) if (entry.until <= now) this.#waiting.delete(id);
    if (this.#waiting.size >= MAX_WAITING) this.#waiting.delete(this.#waiting.keys().next().value as string);
    const id = randomBytes(16).toString("base64url");
    this.#waiting.set(id, { session, value, until: now + TTL_MS });
    return id;
  }

  take(session: string, id: string | null, now = Date.now()): T | undefined {
    if (!id) return undefined;
    const entry = this.#waiting.get(id);
    if (!entry || entry.session !== session) return undefined;
    this.#waiting.delete(id);
    return entry.until > now ? entry.value : undefined;
  }
}
