// Issue 23, item 3: a server answers only to the host names its operator means. A page on
// another site whose name is re-pointed at 127.0.0.1 (DNS rebinding) reaches a loopback server
// with its own name in Host; with the development key that was full access.
import { describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { loadConfig } from "../src/config";
import { createHarness, DEV_KEY, errorOf, errorBody } from "./support/harness";
import { startServer } from "./support/process";

const ATTACKER = "rebind.attacker.example:8080";

function callWithHost(
  h: Awaited<ReturnType<typeof createHarness>>,
  method: string,
  path: string,
  host: string,
  body?: unknown,
) {
  return h.app.handle(
    new Request(`http://localhost${path}`, {
      method,
      headers: { host, "x-api-key": DEV_KEY, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

const REFUSAL = errorBody(400, "validation_error", "This server does not answer to the host named in the Host header", {
  host: "is not one of the hosts this server serves (server.allowed_hosts)",
});

describe("on loopback (the default), only loopback names and the public URL's host are served", () => {
  test("an attacker's name: 400 on reads and writes, nothing created, the dashboard refused too", async () => {
    const h = await createHarness();
    const me = await callWithHost(h, "GET", "/v1/users/me", ATTACKER);
    expect(me.status).toBe(400);
    expect(await me.json()).toEqual(REFUSAL);
    expect(me.headers.get("x-request-id")).toBeTruthy();
    const create = await callWithHost(h, "POST", "/v1/secrets/api/keys", ATTACKER, { name: "stolen" });
    expect(create.status).toBe(400);
    const keys = await h.call("GET", "/v1/secrets/api/keys");
    expect(keys.body.items.map((k: { name: string }) => k.name)).not.toContain("stolen");
    expect((await callWithHost(h, "GET", "/dashboard/sign-in", ATTACKER)).status).toBe(400);
    // The letter case, a final dot and an absent port change nothing.
    for (const host of ["REBIND.attacker.example", "rebind.attacker.example.", "localhost.attacker.example"]) {
      expect((await callWithHost(h, "GET", "/v1/users/me", host)).status).toBe(400);
    }
  });

  test("localhost, 127.0.0.1 and [::1], with or without a port, in any letter case: served", async () => {
    const h = await createHarness();
    for (const host of [
      "localhost",
      "localhost:8080",
      "LOCALHOST:8080",
      "127.0.0.1:8080",
      "127.0.0.1",
      "[::1]:8080",
      "[::1]",
    ]) {
      expect({ host, status: (await callWithHost(h, "GET", "/v1/users/me", host)).status }).toEqual({
        host,
        status: 200,
      });
    }
  });

  test("/health answers any host (probes use whatever address they have; it reveals nothing)", async () => {
    const h = await createHarness();
    expect((await callWithHost(h, "GET", "/health", ATTACKER)).status).toBe(200);
  });

  test("server.public_url's host and server.allowed_hosts (exact and *.suffix) are served beside loopback", async () => {
    const h = await createHarness({
      server: { public_url: "https://tollgate.example.com", allowed_hosts: ["tollgate.internal", "*.corp.example"] },
    });
    for (const host of ["tollgate.example.com", "tollgate.internal:8080", "a.corp.example", "b.a.corp.example:1"]) {
      expect({ host, status: (await callWithHost(h, "GET", "/v1/users/me", host)).status }).toEqual({
        host,
        status: 200,
      });
    }
    for (const host of ["corp.example", "xcorp.example", "tollgate.example.com.attacker.example", ATTACKER]) {
      expect({ host, status: (await callWithHost(h, "GET", "/v1/users/me", host)).status }).toEqual({
        host,
        status: 400,
      });
    }
  });
});

describe("on other addresses", () => {
  test("0.0.0.0 without allowed_hosts: any host is served (documented); with it, only those and the public URL's", async () => {
    const open = await createHarness({ server: { host: "0.0.0.0" } });
    expect((await callWithHost(open, "GET", "/v1/users/me", ATTACKER)).status).toBe(200);
    const listed = await createHarness({ server: { host: "0.0.0.0", allowed_hosts: ["tollgate.example.com"] } });
    expect((await callWithHost(listed, "GET", "/v1/users/me", "tollgate.example.com")).status).toBe(200);
    expect((await callWithHost(listed, "GET", "/v1/users/me", ATTACKER)).status).toBe(400);
    // localhost is not special away from loopback: the list decides.
    expect((await callWithHost(listed, "GET", "/v1/users/me", "localhost:8080")).status).toBe(400);
    const star = await createHarness({ server: { allowed_hosts: ["*"] } });
    expect((await callWithHost(star, "GET", "/v1/users/me", ATTACKER)).status).toBe(200);
  });

  test("a bad entry stops the start with a sentence naming it; the variable takes a comma-separated list", () => {
    for (const entry of ["https://tollgate.example.com", "tollgate.example.com:8443", "*example.com", "a b"]) {
      expect(() =>
        loadConfig({ env: { TOLLGATE_SERVER_ALLOWED_HOSTS: JSON.stringify([entry]) }, cwd: "/nonexistent" }),
      ).toThrow(`Invalid config: server.allowed_hosts: "${entry}" is not a host name or an IP address without a port`);
    }
    const config = loadConfig({
      env: { TOLLGATE_SERVER_ALLOWED_HOSTS: "a.example, *.b.example,[::1]" },
      cwd: "/nonexistent",
    });
    expect(config.server.allowed_hosts).toEqual(["a.example", "*.b.example", "[::1]"]);
  });
});

/** One raw HTTP/1.1 request with the Host header the test chooses; resolves with status line and body. */
function rawRequest(port: number, head: string, body = ""): Promise<{ status: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(head + body));
    let received = "";
    socket.on("data", (data) => (received += data));
    socket.on("close", () => {
      const [top, rest = ""] = received.split("\r\n\r\n");
      resolve({ status: (top ?? "").split("\r\n")[0] ?? "", body: rest });
    });
    socket.on("error", reject);
  });
}

describe("a real server on loopback with the development key", () => {
  test("the rebinding request: 400 before any work, no key created; its own name still works", async () => {
    const server = await startServer();
    try {
      const body = JSON.stringify({ name: "rebound" });
      const create = await rawRequest(
        server.port,
        `POST /v1/secrets/api/keys HTTP/1.1\r\nHost: ${ATTACKER}\r\nX-API-Key: ${DEV_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        body,
      );
      expect(create.status).toBe("HTTP/1.1 400 Bad Request");
      expect(JSON.parse(create.body)).toEqual(REFUSAL);
      const me = await rawRequest(
        server.port,
        `GET /v1/users/me HTTP/1.1\r\nHost: ${ATTACKER}\r\nX-API-Key: ${DEV_KEY}\r\nConnection: close\r\n\r\n`,
      );
      expect(me.status).toBe("HTTP/1.1 400 Bad Request");
      const keys = await fetch(`${server.baseUrl}/v1/secrets/api/keys`, { headers: { "X-API-Key": DEV_KEY } });
      expect(keys.status).toBe(200);
      const names = ((await keys.json()) as { items: { name: string }[] }).items.map((k) => k.name);
      expect(names).not.toContain("rebound");
      const local = await rawRequest(
        server.port,
        `GET /v1/users/me HTTP/1.1\r\nHost: localhost:${server.port}\r\nX-API-Key: ${DEV_KEY}\r\nConnection: close\r\n\r\n`,
      );
      expect(local.status).toBe("HTTP/1.1 200 OK");
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

test("errorOf reads the refusal like any envelope", async () => {
  const h = await createHarness();
  const res = await h.call("GET", "/v1/users/me", { headers: { host: ATTACKER } });
  expect(errorOf(res).internal_error).toBe("validation_error");
});
