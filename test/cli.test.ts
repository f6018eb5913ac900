// The command line from source (`bun src/main.ts`): what a mistake prints, and that it writes nothing.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../src/db";
import { migrate } from "../src/db/sqlite/open";
import { lockStore } from "../src/db/sqlite/lock";
import { MIGRATIONS } from "../src/db/sqlite/migrations";
import { runToEnd, SOURCE_CLI } from "./support/process";
import { tempDir } from "./support/temp";
import pkg from "../package.json" with { type: "json" };

/** Runs the CLI in a new empty folder whose database path is `t.db` inside it. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const cwd = tempDir("cli-");
  const result = await runToEnd([...SOURCE_CLI, ...args], {
    cwd,
    env: { ...process.env, TOLLGATE_DATABASE_PATH: join(cwd, "t.db"), ...env },
  });
  return { ...result, cwd };
}

describe("tollgate: usage", () => {
  test("--version, -v and version print the version", async () => {
    for (const args of [["--version"], ["-v"], ["version"]]) {
      const { code, stdout } = await cli(args);
      expect({ args, code, stdout: stdout.trim() }).toEqual({ args, code: 0, stdout: pkg.version });
    }
  });

  test("--help on every command prints its usage and exits 0", async () => {
    const commands = [
      [],
      ["serve"],
      ["migrate"],
      ["keys", "create"],
      ["keys", "list"],
      ["keys", "revoke"],
      ["keys", "hash"],
      ["users", "create"],
      ["users", "limits"],
      ["users", "set-limit"],
      ["users", "remove-limit"],
      ["users", "set-credits"],
      ["healthcheck"],
      ["version"],
    ];
    for (const command of commands) {
      const { code, stdout, cwd } = await cli([...command, "--help"]);
      expect({ command, code }).toEqual({ command, code: 0 });
      expect(stdout).toStartWith(`Usage: tollgate ${command.join(" ")}`.trimEnd());
      expect(readdirSync(cwd)).toEqual([]);
    }
    const overview = (await cli(["-h"])).stdout;
    expect(overview).toContain("keys revoke");
    expect(overview).toContain("users limits / users set-limit / users remove-limit / users set-credits");
    // Some fifteen starts of the CLI from source, one after another: seconds each on a loaded 2-core machine.
  }, 120_000);

  test.each([
    [["frobnicate"], 'Unknown command "frobnicate".'],
    [
      ["keys"],
      '"tollgate keys" needs a command: create, list, revoke, leaked, hash, limits, set-limit, remove-limit or set-credits.',
    ],
    [["keys", "rotate"], 'Unknown command "keys rotate".'],
    [
      ["users"],
      '"tollgate users" needs a command: create, reset-password, limits, set-limit, remove-limit or set-credits.',
    ],
    [["users", "limits"], '"tollgate users limits" needs the service account.'],
    [["keys", "hash"], '"tollgate keys hash" needs the key.'],
    [["keys", "hash", "a", "b"], 'Unexpected argument "b" for "tollgate keys hash".'],
    [["keys", "revoke"], '"tollgate keys revoke" needs the key id.'],
    [["migrate", "--bogus"], 'Unknown option --bogus for "tollgate migrate".'],
    [["serve", "--version"], 'Unknown option --version for "tollgate serve".'],
    [["serve", "--port"], "Option --port needs a value."],
    [["serve", "--port", "eighty"], '--port "eighty" is not a port number (0 to 65535).'],
    [["serve", "--port", "70000"], '--port "70000" is not a port number (0 to 65535).'],
    [["serve", "--host", "http://x"], '--host "http://x" is not a host name or an IP address.'],
    [
      ["keys", "create", "--tenant", "t"],
      "--roles (a new service account) or --service-account (an existing one) is required.",
    ],
    [
      ["keys", "create", "--tenant", "t", "--roles", "admin"],
      'Unknown role "admin"; the roles are super_admin, event_ingestor, event_reader, key_verifier.',
    ],
    [["keys", "create", "--tenant", "t", "--roles", "event_reader", "--type", "x"], "--type must be"],
    [["keys", "create", "--tenant", "t", "--roles", "event_reader", "--expires-at", "2001-01-01"], "--expires-at"],
    [
      ["keys", "list", "--status", "gone"],
      "--status must be one of active (published), revoked (deleted), disabled (archived).",
    ],
    [["healthcheck", "--url", "not a url"], '--url "not a url" is not a URL.'],
    [["version", "--help=yes"], "Option --help takes no value."],
  ])("%p: one sentence, the usage, exit 2, nothing written", async (args, sentence) => {
    const { code, stdout, stderr, cwd } = await cli(args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.split("\n")[0]).toStartWith(sentence);
    expect(stderr).toContain("Usage: tollgate");
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe("tollgate: commands that fail say why in one line (exit 1)", () => {
  test("keys list without a database does not create one", async () => {
    const { code, stderr, cwd } = await cli(["keys", "list"]);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      `No database at ${join(cwd, "t.db")}: start the server once, or run "tollgate migrate".`,
    );
    expect(existsSync(join(cwd, "t.db"))).toBe(false);
  });

  test("keys revoke of an unknown key, then of a revoked one", async () => {
    const cwd = tempDir("cli-");
    const env = { ...process.env, TOLLGATE_DATABASE_PATH: join(cwd, "t.db") };
    const unknown = await runToEnd([...SOURCE_CLI, "keys", "revoke", "sec_nope"], { env });
    expect(unknown).toEqual({ code: 1, stdout: "", stderr: "No API key sec_nope\n" });

    const created = await runToEnd(
      [...SOURCE_CLI, "keys", "create", "--tenant", "t", "--create-tenant", "--roles", "event_reader"],
      { env },
    );
    const id = /Created (sec_\w+)/.exec(created.stderr)?.[1] as string;
    expect((await runToEnd([...SOURCE_CLI, "keys", "revoke", id], { env })).code).toBe(0);
    const again = await runToEnd([...SOURCE_CLI, "keys", "revoke", id], { env });
    expect(again).toEqual({ code: 1, stdout: "", stderr: `API key ${id} is already revoked\n` });

    const deleted = await runToEnd([...SOURCE_CLI, "keys", "list", "--tenant", "t", "--status", "deleted"], { env });
    expect(deleted.stdout).toContain(`1 revoked key (status deleted) in Development`);
    expect(deleted.stdout).toContain(id);
  });

  test("keys list and create in a tenant or environment that does not exist", async () => {
    const cwd = tempDir("cli-");
    const env = { ...process.env, TOLLGATE_DATABASE_PATH: join(cwd, "t.db") };
    expect((await runToEnd([...SOURCE_CLI, "migrate"], { env })).code).toBe(0);
    const list = await runToEnd([...SOURCE_CLI, "keys", "list", "--tenant", "nobody"], { env });
    expect(list).toEqual({ code: 1, stdout: "", stderr: "No tenant nobody (there are no tenants yet)\n" });
    const create = await runToEnd(
      [
        ...SOURCE_CLI,
        "keys",
        "create",
        "--tenant",
        "acme",
        "--create-tenant",
        "--roles",
        "event_reader",
        "--environment",
        "Staging",
      ],
      { env },
    );
    expect(create).toEqual({ code: 1, stdout: "", stderr: "No environment Staging in tenant acme\n" });
    // Nothing was made on the way: the tenant is not there either.
    const after = await runToEnd([...SOURCE_CLI, "keys", "list", "--tenant", "acme"], { env });
    expect(after.stderr).toBe("No tenant acme (there are no tenants yet)\n");
  });

  test("migrate beside a running server: allowed when up to date, refused when it would change the schema", async () => {
    const path = join(tempDir("cli-"), "t.db");
    const env = { ...process.env, TOLLGATE_DATABASE_PATH: path };
    const db = openDatabase(path);
    migrate(db, MIGRATIONS.slice(0, -1));
    db.close();
    // This test process stands in for a server on an older schema: it holds the store.
    const lock = lockStore(path);
    try {
      const refused = await runToEnd([...SOURCE_CLI, "migrate"], { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toBe(
        `A server (PID ${process.pid}) is running on ${path} with an older schema. Stop it, then run this again (the server migrates when it starts).`,
      );
      const keys = await runToEnd([...SOURCE_CLI, "keys", "create", "--tenant", "t", "--roles", "event_reader"], {
        env,
      });
      expect(keys.code).toBe(1);
    } finally {
      lock.release();
    }
    expect((await runToEnd([...SOURCE_CLI, "migrate"], { env })).stdout.trim()).toBe(
      `Applied ${MIGRATIONS.at(-1)?.name}`,
    );
    const held = lockStore(path);
    try {
      expect((await runToEnd([...SOURCE_CLI, "migrate"], { env })).stdout.trim()).toBe("Database is up to date");
    } finally {
      held.release();
    }
  });
});
