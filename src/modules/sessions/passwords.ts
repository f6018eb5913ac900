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

/** Flexprice's minimum; the maximum keeps one check from costing more than any other. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
export const PASSWORD_RULE = `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`;

export function isValidPassword(password: string): boolean {
  return password.length >= PASSWORD_MIN_LENGTH && password.length <= PASSWORD_MAX_LENGTH;
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
