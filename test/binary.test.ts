// The compiled executable, run as a user runs it: built by `npm run build` in a copy of the
// project, that copy deleted, then run from an empty folder with a bare environment. It must
// need no Node, no Bun and no node_modules. Run as root, each command also runs in a mount
// namespace with an empty tmpfs over this checkout's node_modules, so not even those are there.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join, relative } from "node:path";
import Database from "better-sqlite3";
import { DEV_KEY } from "./support/harness";
import { logEntries, runToEnd, startServer } from "./support/process";
import { tempDir } from "./support/temp";
import pkg from "../package.json" with { type: "json" };

const root = join(import.meta.dir, "..");
const nodeModules = join(root, "node_modules");
const PORTAL_STATIC = join(root, "src/modules/portal-page/static");
const DASHBOARD_STATIC = join(root, "src/modules/dashboard/static");
/** Build tools, not inputs of the build: left out of the copy (they are most of its size). */
const BUILD_TOOLS = new Set([
  "bun",
  "@oven",
  "typescript",
  "@typescript",
  "prettier",
  "@types",
  "bun-types",
  "playwright-core",
  ".bin",
]);

let work: string;
let binary: string;

beforeAll(async () => {
  work = tempDir("binary-");
  binary = join(work, "tollgate");
  const copy = join(work, "project");
  for (const entry of ["src", "package.json", "tsconfig.json", "bunfig.toml"]) {
    cpSync(join(root, entry), join(copy, entry), { recursive: true });
  }
  cpSync(nodeModules, join(copy, "node_modules"), {
    recursive: true,
    filter: (source) => !BUILD_TOOLS.has(relative(nodeModules, source).split("/")[0] as string),
  });
  // `npm run build`, with the executable written beside the copy instead of into dist/.
  const [, ...args] = pkg.scripts.build.split(/\s+/);
  const build = await runToEnd([process.execPath, ...args, "--outfile", binary], { cwd: copy, timeoutMs: 120_000 });
  if (build.code !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
  rmSync(copy, { recursive: true, force: true });
}, 150_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A bare environment: no PATH to Node or Bun, no TOLLGATE_* from the test run. */
function bareEnv(dir: string, env: Record<string, string> = {}): Record<string, string> {
  return { HOME: dir, PATH: "/nonexistent", TOLLGATE_DATABASE_PATH: join(dir, "tollgate.db"), ...env };
}

const canHideNodeModules = process.getuid?.() === 0 && Bun.which("unshare") !== null && Bun.which("mount") !== null;

/** The binary and its arguments, inside a mount namespace where node_modules is empty (as root). */
function isolated(args: string[]): string[] {
  if (!canHideNodeModules) return [binary, ...args];
  return [
    Bun.which("unshare") as string,
    "--mount",
    "--",
    "/bin/sh",
    "-c",
    `${Bun.which("mount")} -t tmpfs tmpfs "$0" && exec "$@"`,
    nodeModules,
    binary,
    ...args,
  ];
}

/** Runs the binary to completion in an empty folder of its own. */
async function cli(args: string[], env: Record<string, string> = {}, dir = tempDir("cli-")) {
  return { ...(await runToEnd(isolated(args), { cwd: dir, env: bareEnv(dir, env) })), dir };
}

function serveBinary(dir = tempDir("serve-"), env: Record<string, string> = {}) {
  return startServer({ command: isolated(["serve"]), dir, baseEnv: bareEnv(dir), env });
}

describe("dist/tollgate, with no Node, Bun or node_modules", () => {
  test("the build embedded what it needs: the copy it was built from is gone", () => {
    expect(existsSync(binary)).toBe(true);
    expect(existsSync(join(work, "project"))).toBe(false);
  });

  test("migrate, keys create, serve, an authenticated request, an event in and out, SIGTERM exit 0", async () => {
    const dir = tempDir("journey-");
    const migrated = await cli(["migrate"], {}, dir);
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain("Applied 001_identity");

    const created = await cli(
      ["keys", "create", "--tenant", "acme", "--create-tenant", "--roles", "event_ingestor,event_reader"],
      {},
      dir,
    );
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^sk_test_[0-9a-f]{64}$/);

    // The caller's environment says development; the executable runs production regardless.
    const server = await serveBinary(dir, { TOLLGATE_AUTH_API_KEY_KEYS: "{}", NODE_ENV: "development" });
    expect(logEntries(server.lines).find((e) => e.msg === "listening")).toMatchObject({ production: true });
    try {
      const headers = { "X-API-Key": key, "Content-Type": "application/json" };
      const me = await fetch(`${server.baseUrl}/v1/users/me`, { headers });
      expect(me.status).toBe(200);
      expect(((await me.json()) as any).credential.roles).toEqual(["event_ingestor", "event_reader"]);
      const ingested = await fetch(`${server.baseUrl}/v1/events`, {
        method: "POST",
        headers,
        body: JSON.stringify({ event_id: "evt-1", event_name: "api_call", external_customer_id: "cus_42" }),
      });
      expect(ingested.status).toBe(202);
      const read = await fetch(`${server.baseUrl}/v1/events/evt-1`, { headers });
      expect(read.status).toBe(200);
      expect(((await read.json()) as any).event.external_customer_id).toBe("cus_42");
      // Queries run on a reader thread, another entry point the executable must carry.
      const found = await fetch(`${server.baseUrl}/v1/events/query`, {
        method: "POST",
        headers,
        body: JSON.stringify({ external_customer_id: "cus_42" }),
      });
      expect(found.status).toBe(200);
      expect(((await found.json()) as any).events.map((e: { id: string }) => e.id)).toEqual(["evt-1"]);
      expect((await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "X-API-Key": DEV_KEY } })).status).toBe(401);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    // The event writer thread, which has a SQLite connection of its own, wrote it.
    expect(server.lines.join("\n")).not.toContain("writer thread failed");
    expect(server.lines.join("\n")).not.toContain("reader thread failed");
    const db = new Database(join(dir, "tollgate.db"), { readonly: true });
    try {
      expect(db.prepare("SELECT count(*) FROM events").pluck().get()).toBe(1);
    } finally {
      db.close();
    }
  });

  test("starts in an empty folder on its embedded defaults: guide, /health, the default key, swagger, the portal page", async () => {
    const server = await serveBinary();
    try {
      const health = await fetch(`${server.baseUrl}/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { version: string }).version).toBe(pkg.version);
      expect((await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "X-API-Key": DEV_KEY } })).status).toBe(200);
      expect((await fetch(`${server.baseUrl}/v1/users/me`)).status).toBe(401);
      expect((await fetch(`${server.baseUrl}/swagger/json`)).status).toBe(200);
      expect((await fetch(`${server.baseUrl}/swagger/assets/swagger-ui-bundle.js`)).status).toBe(200);

      // The customer portal page and everything it loads, byte for byte the files in src/.
      const page = await fetch(`${server.baseUrl}/portal`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-security-policy")).toStartWith("default-src 'self';");
      const html = await page.text();
      expect(html).toBe(await Bun.file(join(PORTAL_STATIC, "portal.html")).text());
      const assets = [...html.matchAll(/\s(?:src|href)="\/portal\/assets\/([^"]+)"/g)].map((m) => m[1] as string);
      expect(new Set(assets)).toEqual(new Set(["icon.svg", "portal.css", "portal.js"]));
      for (const name of assets) {
        const asset = await fetch(`${server.baseUrl}/portal/assets/${name}`);
        expect({ name, status: asset.status }).toEqual({ name, status: 200 });
        expect(await asset.text()).toBe(await Bun.file(join(PORTAL_STATIC, name)).text());
      }
      // The dashboard's sign-in page and everything it loads, byte for byte the files in src/.
      const signIn = await fetch(`${server.baseUrl}/dashboard/sign-in`);
      expect(signIn.status).toBe(200);
      expect(signIn.headers.get("content-security-policy")).toStartWith("default-src 'self';");
      const signInHtml = await signIn.text();
      const dashboardAssets = [...signInHtml.matchAll(/\s(?:src|href)="\/dashboard\/assets\/([^"]+)"/g)].map(
        (m) => m[1] as string,
      );
      expect(new Set(dashboardAssets)).toEqual(new Set(["icon.svg", "dashboard.css", "dashboard.js"]));
      for (const name of dashboardAssets) {
        const asset = await fetch(`${server.baseUrl}/dashboard/assets/${name}`);
        expect({ name, status: asset.status }).toEqual({ name, status: 200 });
        expect(await asset.text()).toBe(await Bun.file(join(DASHBOARD_STATIC, name)).text());
      }
      // A portal link leads to that page on this server, on the port it actually got.
      const headers = { "X-API-Key": DEV_KEY, "Content-Type": "application/json" };
      const customer = await fetch(`${server.baseUrl}/v1/customers`, {
        method: "POST",
        headers,
        body: JSON.stringify({ external_id: "acme" }),
      });
      expect(customer.status).toBe(201);
      const link = (await (await fetch(`${server.baseUrl}/v1/customers/portal/acme`, { headers })).json()) as any;
      expect(link.url).toBe(`${server.baseUrl}/portal?token=${link.token}`);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.stderrLines.join("\n")).toContain(`API docs   ${server.baseUrl}/swagger`);
  });

  test("keys hash, version and --version", async () => {
    const hash = await cli(["keys", "hash", DEV_KEY]);
    expect(hash.code).toBe(0);
    expect(hash.stdout.trim()).toBe("c3b3fa371183f0df159d659da0b42c5270c8d53c22e180df2286e059c75802ab");
    for (const args of [["version"], ["--version"]]) {
      const version = await cli(args);
      expect({ args, code: version.code, out: version.stdout.trim() }).toEqual({ args, code: 0, out: pkg.version });
    }
    const wrong = await cli(["keys", "create", "--tenant", "t", "--roles", "root"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toStartWith(
      'Unknown role "root"; the roles are super_admin, event_ingestor, event_reader, key_verifier.',
    );
  });

  test("migrate twice is harmless", async () => {
    const first = await cli(["migrate"]);
    expect(first.code).toBe(0);
    const again = await cli(["migrate"], {}, first.dir);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe("Database is up to date");
  });

  test("healthcheck tells a running server from a stopped one", async () => {
    const server = await serveBinary();
    try {
      expect((await cli(["healthcheck", "--url", server.baseUrl])).code).toBe(0);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    const down = await cli(["healthcheck", "--url", server.baseUrl]);
    expect(down.code).toBe(1);
    expect(down.stderr).toStartWith("unhealthy: ");
  });

  test("SIGTERM finishes the request in flight, flushes last_used_at and exits 0", async () => {
    const server = await serveBinary();
    const headers = { "X-API-Key": DEV_KEY, "Content-Type": "application/json" };
    const created = await fetch(`${server.baseUrl}/v1/secrets/api/keys`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "used once" }),
    });
    const { api_key, id } = (await created.json()) as { api_key: string; id: string };
    expect((await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "X-API-Key": api_key } })).status).toBe(200);

    // A bulk request whose body is still arriving when SIGTERM lands, over a raw socket so each
    // step is seen rather than slept on: Bun answers "100 Continue" once it holds the request's
    // headers, and the server logs "shutting down" once the signal has landed.
    const events = JSON.stringify({
      events: Array.from({ length: 500 }, (_, i) => ({
        event_id: `inflight-${i}`,
        event_name: "x",
        external_customer_id: "c",
      })),
    });
    const socket = connect(server.port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk;
    });
    const until = async (what: string, done: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`no ${what}:\n${received}\n${server.lines.join("\n")}`);
        await Bun.sleep(5);
      }
    };
    socket.write(
      `POST /v1/events/bulk HTTP/1.1\r\nHost: localhost\r\nX-API-Key: ${DEV_KEY}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(events)}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await until("100 Continue", () => received.startsWith("HTTP/1.1 100 Continue"));
    server.proc.kill("SIGTERM");
    await until("shutting down", () => logEntries(server.lines).some((entry) => entry.msg === "shutting down"));
    socket.write(events);
    await until("final answer", () => /HTTP\/1\.1 [2-5]\d\d /.test(received.replace("HTTP/1.1 100 Continue", "")));
    socket.destroy();
    expect(received.replace("HTTP/1.1 100 Continue\r\n\r\n", "").split("\r\n")[0]).toBe("HTTP/1.1 202 Accepted");
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
