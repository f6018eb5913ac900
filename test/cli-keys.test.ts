// Issue 26, items 5 and 7: `tollgate keys create` makes nothing it was not asked for (a mistyped
// tenant is refused, not created), makes keys for existing service accounts, and `keys list`
// speaks the dashboard's words for a key's status (active, revoked, disabled) beside the API's.
// Real processes on a real store, as test/cli.test.ts.
import { describe, expect, test } from "bun:test";
import { DEFAULT_TENANT_ID } from "../src/config";
import { withStoreOf, runToEnd, SOURCE_CLI, storeEnv } from "./support/process";
import { tempDir } from "./support/temp";

/** A store of its own, and the CLI on it. */
function store() {
  const dir = tempDir("cli-keys-");
  const cli = async (...args: string[]) =>
    runToEnd([...SOURCE_CLI, ...args], { env: { ...process.env, ...(await storeEnv(dir)) } });
  /** One row of a query on the store, read while no command runs. */
  const read = <T>(query: string, ...params: string[]): Promise<T> =>
    withStoreOf(dir, async (store) => (await store.get(query, ...params)) as T);
  const count = async (table: string) =>
    Number(await withStoreOf(dir, (store) => store.value(`SELECT count(*) FROM ${table}`)));
  /** Changes the store behind the CLI's back, as another process could. */
  const write = (statement: string, ...params: string[]) =>
    withStoreOf(dir, (store) => store.run(statement, ...params));
  return { cli, read, count, write };
}

const idOf = (stderr: string) => /Created (sec_\w+)/.exec(stderr)?.[1] as string;

describe("tollgate keys create: a tenant that does not exist", () => {
  test("a mistyped tenant is refused, naming the tenants there are, and nothing is made", async () => {
    const { cli, count } = store();
    // The default tenant: no --tenant needed, as for keys list.
    const first = await cli("keys", "create", "--roles", "event_reader");
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`of tenant ${DEFAULT_TENANT_ID}`);
    const before = { tenants: await count("tenants"), users: await count("users"), secrets: await count("secrets") };

    const typo = await cli("keys", "create", "--tenant", "default", "--roles", "super_admin");
    expect(typo).toEqual({
      code: 1,
      stdout: "",
      stderr: `No tenant default (the tenants are: ${DEFAULT_TENANT_ID}). To create it with its two environments, add --create-tenant.\n`,
    });
    expect({ tenants: await count("tenants"), users: await count("users"), secrets: await count("secrets") }).toEqual(
      before,
    );

    const asked = await cli("keys", "create", "--tenant", "acme", "--create-tenant", "--roles", "event_reader");
    expect(asked.code).toBe(0);
    expect(asked.stdout).toMatch(/^sk_test_[0-9a-f]{64}\n$/);
    expect(await count("tenants")).toBe(before.tenants + 1);
    const listed = await cli("keys", "list", "--tenant", "acme");
    expect(listed.stdout).toContain("1 active key (status published) in Development");
    // Once made, the tenant needs no --create-tenant.
    expect((await cli("keys", "create", "--tenant", "acme", "--roles", "event_reader")).code).toBe(0);
  });
});

