// Issue 29 (CLI): `tollgate keys limits | set-limit | remove-limit | set-credits` — a key's rate
// limits and credits seen and set from the command line, on the API's rules and audited as the
// command; beside a running server, which answers with the change. The same for a service
// account's, per environment and shared by its keys: `tollgate users limits | set-limit | …`. Real processes on a real
// store (both engines through storeEnv), as test/cli-keys.test.ts.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { runToEnd, type ServerProcess, SOURCE_CLI, startServer, storeEnv, withStoreOf } from "./support/process";
import { tempDir } from "./support/temp";
import { replaceLimits } from "../src/modules/limits/update";

// Each test starts the CLI a dozen times or more, one after another: seconds each on a loaded
// 2-core machine (both engines' runs side by side), so a test and a start get room.
setDefaultTimeout(240_000);
const START_MS = 60_000;

/** A store of its own, and the CLI on it. */
function store(dir = tempDir("limits-cli-")) {
  const cli = async (...args: string[]) =>
    runToEnd([...SOURCE_CLI, ...args], {
      cwd: dir,
      env: { ...process.env, ...(await storeEnv(dir)) },
      timeoutMs: START_MS,
    });
  const audits = (id: string) =>
    withStoreOf(
      dir,
      async (s) =>
        (await s.all(
          "SELECT action, actor_type, actor_name FROM audit_logs WHERE resource_id = ? ORDER BY created_at, id",
          id,
        )) as { action: string; actor_type: string; actor_name: string }[],
    );
  return { cli, audits };
}

const idOf = (stderr: string) => /Created (sec_\w+)/.exec(stderr)?.[1] as string;
/** The audit rows of `action` that these commands (space-separated) of `tollgate <group>` wrote, in order. */
const byCommands = (action: string, group: string, commands: string) =>
  commands.split(" ").map((command) => ({ action, actor_type: "system", actor_name: `tollgate ${group} ${command}` }));

