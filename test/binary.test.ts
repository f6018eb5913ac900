// The compiled executable, run as a user would: `npm run build`, then dist/tollgate.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { DEV_KEY } from "./support/harness";
import { startServer } from "./support/process";

const root = join(import.meta.dir, "..");
let work: string;
let binary: string;

/** `npm run build`, with the executable written to a temporary folder instead of dist/. */
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "tollgate-binary-"));
  binary = join(work, "tollgate");
  const script: string = (await Bun.file(join(root, "package.json")).json()).scripts.build;
  const args = script.split(/\s+/).slice(1);
  args[args.indexOf("--outfile") + 1] = binary;
  const build = Bun.spawn([process.execPath, ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
  if ((await build.exited) !== 0) throw new Error(await new Response(build.stderr).text());
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the binary to completion in an empty folder of its own. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(work, "cli-"));
  const proc = Bun.spawn([binary, ...args], {
    cwd,
    env: { ...process.env, TOLLGATE_DATABASE_PATH: join(cwd, "t.db"), ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code, cwd };
}

describe("dist/tollgate", () => {
  test("starts in an empty folder on its embedded defaults: /health, the default key, swagger", async () => {
    const server = await startServer({ command: [binary] });
    try {
      const health = await fetch(`${server.baseUrl}/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { status: string }).status).toBe("ok");
      const me = await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "X-API-Key": DEV_KEY } });
      expect(me.status).toBe(200);
      expect((await fetch(`${server.baseUrl}/v1/users/me`)).status).toBe(401);
      expect((await fetch(`${server.baseUrl}/swagger/json`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  test("keys hash prints the SHA-256 that config.yaml lists", async () => {
    const { stdout, code } = await cli(["keys", "hash", DEV_KEY]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe("c3b3fa371183f0df159d659da0b42c5270c8d53c22e180df2286e059c75802ab");
  });

  test("version, --help, and wrong arguments (usage, exit 2)", async () => {
    const version = await cli(["version"]);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe((await Bun.file(join(root, "package.json")).json()).version);
    for (const command of [
      ["--help"],
      ["serve", "--help"],
      ["migrate", "--help"],
      ["keys", "create", "--help"],
      ["keys", "hash", "--help"],
      ["healthcheck", "--help"],
      ["version", "--help"],
    ]) {
      const help = await cli(command);
      expect({ command, code: help.code }).toEqual({ command, code: 0 });
      expect(help.stdout).toContain("Usage: tollgate");
    }
    for (const wrong of [
      ["frobnicate"],
      ["keys"],
      ["keys", "hash"],
      ["keys", "hash", "a", "b"],
      ["migrate", "--bogus"],
      ["keys", "create", "--tenant", "t"],
    ]) {
      const res = await cli(wrong);
      expect({ wrong, code: res.code }).toEqual({ wrong, code: 2 });
      expect(res.stderr).toContain("Usage: tollgate");
    }
  });

  test("migrate twice is harmless", async () => {
    const first = await cli(["migrate"]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("Applied");
    const proc = Bun.spawn([binary, "migrate"], {
      cwd: first.cwd,
      env: { ...process.env, TOLLGATE_DATABASE_PATH: join(first.cwd, "t.db") },
      stdout: "pipe",
    });
    expect(await proc.exited).toBe(0);
    expect((await new Response(proc.stdout).text()).trim()).toBe("Database is up to date");
  });

  test("keys create bootstraps a working key without the default one; healthcheck tells up from down", async () => {
    const dir = mkdtempSync(join(work, "bootstrap-"));
    const env = { TOLLGATE_DATABASE_PATH: join(dir, "t.db"), TOLLGATE_AUTH_API_KEY_KEYS: "{}" };
    const created = Bun.spawn(
      [binary, "keys", "create", "--tenant", "acme", "--roles", "event_ingestor", "--name", "ingest"],
      {
        env: { ...process.env, ...env },
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect(await created.exited).toBe(0);
    const key = (await new Response(created.stdout).text()).trim();
    expect(key).toMatch(/^sk_test_[0-9a-f]{64}$/);

    const server = await startServer({ command: [binary, "serve"], dir, env });
    try {
      const me = await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "X-API-Key": key } });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { credential: { roles: string[] } }).credential.roles).toEqual(["event_ingestor"]);
      expect((await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "X-API-Key": DEV_KEY } })).status).toBe(401);
      const up = await cli(["healthcheck", "--url", server.baseUrl]);
      expect(up.code).toBe(0);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    const down = await cli(["healthcheck", "--url", server.baseUrl]);
    expect(down.code).toBe(1);
  });

  test("SIGTERM finishes the request in flight, flushes last_used_at and exits 0", async () => {
    const server = await startServer({ command: [binary] });
    const headers = { "X-API-Key": DEV_KEY, "Content-Type": "application/json" };
    const created = await fetch(`${server.baseUrl}/v1/secrets/api/keys`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "used once" }),
    });
    const { api_key, id } = (await created.json()) as { api_key: string; id: string };
    expect((await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "X-API-Key": api_key } })).status).toBe(200);

    // A bulk request whose body is still arriving when SIGTERM lands.
    const events = JSON.stringify({
      events: Array.from({ length: 500 }, (_, i) => ({
        event_id: `inflight-${i}`,
        event_name: "x",
        external_customer_id: "c",
      })),
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let firstChunkTaken!: () => void;
    const inFlight = new Promise<void>((resolve) => (firstChunkTaken = resolve));
    let step = 0;
    // The second pull means the first chunk has been handed to the connection: the request is
    // on its way to the server, and its body is not finished until the gate opens.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (step++ === 0) {
          controller.enqueue(new TextEncoder().encode(events.slice(0, 100)));
          return;
        }
        firstChunkTaken();
        await gate;
        controller.enqueue(new TextEncoder().encode(events.slice(100)));
        controller.close();
      },
    });
    const inflight = fetch(`${server.baseUrl}/v1/events/bulk`, { method: "POST", headers, body });
    await inFlight;
    await Bun.sleep(100);
    server.proc.kill("SIGTERM");
    await Bun.sleep(200);
    release();
    expect((await inflight).status).toBe(202);
    expect(await server.proc.exited).toBe(0);

    const db = new Database(join(server.dir, "tollgate.db"), { readonly: true });
    try {
      expect(db.prepare("SELECT count(*) FROM events").pluck().get()).toBe(500);
      expect(db.prepare("SELECT last_used_at FROM secrets WHERE id = ?").pluck().get(id)).not.toBeNull();
    } finally {
      db.close();
    }
  });
});