describe("tollgate keys create --service-account", () => {
  test("by name or id: a key with the account's roles, no new account; audited as the CLI", async () => {
    const { cli, count, read } = store();
    const made = await cli("keys", "create", "--roles", "event_ingestor,event_reader", "--name", "Ingest worker");
    expect(made.code).toBe(0);
    const accountId = /service account Ingest worker \((usr_\w+)\)/.exec(made.stderr)?.[1] as string;
    const accounts = await count("users");

    const byName = await cli("keys", "create", "--service-account", "Ingest worker", "--name", "second key");
    expect(byName.code).toBe(0);
    expect(byName.stderr).toContain(`for service account Ingest worker (${accountId})`);
    expect(byName.stderr).toContain("roles event_ingestor, event_reader.");
    const byId = await cli("keys", "create", "--service-account", accountId, "--name", "third key");
    expect(byId.code).toBe(0);
    expect(await count("users")).toBe(accounts);
    for (const created of [byName, byId]) {
      const row = await read<{ user_id: string; roles: string }>(
        "SELECT user_id, roles FROM secrets WHERE id = ?",
        idOf(created.stderr),
      );
      expect(row).toEqual({ user_id: accountId, roles: '["event_ingestor","event_reader"]' });
    }
    const audit = await read<{ action: string; actor_type: string; actor_name: string }>(
      "SELECT action, actor_type, actor_name FROM audit_logs WHERE resource_id = ?",
      idOf(byId.stderr),
    );
    expect(audit).toEqual({ action: "secret.created", actor_type: "system", actor_name: "tollgate keys create" });
  });

  test("an unknown, ambiguous or archived account is refused (exit 1); --roles beside it is a usage error", async () => {
    const { cli, read, write, count } = store();
    for (let i = 0; i < 2; i++)
      expect((await cli("keys", "create", "--roles", "event_reader", "--name", "twin")).code).toBe(0);
    const keys = await count("secrets");

    const unknown = await cli("keys", "create", "--service-account", "nobody");
    expect(unknown).toEqual({
      code: 1,
      stdout: "",
      stderr: `No service account nobody in tenant ${DEFAULT_TENANT_ID}\n`,
    });
    const twins = await cli("keys", "create", "--service-account", "twin");
    expect(twins.code).toBe(1);
    expect(twins.stderr).toMatch(
      /^2 service accounts are named "twin" in tenant \S+ \(usr_\w+, usr_\w+\); name one by its id\n$/,
    );

    const archived = await read<{ id: string }>("SELECT id FROM users WHERE name = 'twin' ORDER BY id LIMIT 1");
    await write("UPDATE users SET status = 'archived' WHERE id = ?", archived.id);
    const ofArchived = await cli("keys", "create", "--service-account", archived.id);
    expect(ofArchived).toEqual({
      code: 1,
      stdout: "",
      stderr: `Service account twin (${archived.id}) is archived: a key of it would not work\n`,
    });
    expect(await count("secrets")).toBe(keys);

    const both = await cli("keys", "create", "--service-account", "twin", "--roles", "super_admin");
    expect(both.code).toBe(2);
    expect(both.stderr.split("\n")[0]).toBe(
      "--roles and --service-account do not go together: an existing service account's key gets its roles.",
    );
    const neither = await cli("keys", "create", "--name", "x");
    expect(neither.code).toBe(2);
    expect(neither.stderr.split("\n")[0]).toBe(
      "--roles (a new service account) or --service-account (an existing one) is required.",
    );
    expect(await count("secrets")).toBe(keys);
  });
});

describe("tollgate keys list --status: the dashboard's words and the API's", () => {
  test("active, revoked and disabled (or published, deleted, archived): one listing each, printed in words", async () => {
    const { cli, write } = store();
    const ids: Record<string, string> = {};
    for (const name of ["kept", "revoked", "disabled"]) {
      const created = await cli("keys", "create", "--roles", "event_reader", "--name", name);
      ids[name] = idOf(created.stderr);
    }
    expect((await cli("keys", "revoke", ids.revoked as string)).code).toBe(0);
    // The account of "disabled" is archived: its key is disabled, whatever its own status.
    await write(
      "UPDATE users SET status = 'archived' WHERE id = (SELECT user_id FROM secrets WHERE id = ?)",
      ids.disabled as string,
    );

    const rowsOf = (stdout: string) => stdout.split("\n").filter((line) => line.startsWith("sec_"));
    for (const [words, api, name, heading] of [
      ["active", "published", "kept", "1 active key (status published)"],
      ["revoked", "deleted", "revoked", "1 revoked key (status deleted)"],
      ["disabled", "archived", "disabled", "1 disabled key (status archived)"],
    ] as const) {
      for (const asked of [words, api]) {
        const listed = await cli("keys", "list", "--status", asked);
        expect({ asked, code: listed.code, heading: listed.stdout.split("\n")[0] }).toEqual({
          asked,
          code: 0,
          heading: `${heading} in Development (${/\((env_\w+)\)/.exec(listed.stdout)?.[1]}) of tenant ${DEFAULT_TENANT_ID}`,
        });
        const rows = rowsOf(listed.stdout);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toContain(ids[name] as string);
        expect(rows[0]).toMatch(new RegExp(`\\s${words}\\s`));
      }
    }
    // Without --status: the active ones.
    expect((await cli("keys", "list")).stdout).toStartWith("1 active key (status published)");
  });
});
