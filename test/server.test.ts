import { describe, expect, test } from "bun:test";
import { DEV_KEY } from "./support/harness";
import { startServer } from "./support/process";

describe("the real server process over loopback", () => {
  test("serves the default key, refuses a missing one, and exits 0 on SIGTERM", async () => {
    const server = await startServer();
    try {
      const me = await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "X-API-Key": DEV_KEY } });
      expect(me.status).toBe(200);
      expect(((await me.json()) as any).credential.kind).toBe("config_key");

      const anonymous = await fetch(`${server.baseUrl}/v1/users/me`);
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toEqual({
        success: false,
        error: { message: "API key required", internal_error: "permission_denied" },
      });
      expect(anonymous.headers.get("x-request-id")).toBeTruthy();
    } finally {
      expect(await server.stop("SIGTERM")).toBe(0);
    }
    expect(server.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    expect(server.lines.join("\n")).not.toContain(DEV_KEY);
  });

  test("an invalid config stops the start with a message naming the field", async () => {
    const proc = Bun.spawn([process.execPath, "src/main.ts", "serve"], {
      env: { ...process.env, TOLLGATE_SERVER_PORT: "not-a-port" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(1);
    expect(await new Response(proc.stderr).text()).toContain("server.port");
  });

  test("a store that cannot be opened stops the start with one clear line", async () => {
    const proc = Bun.spawn([process.execPath, "src/main.ts", "serve"], {
      env: { ...process.env, TOLLGATE_SERVER_PORT: "0", TOLLGATE_DATABASE_PATH: "/proc/no-such-dir/tollgate.db" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(1);
    const stderr = await new Response(proc.stderr).text();
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toStartWith("Could not start: ");
  });

  test("warns loudly when the development key is served beyond loopback", async () => {
    const server = await startServer({ env: { TOLLGATE_SERVER_HOST: "0.0.0.0" } });
    await server.stop();
    expect(server.lines.some((l) => l.includes('"level":"warn"') && l.includes("DEVELOPMENT API KEY"))).toBe(true);
  });
});
