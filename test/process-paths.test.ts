// What only a real server process shows (issue 14): config read from a --config file and from
// TOLLGATE_* variables together, /metrics switched on by the environment, request ids as the
// log and the client see them, and a portal session token outliving a restart.
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jwtVerify } from "jose";
import { sha256Hex } from "../src/modules/auth/hash";
import { DEFAULT_TENANT, DEV_KEY } from "./support/harness";
import { logEntries, SOURCE_CLI, startServer } from "./support/process";
import { tempDir } from "./support/temp";

const FILE_KEY = "process-paths-operator-key-0001";

describe("a real server configured by a file and the environment", () => {
  test("--config's keys replace the defaults; TOLLGATE_METRICS_ENABLED switches /metrics on", async () => {
    const dir = tempDir("paths-config-");
    const configPath = join(dir, "elsewhere.yaml");
    writeFileSync(
      configPath,
      [
        "auth:",
        "  api_key:",
        "    keys:",
        `      ${sha256Hex(FILE_KEY)}:`,
        `        tenant_id: "${DEFAULT_TENANT}"`,
        `        user_id: "${DEFAULT_TENANT}"`,
        "        name: File key",
        "",
      ].join("\n"),
    );
    const server = await startServer({
      dir,
      command: [...SOURCE_CLI, "serve", "--config", configPath],
      env: { TOLLGATE_METRICS_ENABLED: "true" },
    });
    try {
      const withFileKey = await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "x-api-key": FILE_KEY } });
      expect(withFileKey.status).toBe(200);
      expect(((await withFileKey.json()) as { credential: { kind: string } }).credential.kind).toBe("config_key");
      // The file's map replaced the default one: the development key is gone.
      const withDevKey = await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "x-api-key": DEV_KEY } });
      expect(withDevKey.status).toBe(401);

      const metrics = await fetch(`${server.baseUrl}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toContain('tollgate_http_requests_total{method="GET",route="/v1/users/me",status="200"} 1');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  test("without the variable, /metrics is not served", async () => {
    const server = await startServer();
    try {
      const metrics = await fetch(`${server.baseUrl}/metrics`);
      expect(metrics.status).toBe(404);
    } finally {
      await server.stop();
    }
  });
});

describe("request ids over a real server", () => {
  test("a sane X-Request-ID is echoed and logged; anything else is replaced by a fresh id", async () => {
    const server = await startServer();
    try {
      const sane = await fetch(`${server.baseUrl}/health`, { headers: { "x-request-id": "trace-42.a:b_c" } });
      expect(sane.status).toBe(200);
      expect(sane.headers.get("x-request-id")).toBe("trace-42.a:b_c");

      const hostile = `evil id\u0007 ${"x".repeat(200)}`.replace(/[^\x20-\x7e]/g, "");
      const replaced = await fetch(`${server.baseUrl}/health`, { headers: { "x-request-id": hostile } });
      expect(replaced.status).toBe(200);
      const fresh = replaced.headers.get("x-request-id") as string;
      expect(fresh).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);

      const none = await fetch(`${server.baseUrl}/health`);
      expect(none.headers.get("x-request-id")).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    } finally {
      await server.stop();
    }
    const ids = logEntries(server.lines)
      .filter((entry) => entry.msg === "request")
      .map((entry) => entry.request_id);
    expect(ids[0]).toBe("trace-42.a:b_c");
    expect(ids).toHaveLength(3);
    expect(JSON.stringify(ids)).not.toContain("evil");
  });
});

describe("a portal session over a restart", () => {
  test("a token handed out before a restart still opens the portal after it", async () => {
    const first = await startServer();
    const json = { "x-api-key": DEV_KEY, "content-type": "application/json" };
    const created = await fetch(`${first.baseUrl}/v1/customers`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ external_id: "restart-co", name: "Restart Co" }),
    });
    expect(created.status).toBe(201);
    const portal = await fetch(`${first.baseUrl}/v1/customers/portal/restart-co`, { headers: json });
    expect(portal.status).toBe(200);
    const { token } = (await portal.json()) as { token: string };
    expect(await first.stop()).toBe(0);

    const second = await startServer({ dir: first.dir });
    try {
      const info = await fetch(`${second.baseUrl}/v1/customer/portal/info`, { headers: { "x-session-token": token } });
      expect(info.status).toBe(200);
      expect(((await info.json()) as { external_id: string }).external_id).toBe("restart-co");
      const forged = await fetch(`${second.baseUrl}/v1/customer/portal/info`, {
        headers: { "x-session-token": `${token.slice(0, -4)}AAAA` },
      });
      expect(forged.status).toBe(401);
    } finally {
      await second.stop();
    }
  });
});

describe("a configured portal signing key (a second witness)", () => {
  test("tokens are signed with customer_portal.signing_key from the environment, and no key file is made", async () => {
    const signingKey = "process-paths-portal-signing-key-0123456789abcdef";
    const server = await startServer({ env: { TOLLGATE_CUSTOMER_PORTAL_SIGNING_KEY: signingKey } });
    try {
      const json = { "x-api-key": DEV_KEY, "content-type": "application/json" };
      const created = await fetch(`${server.baseUrl}/v1/customers`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ external_id: "signed-co" }),
      });
      expect(created.status).toBe(201);
      const portal = await fetch(`${server.baseUrl}/v1/customers/portal/signed-co`, { headers: json });
      expect(portal.status).toBe(200);
      const { token } = (await portal.json()) as { token: string };
      const { payload } = await jwtVerify(token, new TextEncoder().encode(signingKey));
      expect(payload.ext).toBe("signed-co");
      await expect(jwtVerify(token, new TextEncoder().encode(`${signingKey}-not`))).rejects.toThrow();
      expect(existsSync(join(server.dir, "tollgate.db.portal-key"))).toBe(false);
    } finally {
      await server.stop();
    }
  });
});
