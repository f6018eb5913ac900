// Issue 23, item 2: "one server per database" holds for the database, not for one spelling of
// its path. A symlink (to the file, or to its folder) is the same database; a hard link is the
// same file under a second name, for which SQLite would keep a second write-ahead log.
import { describe, expect, test } from "bun:test";
import { linkSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { DEV_KEY } from "./support/harness";
import { runToEnd, SOURCE_CLI, startServer } from "./support/process";
import { tempDir } from "./support/temp";

function serveOn(databasePath: string) {
  return runToEnd([...SOURCE_CLI, "serve", "--port", "0"], {
    env: { ...process.env, TOLLGATE_DATABASE_PATH: databasePath },
  });
}

describe("a second server on the same database, spelled another way, does not start", () => {
  test("a symlink to the database file: exit 1 naming the database and the holder's PID", async () => {
    const first = await startServer();
    try {
      const alias = join(tempDir("alias-"), "other-name.db");
      symlinkSync(join(first.dir, "tollgate.db"), alias);
      const second = await serveOn(alias);
      expect(second.code).toBe(1);
      expect(second.stderr.trim()).toBe(
        `Could not start: the database ${join(first.dir, "tollgate.db")} is in use by another Tollgate process (PID ${first.proc.pid}); one server per database, so stop that one first`,
      );
      expect((await fetch(`${first.baseUrl}/health`)).status).toBe(200);
    } finally {
      expect(await first.stop()).toBe(0);
    }
  });

  test("a symlink to the database's folder: the same refusal", async () => {
    const first = await startServer();
    try {
      const folder = join(tempDir("alias-dir-"), "data");
      symlinkSync(first.dir, folder);
      const second = await serveOn(join(folder, "tollgate.db"));
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`is in use by another Tollgate process (PID ${first.proc.pid})`);
    } finally {
      expect(await first.stop()).toBe(0);
    }
  });

  test("a hard link: refused while the first runs, and also when none runs (two names, two logs)", async () => {
    const first = await startServer();
    const linkDir = tempDir("hardlink-");
    const alias = join(linkDir, "same-inode.db");
    try {
      linkSync(join(first.dir, "tollgate.db"), alias);
      const second = await serveOn(alias);
      expect(second.code).toBe(1);
      expect(second.stderr.trim()).toBe(
        `Could not start: the database ${alias} has 2 names on disk (hard links); SQLite keeps a write-ahead log per name, so two names would corrupt it. Remove every other name (find / -samefile ${alias}), then start again`,
      );
      const me = await fetch(`${first.baseUrl}/v1/users/me`, { headers: { "X-API-Key": DEV_KEY } });
      expect(me.status).toBe(200);
    } finally {
      expect(await first.stop()).toBe(0);
    }
    const alone = await serveOn(join(first.dir, "tollgate.db"));
    expect(alone.code).toBe(1);
    expect(alone.stderr).toContain("has 2 names on disk (hard links)");
  });

  test("the CLI sees the server through a symlink: secrets rotate-key refuses to run beside it", async () => {
    const first = await startServer();
    try {
      const folder = tempDir("cli-alias-");
      mkdirSync(folder, { recursive: true });
      const alias = join(folder, "alias.db");
      symlinkSync(join(first.dir, "tollgate.db"), alias);
      const env = {
        ...process.env,
        TOLLGATE_DATABASE_PATH: alias,
        OLD_KEY: "11".repeat(32),
        TOLLGATE_SECRETS_ENCRYPTION_KEY: "22".repeat(32),
      };
      const rotate = await runToEnd([...SOURCE_CLI, "secrets", "rotate-key", "--from-env", "OLD_KEY"], { env });
      expect(rotate.code).toBe(1);
      expect(rotate.stderr.trim()).toBe(
        `A server is running on ${alias}: stop it first (it holds the old key), then run this again.`,
      );
    } finally {
      expect(await first.stop()).toBe(0);
    }
  });
});
