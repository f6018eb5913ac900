// Issue 29 (CLI): `tollgate keys limits | set-limit | remove-limit | set-credits` — a key's rate
// limits and credits seen and set from the command line, on the API's rules and audited as the
// command; beside a running server, which answers with the change. Real processes on a real
// store (both engines through storeEnv), as test/cli-keys.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runToEnd, type ServerProcess, SOURCE_CLI, startServer, storeEnv, withStoreOf } from "./support/process";
import { tempDir } from "./support/temp";
import { replaceLimits } from "../src/modules/limits/update";

/** A store of its own, and the CLI on it. */
function store(dir = tempDir("limits-cli-")) {
  const cli = async (...args: string[]) =>
    runToEnd([...SOURCE_CLI, ...args], { cwd: dir, env: { ...process.env, ...(await storeEnv(dir)) } });
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
      ...["set-limit", "set-limit", "set-limit", "set-credits", "remove-limit", "set-credits"].map((command) => ({
        action: "secret.limits_updated",
        actor_type: "system",
        actor_name: `tollgate keys ${command}`,
      })),
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
    expect(await cli("keys", "remove-limit", id, "--name", "orders")).toEqual({
      code: 1,
      stdout: "",
      stderr: `API key ${id} has no rate limit orders (it has none)\n`,
    });
    expect(await cli("keys", "limits", "sec_nope")).toEqual({ code: 1, stdout: "", stderr: "No API key sec_nope\n" });
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
    expect(await cli("keys", "set-credits", id, "--remaining", "3")).toEqual({
      code: 1,
      stdout: "",
      stderr: "Limits of an archived account or a revoked key cannot be changed\n",
    });
    expect((await audits(id)).filter((row) => row.action === "secret.limits_updated")).toHaveLength(0);
  });
});

describe("tollgate keys set-limit and set-credits beside a running server", () => {
  let server: ServerProcess;
  const cli = async (...args: string[]) =>
    runToEnd([...SOURCE_CLI, ...args], {
      cwd: server.dir,
      env: { ...process.env, TOLLGATE_SERVER_PORT: String(server.port), ...(await storeEnv(server.dir)) },
    });

  beforeAll(async () => {
    server = await startServer();
  });

  afterAll(async () => {
    await server?.stop();
  });

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
      const res = await fetch(`${server.baseUrl}/v1/secrets/api/keys/${id}`, { headers: { "x-api-key": apiKey } });
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
    const audit = await fetch(`${server.baseUrl}/v1/audit-logs?action=secret.limits_updated`, {
      headers: { "x-api-key": apiKey },
    });
    const entries = ((await audit.json()) as { items: { resource_id: string; actor: { name: string } }[] }).items;
    expect(entries.map((entry) => [entry.resource_id, entry.actor.name]).sort()).toEqual([
      [id, "tollgate keys set-credits"],
      [id, "tollgate keys set-limit"],
    ]);
  });
});