/** What a command the store refuses answers: one line, exit 1. */
const refused = (line: string) => ({ code: 1, stdout: "", stderr: `${line}\n` });
const accountIdOf = (stderr: string) => /service account [^(]+\((usr_\w+)\)/.exec(stderr)?.[1] as string;

/**
 * A server for the tests of a describe block, the CLI beside it on its store, and what the
 * server's audit log lists of an action: [resource id, actor name] pairs, sorted.
 */
function besideAServer() {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const cli = async (...args: string[]) =>
    runToEnd([...SOURCE_CLI, ...args], {
      cwd: server.dir,
      env: { ...process.env, TOLLGATE_SERVER_PORT: String(server.port), ...(await storeEnv(server.dir)) },
      timeoutMs: START_MS,
    });
  const audited = async (apiKey: string, action: string) => {
    const res = await fetch(`${server.baseUrl}/v1/audit-logs?action=${action}`, { headers: { "x-api-key": apiKey } });
    const entries = ((await res.json()) as { items: { resource_id: string; actor: { name: string } }[] }).items;
    return entries.map((entry) => [entry.resource_id, entry.actor.name]).sort();
  };
  return { cli, baseUrl: () => server.baseUrl, audited };
}

describe("tollgate keys limits, set-limit, remove-limit, set-credits", () => {
  test("set, change, remove and print a key's limits and credits; each change audited as its command", async () => {
    const { cli, audits } = store();
    const made = await cli("keys", "create", "--roles", "event_reader", "--name", "Billing");
    expect(made.code).toBe(0);
    const id = idOf(made.stderr);

    const none = await cli("keys", "limits", id);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain(`API key ${id} (`);
    expect(none.stdout).toContain("\nRate limits: none\nCredits: unlimited\n");

    const requests = await cli("keys", "set-limit", id, "--name", "requests", "--limit", "100", "--duration", "60s");
    expect(requests).toEqual({
      code: 0,
      stdout: `Set rate limit requests of ${id} ("Billing"): 100 per minute, counted on every request.\n`,
      stderr: "",
    });
    const orders = await cli(
      "keys",
      "set-limit",
      id,
      "--name",
      "orders",
      "--limit",
      "5",
      "--duration",
      "1s",
      "--named",
    );
    expect(orders.code).toBe(0);
    // The same name again changes that limit in place.
    expect((await cli("keys", "set-limit", id, "--name", "requests", "--limit", "120", "--duration", "1m")).code).toBe(
      0,
    );
    const credits = await cli(
      "keys",
      "set-credits",
      id,
      "--remaining",
      "950",
      "--refill",
      "monthly",
      "--amount",
      "1000",
    );
    expect(credits.stdout).toBe(`Credits of ${id} ("Billing"): 950 left, refilled to 1000 monthly on day 1.\n`);

    const shown = await cli("keys", "limits", id);
    expect(shown.stdout).toContain(
      [
        "Rate limits:",
        "  requests  120 per minute, counted on every request",
        "  orders    5 per second, counted when named",
        "Credits: 950 left, refilled to 1000 monthly on day 1",
      ].join("\n"),
    );
    // Its service account shares none yet.
    expect(shown.stdout).toContain("Its service account's, shared by its keys in this environment");

    const removed = await cli("keys", "remove-limit", id, "--name", "orders");
    expect(removed.stdout).toBe(`Removed rate limit orders of ${id} ("Billing"); 1 left.\n`);
    const unlimited = await cli("keys", "set-credits", id, "--remaining", "unlimited");
    expect(unlimited.stdout).toBe(`Credits of ${id} ("Billing"): unlimited.\n`);

    expect(await audits(id)).toEqual([
      { action: "secret.created", actor_type: "system", actor_name: "tollgate keys create" },
      ...byCommands(
        "secret.limits_updated",
        "keys",
        "set-limit set-limit set-limit set-credits remove-limit set-credits",
      ),
    ]);
  });

  test("wrong arguments are usage errors (exit 2), before anything is read or written", async () => {
    const { cli, audits } = store();
    const id = idOf((await cli("keys", "create", "--roles", "event_reader")).stderr);
    const usage = async (args: string[], first: string) => {
      const result = await cli(...args);
      expect(result.code).toBe(2);
      expect(result.stderr.split("\n")[0]).toBe(first);
    };
    await usage(["keys", "set-limit", id, "--limit", "5", "--duration", "1s"], "--name is required.");
    await usage(
      ["keys", "set-limit", id, "--name", "Orders", "--limit", "5", "--duration", "1s"],
      "--name must be a lower-case name such as orders or api.read (letters, digits, _ . -; at most 64).",
    );
    await usage(
      ["keys", "set-limit", id, "--name", "orders", "--limit", "0", "--duration", "1s"],
      "--limit must be a whole number from 1 to 1000000000000.",
    );
    await usage(
      ["keys", "set-limit", id, "--name", "orders", "--limit", "5", "--duration", "500ms"],
      "--duration must be a window from 1s to 30d, such as 1s, 60s, 15m, 1h or 1d.",
    );
    await usage(
      ["keys", "set-credits", id, "--remaining", "-1"],
      "--remaining must be a whole number from 0 to 1000000000000, or unlimited.",
    );
    await usage(
      ["keys", "set-credits", id, "--remaining", "5", "--refill", "daily"],
      "--refill needs --amount: the credits a refill sets.",
    );
    await usage(
      ["keys", "set-credits", id, "--remaining", "5", "--refill", "daily", "--amount", "5", "--refill-day", "3"],
      "--refill-day goes with a monthly refill only.",
    );
    await usage(
      ["keys", "set-credits", id, "--remaining", "unlimited", "--refill", "daily", "--amount", "5"],
      "--refill needs a number for --remaining: unlimited credits have nothing to refill.",
    );
    await usage(["keys", "set-credits", id, "--amount", "5"], "--remaining is required.");

    expect(await audits(id)).toHaveLength(1);
  });

  test("what the store refuses is one line (exit 1): an unknown key or limit, the wrong tenant, too many, revoked", async () => {
    const dir = tempDir("limits-cli-");
    const { cli, audits } = store(dir);
    const id = idOf((await cli("keys", "create", "--roles", "event_reader")).stderr);
    expect(await cli("keys", "remove-limit", id, "--name", "orders")).toEqual(
      refused(`API key ${id} has no rate limit orders (it has none)`),
    );
    expect(await cli("keys", "limits", "sec_nope")).toEqual(refused("No API key sec_nope"));
    expect((await cli("keys", "limits", id, "--tenant", "acme")).stderr).toBe(`No API key ${id} in tenant acme\n`);
    const other = await cli("keys", "limits", id, "--environment", "Production");
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(new RegExp(`^API key ${id} is not of environment Production in tenant \\S+\\n$`));
    expect((await cli("keys", "limits", id, "--environment", "Development")).code).toBe(0);

    // Past the API's 20 limits (the first 20 set behind the CLI's back): the API's own sentence.
    await withStoreOf(dir, async (s) => {
      const key = (await s.get("SELECT tenant_id, environment_id FROM secrets WHERE id = ?", id)) as {
        tenant_id: string;
        environment_id: string;
      };
      const ratelimits = Array.from({ length: 20 }, (_, i) => ({ name: `l${i}`, limit: 1, duration_ms: 1000 }));
      await replaceLimits(
        s,
        { tenantId: key.tenant_id, environmentId: key.environment_id, ownerId: id },
        { ratelimits },
      );
    });
    const tooMany = await cli("keys", "set-limit", id, "--name", "l20", "--limit", "1", "--duration", "1s");
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toBe("ratelimits must have at most 20 items\n");

    expect((await cli("keys", "revoke", id)).code).toBe(0);
    expect(await cli("keys", "set-credits", id, "--remaining", "3")).toEqual(
      refused("Limits of an archived account or a revoked key cannot be changed"),
    );
    expect((await audits(id)).filter((row) => row.action === "secret.limits_updated")).toHaveLength(0);
  });
});

describe("tollgate keys and users set-limit and set-credits beside a running server", () => {
  const { cli, baseUrl, audited } = besideAServer();

  test("the server answers with the change at once, and audits it as the command", async () => {
    const made = await cli("keys", "create", "--roles", "super_admin", "--name", "Worker");
    expect(made.code).toBe(0);
    const id = idOf(made.stderr);
    // A second key of the same account reads the first: its own requests spend none of the
    // first key's credits, so what the server answers is the balance the CLI set.
    const observer = await cli("keys", "create", "--service-account", "Worker", "--name", "Observer");
    expect(observer.code).toBe(0);
    const apiKey = observer.stdout.trim();
    const get = async () => {
      const res = await fetch(`${baseUrl()}/v1/secrets/api/keys/${id}`, { headers: { "x-api-key": apiKey } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { ratelimits: unknown; credits: unknown };
      return { ratelimits: body.ratelimits, credits: body.credits };
    };
    expect(await get()).toEqual({ ratelimits: [], credits: null });

    expect((await cli("keys", "set-limit", id, "--name", "requests", "--limit", "1000", "--duration", "1h")).code).toBe(
      0,
    );
    expect(
      (await cli("keys", "set-credits", id, "--remaining", "500", "--refill", "daily", "--amount", "500")).code,
    ).toBe(0);
    expect(await get()).toEqual({
      ratelimits: [{ name: "requests", limit: 1000, duration_ms: 3_600_000, auto_apply: true }],
      credits: { remaining: 500, refill: { interval: "daily", amount: 500, refill_day: null } },
    });
    expect(await audited(apiKey, "secret.limits_updated")).toEqual([
      [id, "tollgate keys set-credits"],
      [id, "tollgate keys set-limit"],
    ]);
  });

  test("the server applies an account's new limit on its key's next request, and audits it as the command", async () => {
    const made = await cli("keys", "create", "--roles", "super_admin", "--name", "Limited");
    expect(made.code).toBe(0);
    const apiKey = made.stdout.trim();
    const id = accountIdOf(made.stderr);
    const me = () => fetch(`${baseUrl()}/v1/users/me`, { headers: { "x-api-key": apiKey } });
    // The server has verified (and cached) the key before the change.
    expect((await me()).status).toBe(200);

    expect(
      (
        await cli(
          "users",
          "set-limit",
          "Limited",
          "--environment",
          "Development",
          "--name",
          "requests",
          "--limit",
          "1",
          "--duration",
          "1h",
        )
      ).code,
    ).toBe(0);
    expect((await me()).status).toBe(200);
    const limited = await me();
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: { message: string } }).error.message).toBe("Rate limit exceeded");

    // Removed: the next request is let through again.
    expect(
      (await cli("users", "remove-limit", "Limited", "--environment", "Development", "--name", "requests")).code,
    ).toBe(0);
    expect((await me()).status).toBe(200);

    expect(await audited(apiKey, "service_account.limits_updated")).toEqual([
      [id, "tollgate users remove-limit"],
      [id, "tollgate users set-limit"],
    ]);
  });
});

