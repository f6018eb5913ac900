// The real server process (`bun src/main.ts serve`), over loopback, as a person starts it.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { MIGRATIONS } from "../src/db/sqlite/migrations";
import { DEFAULT_TENANT, DEV_KEY, errorBody } from "./support/harness";
import { logEntries, runToEnd, SOURCE_CLI, startServer, storeEnv, withStoreOf } from "./support/process";
import { onSqlite } from "./support/test-store";
import { tempDir } from "./support/temp";

const json = { "X-API-Key": DEV_KEY, "Content-Type": "application/json" };

describe("the real server process over loopback", () => {
  test("serves the default key, refuses a missing one, and exits 0 on SIGTERM", async () => {
    const server = await startServer();
    try {
      const me = await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "X-API-Key": DEV_KEY } });
      expect(me.status).toBe(200);
      expect(((await me.json()) as any).credential.kind).toBe("config_key");

      const anonymous = await fetch(`${server.baseUrl}/v1/users/me`);
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toEqual(errorBody(401, "permission_denied", "API key required"));
      expect(anonymous.headers.get("x-request-id")).toBeTruthy();

      const home = await fetch(`${server.baseUrl}/`, { redirect: "manual" });
      expect(home.status).toBe(302);
      expect(home.headers.get("location")).toBe("/swagger");
    } finally {
      expect(await server.stop("SIGTERM")).toBe(0);
    }
    const logs = logEntries(server.lines);
    expect(logs.some((entry) => entry.msg === "stopped")).toBe(true);
    const requests = logs.filter((entry) => entry.msg === "request");
    expect(requests.map((entry) => entry.status)).toEqual([200, 401, 302]);
    // The request log never holds a key; only the start-up guide shows the (public) development key.
    expect(JSON.stringify(logs)).not.toContain(DEV_KEY);
  });

  test("the first start on an empty folder prints a guide: addresses, the new database, the key to try", async () => {
    const dir = tempDir("guide-");
    const first = await startServer({ dir });
    expect(await first.stop()).toBe(0);
    const guide = first.stderrLines.join("\n");
    expect(guide).toContain(`API        ${first.baseUrl}/v1`);
    expect(guide).toContain(`API docs   ${first.baseUrl}/swagger`);
    expect(guide).toContain(`Dashboard  ${first.baseUrl}/dashboard`);
    const latest = MIGRATIONS.at(-1)?.name;
    // On a PostgreSQL run the database exists before the start, migrated (test-store.ts).
    const database = onSqlite
      ? join(dir, "tollgate.db")
      : `PostgreSQL localhost${new URL((await storeEnv(dir)).TOLLGATE_DATABASE_URL as string).pathname}`;
    expect(guide).toContain(
      onSqlite ? `${database} (new: created and migrated to ${latest})` : `${database} (up to date)`,
    );
    expect(guide).toContain(`The development key is active: it has full access to tenant ${DEFAULT_TENANT}. Try it:`);
    expect(guide).toContain(`curl -H 'X-API-Key: ${DEV_KEY}' ${first.baseUrl}/v1/users/me`);
    // Standard output stays the log stream: every line of it is JSON.
    expect(first.lines.filter((line) => !first.stderrLines.includes(line)).every((l) => l.startsWith("{"))).toBe(true);

    const again = await startServer({ dir, env: { TOLLGATE_AUTH_API_KEY_KEYS: "{}" } });
    expect(await again.stop()).toBe(0);
    const second = again.stderrLines.join("\n");
    expect(second).toContain(`${database} (up to date)`);
    expect(second).toContain("The development key is off; 0 operator keys from the config");
    expect(second).not.toContain(DEV_KEY);
  });

  // Elysia decides at load time, from NODE_ENV, whether a validation failure pretty-prints the
  // whole value (seconds for a hostile body): whoever starts Tollgate gets the production path.
  test("runs in production mode whatever NODE_ENV the caller set", async () => {
    for (const NODE_ENV of ["development", "test"]) {
      const server = await startServer({ env: { NODE_ENV } });
      expect(await server.stop()).toBe(0);
      expect(logEntries(server.lines).find((e) => e.msg === "listening")).toMatchObject({ production: true });
    }
  });

  test("logging.format pretty: readable lines instead of JSON", async () => {
    const server = await startServer({ env: { TOLLGATE_LOGGING_FORMAT: "pretty" } });
    await fetch(`${server.baseUrl}/health`);
    expect(await server.stop()).toBe(0);
    const out = server.lines.filter((line) => !server.stderrLines.includes(line));
    expect(out.some((line) => / INFO {2}listening host=127\.0\.0\.1 port=\d+ production=true$/.test(line))).toBe(true);
    expect(out.some((line) => / INFO {2}request .*method=GET route=\/health status=200 /.test(line))).toBe(true);
    expect(logEntries(out)).toEqual([]);
  });

  test("an invalid config stops the start with a message naming the field", async () => {
    const { code, stderr } = await runToEnd([...SOURCE_CLI, "serve"], {
      cwd: tempDir("bad-config-"),
      env: { ...process.env, TOLLGATE_SERVER_PORT: "not-a-port" },
    });
    expect(code).toBe(1);
    expect(stderr).toContain("server.port");
  });

  test("a store that cannot be opened stops the start with one clear line", async () => {
    const { code, stderr } = await runToEnd([...SOURCE_CLI, "serve"], {
      env: { ...process.env, TOLLGATE_SERVER_PORT: "0", TOLLGATE_DATABASE_PATH: "/proc/no-such-dir/tollgate.db" },
    });
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toStartWith("Could not start: ");
  });

  test("warns loudly when the development key is served beyond loopback", async () => {
    const server = await startServer({ env: { TOLLGATE_SERVER_HOST: "0.0.0.0" } });
    await server.stop();
    const warning = logEntries(server.lines).find((entry) => entry.level === "warn");
    expect(String(warning?.msg)).toContain("DEVELOPMENT API KEY");
    const guide = server.stderrLines.join("\n");
    expect(guide).toContain("is running on every network interface");
    expect(guide).toContain(`API        http://127.0.0.1:${server.port}/v1`);
    expect(guide).toContain("WARNING: this address is reachable from other machines");
  });
});

