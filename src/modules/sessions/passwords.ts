/** Makes and checks password hashes. Injectable, so tests can see every check (and hash cheaply). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
}

/** argon2id at Bun's default cost (64 MiB, 2 passes), off the main thread. */
export const defaultHasher: PasswordHasher = {
  hash: (password) => Bun.password.hash(password, { algorithm: "argon2id" }),
  verify: (password, hash) => Bun.password.verify(password, hash, "argon2id"),
};

/**
 * Flexprice's minimum; the maximum keeps one check from costing more than any other. Counted in
 * characters (Unicode code points), not in UTF-16 units as `string.length` and JSON Schema's
 * minLength/maxLength in TypeBox count: "😀😀😀😀" is 4 characters, too short.
 */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
export const PASSWORD_RULE = `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`;

/** Characters (code points) in a string: a surrogate pair is one. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

export function isValidPassword(password: string): boolean {
  const length = characterCount(password);
  return length >= PASSWORD_MIN_LENGTH && length <= PASSWORD_MAX_LENGTH;
}

/**
 * A JSON Schema `pattern` for `min` to `max` characters (code points), for a schema's string:
 * a surrogate pair or any one other unit, so it counts the same whether the pattern runs with
 * the `u` flag or without (TypeBox compiles it without). Unambiguous, so it runs in linear time.
 * Pair it with minLength `min` and maxLength `2 * max` in UTF-16 units, which it implies.
 */
export function characterCountPattern(min: number, max: number): string {
  return `^(?:[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]|[^\\uD800-\\uDBFF]){${min},${max}}$`;
}

/**
 * Passwords as the sign-in flows use them. `check` always verifies exactly one hash: the
 * account's, or when there is none (an unknown email, an account without a password) a dummy
 * made by the same hasher at the same cost, so a wrong email and a wrong password take the
 * same time. The dummy is made on first use, before any check, so even the first check of
 * either kind costs the same.
 */
export class Passwords {
  #dummy: Promise<string> | null = null;

  constructor(readonly hasher: PasswordHasher = defaultHasher) {}

  hash(password: string): Promise<string> {
    return this.hasher.hash(password);
  }

  async check(password: string, hash: string | null): Promise<boolean> {
    const dummy = await this.#dummyHash();
    const matches = await this.hasher.verify(password, hash ?? dummy);
    return hash !== null && matches;
  }

  #dummyHash(): Promise<string> {
    if (this.#dummy === null) {
      const random = crypto.getRandomValues(new Uint8Array(24));
      this.#dummy = this.hasher.hash(Buffer.from(random).toString("base64url"));
      // A failure is not kept: the next check makes it again.
      this.#dummy.catch(() => {
        this.#dummy = null;
      });
    }
    return this.#dummy;
  }
}