describe("tollgate users limits, set-limit, remove-limit, set-credits: a service account's, per environment", () => {
  test("set, change, remove and print an account's limits and credits in one environment; its key there shares them", async () => {
    const { cli, audits } = store();
    const made = await cli(
      "keys",
      "create",
      "--roles",
      "event_reader",
      "--name",
      "Worker",
      "--environment",
      "Production",
    );
    expect(made.code).toBe(0);
    const [keyId, id] = [idOf(made.stderr), accountIdOf(made.stderr)];
    // In Production: the account's limits there.
    const users = (command: string, account: string, ...args: string[]) =>
      cli("users", command, account, "--environment", "Production", ...args);

    const none = await users("limits", "Worker");
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(
      new RegExp(
        `^Service account Worker \\(${id}\\) in Production \\(env_\\w+\\) of tenant \\S+, shared by its keys there\\n`,
      ),
    );
    expect(none.stdout).toEndWith("\nRate limits: none\nCredits: unlimited\n");

    expect(await users("set-limit", "Worker", "--name", "requests", "--limit", "100", "--duration", "60s")).toEqual({
      code: 0,
      stdout: `Set rate limit requests of ${id} ("Worker") in Production: 100 per minute, counted on every request.\n`,
      stderr: "",
    });
    // By its id too; --named as for a key.
    const orders = await users("set-limit", id, "--name", "orders", "--limit", "5", "--duration", "1s", "--named");
    expect(orders.code).toBe(0);
    const credits = await users("set-credits", "Worker", "--remaining", "950", "--refill", "daily", "--amount", "1000");
    expect(credits.stdout).toBe(
      `Credits of ${id} ("Worker") in Production: 950 left, refilled to 1000 daily at 00:00 UTC.\n`,
    );

    expect((await users("limits", "Worker")).stdout).toEndWith(
      [
        "Rate limits:",
        "  requests  100 per minute, counted on every request",
        "  orders    5 per second, counted when named",
        "Credits: 950 left, refilled to 1000 daily at 00:00 UTC",
        "",
      ].join("\n"),
    );
    // Its key in Production shares them; the account has none in Development.
    expect((await cli("keys", "limits", keyId)).stdout).toContain(
      "  Rate limits:\n    requests  100 per minute, counted on every request\n    orders    5 per second, counted when named\n  Credits: 950 left",
    );
    expect((await cli("users", "limits", "Worker", "--environment", "Development")).stdout).toEndWith(
      "\nRate limits: none\nCredits: unlimited\n",
    );

    expect(await users("remove-limit", "Worker", "--name", "orders")).toEqual({
      code: 0,
      stdout: `Removed rate limit orders of ${id} ("Worker") in Production; 1 left.\n`,
      stderr: "",
    });
    expect((await users("set-credits", "Worker", "--remaining", "unlimited")).stdout).toBe(
      `Credits of ${id} ("Worker") in Production: unlimited.\n`,
    );

    expect(await audits(id)).toEqual([
      { action: "service_account.created", actor_type: "system", actor_name: "tollgate keys create" },
      ...byCommands(
        "service_account.limits_updated",
        "users",
        "set-limit set-limit set-credits remove-limit set-credits",
      ),
    ]);
  });

  test("wrong arguments are usage errors (exit 2), and nothing is changed", async () => {
    const { cli, audits } = store();
    const id = accountIdOf((await cli("keys", "create", "--roles", "event_reader", "--name", "Worker")).stderr);
    const env = ["--environment", "Production"];
    const usage = async (args: string[], first: string) => {
      const result = await cli(...args);
      expect(result.code).toBe(2);
      expect(result.stderr.split("\n")[0]).toBe(first);
    };
    await usage(["users", "set-limit", "Worker", ...env, "--limit", "5", "--duration", "1s"], "--name is required.");
    await usage(
      ["users", "set-limit", "Worker", ...env, "--name", "orders", "--limit", "0", "--duration", "1s"],
      "--limit must be a whole number from 1 to 1000000000000.",
    );
    await usage(
      ["users", "set-limit", "Worker", ...env, "--name", "orders", "--limit", "5", "--duration", "31d"],
      "--duration must be a window from 1s to 30d, such as 1s, 60s, 15m, 1h or 1d.",
    );
    await usage(
      ["users", "remove-limit", "Worker", ...env, "--name", "Orders"],
      "--name must be a lower-case name such as orders or api.read (letters, digits, _ . -; at most 64).",
    );
    await usage(
      ["users", "set-credits", "Worker", ...env, "--remaining", "5", "--refill-day", "3"],
      "--refill-day goes with --refill.",
    );
    await usage(["users", "set-credits", "Worker", ...env], "--remaining is required.");
    await usage(
      ["users", "set-credits", "  ", ...env, "--remaining", "5"],
      "The service account must be 1 to 255 characters, not counting surrounding spaces.",
    );
    await usage(["users", "set-limit", ...env], '"tollgate users set-limit" needs the service account.');
    await usage(["users", "limits", "Worker", "--environment"], "Option --environment needs a value.");

    expect(await audits(id)).toHaveLength(1);
    expect((await cli("users", "limits", "Worker", ...env)).stdout).toEndWith(
      "\nRate limits: none\nCredits: unlimited\n",
    );
  });

  test("a person's account, an unknown account or environment, or none named among several: one line, exit 1", async () => {
    const dir = tempDir("limits-cli-");
    const { cli, audits } = store(dir);
    const id = accountIdOf((await cli("keys", "create", "--roles", "event_reader", "--name", "Worker")).stderr);
    const person = Bun.spawn([...SOURCE_CLI, "users", "create", "--email", "ops@example.com"], {
      cwd: dir,
      env: { ...process.env, ...(await storeEnv(dir)) },
      stdin: new Blob(["correct horse battery staple\n"]),
      stdout: "pipe",
      stderr: "pipe",
    });
    const personId = /Created user account (usr_\w+)/.exec(await new Response(person.stdout).text())?.[1] as string;
    expect(await person.exited).toBe(0);

    const notLimited = refused(
      "Only service accounts carry rate limits and credits; a person's requests are not limited",
    );
    expect(await cli("users", "set-credits", personId, "--environment", "Production", "--remaining", "5")).toEqual(
      notLimited,
    );
    expect(await cli("users", "limits", "ops@example.com", "--environment", "Production")).toEqual(notLimited);
    expect(
      await cli(
        "users",
        "set-limit",
        "Nobody",
        "--environment",
        "Production",
        "--name",
        "requests",
        "--limit",
        "1",
        "--duration",
        "1s",
      ),
    ).toEqual(refused("No account Nobody in tenant 00000000-0000-0000-0000-000000000000"));
    expect((await cli("users", "limits", "Worker", "--environment", "Staging")).stderr).toBe(
      "No environment Staging in tenant 00000000-0000-0000-0000-000000000000\n",
    );
    expect(
      (await cli("users", "limits", "Worker", "--tenant", "acme", "--environment", "Production")).stderr,
    ).toStartWith("No tenant acme (the tenants are: ");
    const unnamed = await cli("users", "set-credits", "Worker", "--remaining", "5");
    expect(unnamed.code).toBe(1);
    expect(unnamed.stderr).toMatch(
      /^A service account's limits are per environment and tenant \S+ has 2: name one with --environment \(.*Production \(env_\w+\).*\)\n$/,
    );
    expect(await cli("users", "remove-limit", "Worker", "--environment", "Production", "--name", "orders")).toEqual(
      refused("Service account Worker has no rate limit orders (it has none)"),
    );
    expect((await audits(id)).filter((row) => row.action === "service_account.limits_updated")).toHaveLength(0);
    expect((await audits(personId)).filter((row) => row.action === "service_account.limits_updated")).toHaveLength(0);
  });
});