describe("one server per port and per database", () => {
  test("a second server on a port in use exits 1 with one line, and the first keeps serving alone", async () => {
    const first = await startServer();
    try {
      const second = await runToEnd([...SOURCE_CLI, "serve", "--port", String(first.port)], {
        env: { ...process.env, TOLLGATE_DATABASE_PATH: join(tempDir("second-"), "tollgate.db") },
      });
      expect(second.code).toBe(1);
      expect(second.stderr.trim()).toBe(
        `Could not start: port ${first.port} on 127.0.0.1 is already in use; stop what is using it, or choose another port with --port or server.port`,
      );
      // Every request reaches the one server: a revocation there is the whole truth.
      const created = await fetch(`${first.baseUrl}/v1/secrets/api/keys`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ name: "only one server" }),
      });
      const { api_key, id } = (await created.json()) as { api_key: string; id: string };
      const auth = { "X-API-Key": api_key };
      expect((await fetch(`${first.baseUrl}/v1/users/me`, { headers: auth })).status).toBe(200);
      const revoked = await fetch(`${first.baseUrl}/v1/secrets/api/keys/${id}`, { method: "DELETE", headers: json });
      expect(revoked.status).toBe(204);
      const after = await Promise.all(
        Array.from({ length: 20 }, () => fetch(`${first.baseUrl}/v1/users/me`, { headers: auth })),
      );
      expect(after.map((res) => res.status)).toEqual(Array(20).fill(401));
    } finally {
      expect(await first.stop()).toBe(0);
    }
  });

  // The store lock is the SQLite file's: several servers on one PostgreSQL database are the point.
  test.if(onSqlite)(
    "a second server on a database in use exits 1 naming the path and the PID that holds it",
    async () => {
      const first = await startServer();
      try {
        const second = await runToEnd([...SOURCE_CLI, "serve", "--port", "0"], {
          env: { ...process.env, TOLLGATE_DATABASE_PATH: join(first.dir, "tollgate.db") },
        });
        expect(second.code).toBe(1);
        expect(second.stderr.trim()).toBe(
          `Could not start: the database ${join(first.dir, "tollgate.db")} is in use by another Tollgate process (PID ${first.proc.pid}); one server per database, so stop that one first`,
        );
        expect((await fetch(`${first.baseUrl}/health`)).status).toBe(200);
      } finally {
        expect(await first.stop()).toBe(0);
      }
      // Stopped, the store is free again; killed, too (the OS drops the lock with the process).
      const next = await startServer({ dir: first.dir });
      expect(await next.stop("SIGKILL")).not.toBe(0);
      const afterKill = await startServer({ dir: first.dir });
      expect(await afterKill.stop()).toBe(0);
    },
  );
});

