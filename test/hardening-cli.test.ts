// Issue 9, item 16: `tollgate keys create` holds its arguments to the API's rules, before it
// opens the store: a usage error (exit 2, one sentence and the usage, nothing written).
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { runToEnd, SOURCE_CLI } from "./support/process";
import { tempDir } from "./support/temp";

async function cli(args: string[], cwd = tempDir("cli-")) {
  const result = await runToEnd([...SOURCE_CLI, ...args], {
    cwd,
    env: { ...process.env, TOLLGATE_DATABASE_PATH: join(cwd, "t.db") },
  });
  return { ...result, cwd };
}

const TIMESTAMP_RULE = "must be an RFC 3339 timestamp with an offset, such as 2025-11-14T10:00:00Z";
const create = (...args: string[]) => ["keys", "create", "--roles", "event_reader", ...args];

describe("tollgate keys create: arguments are held to the API's rules (usage error, exit 2)", () => {
  const TENANT_RULE = "--tenant must be 1 to 64 characters, without surrounding spaces or control characters.";
  const NAME_RULE = "--name must be 1 to 255 characters, not counting surrounding spaces.";
  test.each([
    ["an empty tenant", create("--tenant", ""), "Option --tenant needs a value."],
    ["a tenant of 65 characters", create("--tenant", "t".repeat(65)), TENANT_RULE],
    ["a tenant of 5,000 characters", create("--tenant", "t".repeat(5000)), TENANT_RULE],
    ["a blank tenant", create("--tenant", "   "), TENANT_RULE],
    ["a tenant with a leading space", create("--tenant", " acme"), TENANT_RULE],
    ["a tenant with a newline", create("--tenant", "ac\nme"), TENANT_RULE],
    ["a tenant with a control character", create("--tenant", "ac\u0007me"), TENANT_RULE],
    ["a name of 256 characters", create("--tenant", "t", "--name", "n".repeat(256)), NAME_RULE],
    ["a blank name", create("--tenant", "t", "--name", "   "), NAME_RULE],
    [
      "February 30th",
      create("--tenant", "t", "--expires-at", "2030-02-30T00:00:00Z"),
      `--expires-at ${TIMESTAMP_RULE}.`,
    ],
    [
      "February 30th, no time",
      create("--tenant", "t", "--expires-at", "2030-02-30"),
      `--expires-at ${TIMESTAMP_RULE}.`,
    ],
    ["a date without a time", create("--tenant", "t", "--expires-at", "2030-01-31"), `--expires-at ${TIMESTAMP_RULE}.`],
    ["a word", create("--tenant", "t", "--expires-at", "tomorrow"), `--expires-at ${TIMESTAMP_RULE}.`],
    [
      "an instant in year 10000 UTC",
      create("--tenant", "t", "--expires-at", "9999-12-31T23:00:00-23:59"),
      `--expires-at ${TIMESTAMP_RULE}.`,
    ],
    [
      "a past expiry",
      create("--tenant", "t", "--expires-at", "2001-01-01T00:00:00Z"),
      "--expires-at must be in the future.",
    ],
    [
      "an environment of 256 characters",
      create("--tenant", "t", "--environment", "e".repeat(256)),
      "--environment must be an environment id or name of 1 to 255 characters.",
    ],
  ] as [string, string[], string][])("%s", async (_, args, sentence) => {
    const { code, stdout, stderr, cwd } = await cli(args);
    expect({ code, stdout, first: stderr.split("\n")[0] }).toEqual({ code: 2, stdout: "", first: sentence });
    expect(stderr).toContain("Usage: tollgate keys create");
    expect(readdirSync(cwd)).toEqual([]);
  });

  test("keys list: the same rule for --tenant and --environment", async () => {
    for (const [args, sentence] of [
      [["keys", "list", "--tenant", "t".repeat(5000)], TENANT_RULE],
      [
        ["keys", "list", "--environment", "e".repeat(256)],
        "--environment must be an environment id or name of 1 to 255 characters.",
      ],
    ] as [string[], string][]) {
      const { code, stdout, stderr, cwd } = await cli(args);
      expect({ code, stdout, first: stderr.split("\n")[0] }).toEqual({ code: 2, stdout: "", first: sentence });
      expect(readdirSync(cwd)).toEqual([]);
    }
  });

  test("what the API accepts, the command accepts: trimmed name, any offset stored in UTC, repeated roles once", async () => {
    const cwd = tempDir("cli-");
    const created = await cli(
      [
        "keys",
        "create",
        "--tenant",
        "t".repeat(64),
        "--create-tenant",
        "--roles",
        "event_reader,event_reader, event_ingestor",
        "--name",
        `  ${"n".repeat(255)}  `,
        "--expires-at",
        "2099-06-01T12:00:00+02:00",
      ],
      cwd,
    );
    expect({ code: created.code, stderr: created.stderr }).toMatchObject({ code: 0 });
    expect(created.stderr).toContain("roles event_reader, event_ingestor.");
    const listed = await cli(["keys", "list", "--tenant", "t".repeat(64)], cwd);
    expect(listed.code).toBe(0);
    const row = listed.stdout.split("\n").find((line) => line.startsWith("sec_")) as string;
    expect(row).toContain(` ${"n".repeat(255)}  ${"n".repeat(255)} (service account)`);
    expect(row).toContain("event_reader,event_ingestor");
    expect(row).toContain("2099-06-01 10:00Z");
  });
});
