// Issue 23, item 1: no route reads more of a body than its limit, whatever the body claims to
// be. A chunked body has no length to check first, and a lying Content-Length says nothing about
// what follows; every reader must stop counting at the limit, dashboard forms included.
import { describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { readFileSync } from "node:fs";
import { BULK_BODY_LIMIT, DEFAULT_BODY_LIMIT } from "../src/http/body";
import { FORM_LIMIT } from "../src/modules/dashboard/session";
import { DEV_KEY } from "./support/harness";
import { startServer } from "./support/process";
import { addPerson, signInHarness } from "./support/sign-in";

const CHUNK = 64 * 1024;
const OFFERED = 64 * 1024 * 1024;

/** A body of `OFFERED` bytes made only as it is pulled, so the test can tell how much was read. */
function endlessBody() {
  const seen = { pulled: 0 };
  const chunk = new Uint8Array(CHUNK).fill(0x61);
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (seen.pulled >= OFFERED) return controller.close();
        seen.pulled += CHUNK;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  return { body, seen };
}

function limitOf(path: string): number {
  if (path.startsWith("/dashboard")) return FORM_LIMIT;
  if (path === "/v1/events/bulk") return BULK_BODY_LIMIT;
  return DEFAULT_BODY_LIMIT;
}

describe("every route that can take a body stops reading at its limit", async () => {
  const h = await signInHarness();
  const person = await addPerson(h, "ada@example.com", "correct horse battery", "Ada");
  const signIn = await h.app.handle(
    new Request("http://localhost/dashboard/sign-in", {
      method: "POST",
      headers: { origin: "http://localhost", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ email: "ada@example.com", password: "correct horse battery" }).toString(),
    }),
  );
  const cookie = signIn.headers.getSetCookie()[0]!.split(";")[0]!;
  expect(person.id).toStartWith("usr_");

  const routes = h.app.routes
    .filter((r) => ["POST", "PUT", "PATCH", "DELETE"].includes(r.method))
    .map((r) => ({ method: r.method, path: r.path.replace(/:[a-z_]+/g, "x") }));
  // And a path no route serves: the router must not read it either.
  routes.push({ method: "POST", path: "/v1/no-such-route" });
  expect(routes.length).toBeGreaterThan(30);

  test(`chunked: 64 MiB offered to each of ${routes.length} routes, at most its limit read`, async () => {
    const overread: string[] = [];
    for (const { method, path } of routes) {
      const { body, seen } = endlessBody();
      const headers = new Headers({
        "x-api-key": DEV_KEY,
        "content-type": path.startsWith("/dashboard") ? "application/x-www-form-urlencoded" : "application/json",
        origin: "http://localhost",
        cookie,
      });
      const response = await h.app.handle(
        new Request(`http://localhost${path}`, { method, headers, body, duplex: "half" } as RequestInit),
      );
      await response.arrayBuffer();
      if (seen.pulled > limitOf(path) + CHUNK) overread.push(`${method} ${path}: ${seen.pulled} bytes read`);
    }
    expect(overread).toEqual([]);
  });

  test("a dashboard form from another site is refused without reading its body", async () => {
    for (const path of ["/dashboard/sign-in", "/dashboard/api-keys", "/dashboard/setup"]) {
      const { body, seen } = endlessBody();
      const response = await h.app.handle(
        new Request(`http://localhost${path}`, {
          method: "POST",
          headers: { origin: "https://attacker.example", "content-type": "application/x-www-form-urlencoded", cookie },
          body,
          duplex: "half",
        } as RequestInit),
      );
      expect(response.status).toBe(403);
      expect(seen.pulled).toBe(0);
    }
  });
});

/** Resident memory of a process, in bytes (Linux). */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB$/m);
  if (!line) throw new Error("no VmRSS");
  return Number(line[1]) * 1024;
}

/** Sends a chunked body of `size` bytes on a raw socket, as fast as the server takes it; resolves with the status line. */
function postChunked(port: number, path: string, size: number, headers: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    let sent = 0;
    const chunk = Buffer.alloc(CHUNK, 0x61);
    const frame = Buffer.concat([Buffer.from(`${CHUNK.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
    const pump = () => {
      while (sent < size && !answer) {
        sent += CHUNK;
        if (!socket.write(frame)) return socket.once("drain", pump);
      }
      if (!answer) socket.write("0\r\n\r\n");
    };
    socket.on("connect", () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n${headers}\r\n`,
      );
      pump();
    });
    socket.on("data", (data) => {
      answer += data;
      if (answer.includes("\r\n")) {
        resolve(answer.split("\r\n")[0]!);
        socket.destroy();
      }
    });
    socket.on("error", (error) => (answer ? undefined : reject(error)));
  });
}

/** The routes that take a body, with a concrete path, as the route table lists them. */
async function bodyRoutes(): Promise<{ method: string; path: string }[]> {
  const h = await signInHarness();
  return h.app.routes
    .filter((r) => ["POST", "PUT", "PATCH", "DELETE"].includes(r.method))
    .map((r) => ({ method: r.method, path: r.path.replace(/:[a-z_]+/g, "x") }));
}

/** Writes `head` and `tail` on a raw socket; resolves with the first status line, or "" if none came. */
function send(port: number, head: string, tail: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(head);
      socket.write(tail, () => socket.end());
    });
    let answer = "";
    socket.on("data", (data) => (answer += data));
    socket.on("error", () => {});
    socket.on("close", () => resolve(answer.split("\r\n")[0] ?? ""));
  });
}

describe("over a real server, memory stays flat", () => {
  test("a lying Content-Length on every route: only the declared bytes are a body, and Content-Length with chunked is refused", async () => {
    const server = await startServer();
    try {
      const origin = `Origin: http://127.0.0.1:${server.port}\r\n`;
      const garbage = Buffer.alloc(2 * 1024 * 1024, 0x61);
      const before = rssOf(server.proc.pid);
      for (const { method, path } of await bodyRoutes()) {
        const common = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-API-Key: ${DEV_KEY}\r\n${origin}`;
        // 16 bytes declared, 2 MiB sent: the rest is not this request's body (nor a request at all).
        const short = await send(server.port, `${common}Content-Length: 16\r\n\r\n`, garbage);
        expect({ path, answered: short.startsWith("HTTP/1.1 ") }).toEqual({ path, answered: true });
        const both = await send(
          server.port,
          `${common}Content-Length: 16\r\nTransfer-Encoding: chunked\r\n\r\n`,
          Buffer.concat([Buffer.from(`${garbage.length.toString(16)}\r\n`), garbage, Buffer.from("\r\n0\r\n\r\n")]),
        );
        expect({ path, both }).toEqual({ path, both: "HTTP/1.1 400 Bad Request" });
      }
      expect(rssOf(server.proc.pid) - before).toBeLessThan(40 * 1024 * 1024);
      expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  test("8 chunked bodies of 48 MiB at once on /dashboard/sign-in: each 413, resident memory grows < 40 MiB", async () => {
    const server = await startServer();
    try {
      const origin = `Origin: http://127.0.0.1:${server.port}\r\n`;
      // Warm up: the first form pulls in what the dashboard needs at all.
      await postChunked(server.port, "/dashboard/sign-in", CHUNK, origin);
      const before = rssOf(server.proc.pid);
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => postChunked(server.port, "/dashboard/sign-in", 48 * 1024 * 1024, origin)),
      );
      const grown = rssOf(server.proc.pid) - before;
      expect(answers).toEqual(Array(8).fill("HTTP/1.1 413 Payload Too Large"));
      expect(grown).toBeLessThan(40 * 1024 * 1024);
      expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