describe("the CLI beside a running server", () => {
  test("a key revoked with `tollgate keys revoke` gets 401 on the server's very next request", async () => {
    const server = await startServer();
    const env = { ...process.env, ...(await storeEnv(server.dir)) };
    let id = "";
    try {
      const created = await runToEnd(
        [...SOURCE_CLI, "keys", "create", "--tenant", "acme", "--create-tenant", "--roles", "event_reader"],
        { env },
      );
      expect(created.code).toBe(0);
      const key = created.stdout.trim();
      id = /Created (sec_\w+)/.exec(created.stderr)?.[1] as string;
      const auth = { "X-API-Key": key };
      // Verified once, so the server holds it in its cache.
      for (let i = 0; i < 3; i++) {
        expect((await fetch(`${server.baseUrl}/v1/events`, { headers: auth })).status).toBe(200);
      }

      const listed = await runToEnd([...SOURCE_CLI, "keys", "list", "--tenant", "acme"], { env });
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain("1 active key (status published) in Development");
      expect(listed.stdout).toContain(id);

      const revoked = await runToEnd([...SOURCE_CLI, "keys", "revoke", id], { env });
      expect(revoked.code).toBe(0);
      expect(revoked.stdout).toContain(`Revoked ${id}`);
      // A SQLite file is read on the request's path; PostgreSQL's counters are polled (250 ms).
      if (!onSqlite) await Bun.sleep(1000);

      const next = await fetch(`${server.baseUrl}/v1/events`, { headers: auth });
      expect(next.status).toBe(401);
      expect(((await next.json()) as any).error.message).toBe("Invalid API key");
    } finally {
      expect(await server.stop()).toBe(0);
    }
    const actor = await withStoreOf(server.dir, (store) =>
      store.get(
        "SELECT actor_type, actor_name FROM audit_logs WHERE resource_id = ? AND action = 'secret.revoked'",
        id,
      ),
    );
    expect(actor).toEqual({ actor_type: "system", actor_name: "tollgate keys revoke" });
  });
});

describe("a malformed Host header (the real server: Bun builds the request URL from it)", () => {
  test("400 in the envelope on body routes, the dashboard and sign-in alike, never a 500", async () => {
    const server = await startServer();
    try {
      const port = new URL(server.baseUrl).port;
      for (const [method, path] of [
        ["POST", "/v1/auth/login"],
        ["POST", "/v1/events"],
        ["GET", "/dashboard/sign-in"],
      ]) {
        const out = Bun.spawnSync([
          "curl",
          "-s",
          "-o",
          "-",
          "-w",
          "\n%{http_code}",
          "-X",
          method,
          "-H",
          "Host: a b",
          "-H",
          "content-type: application/json",
          "--data-binary",
          "{}",
          `http://127.0.0.1:${port}${path}`,
        ]);
        const [body, status] = out.stdout.toString().split("\n");
        expect({ path, status }).toEqual({ path, status: "400" });
        expect(JSON.parse(body as string).error.message).toBe("Invalid Host header");
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.lines.join("\n")).not.toContain("unhandled error");
  });
});

describe("last_used_at at a graceful stop (a second witness, from source)", () => {
  test("a key used just before SIGTERM has its last_used_at on disk after exit 0", async () => {
    const server = await startServer();
    const created = await fetch(`${server.baseUrl}/v1/secrets/api/keys`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ name: "used right before the stop" }),
    });
    expect(created.status).toBe(201);
    const { api_key, id } = (await created.json()) as { api_key: string; id: string };
    const usedAt = Date.now();
    expect((await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "X-API-Key": api_key } })).status).toBe(200);
    // The periodic flush first runs 5 s after the start, long after this: the stop writes it.
    expect(await server.stop("SIGTERM")).toBe(0);
    const lastUsed = await withStoreOf(server.dir, (store) =>
      store.value<string | null>("SELECT last_used_at FROM secrets WHERE id = ?", id),
    );
    expect(lastUsed).not.toBeNull();
    expect(Math.abs(Date.parse(lastUsed as string) - usedAt)).toBeLessThan(5000);
  });
});
