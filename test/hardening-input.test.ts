// Issue 9: bad input is always a 400 naming the field, never a 500 or a silently wrong answer.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import * as pagination from "../src/http/pagination";
import { isRfc3339 } from "../src/http/schemas";
import { VERSION } from "../src/version";
import { type CallResult, createHarness, errorOf, type Harness } from "./support/harness";
import { logEntries, type ServerProcess, startServer } from "./support/process";

function expectFieldError(res: CallResult, field: string, detail?: string) {
  expect({ status: res.status, text: res.text }).toMatchObject({ status: 400 });
  const error = errorOf(res);
  expect(error.internal_error).toBe("validation_error");
  expect(Object.keys(error.details ?? {})).toContain(field);
  if (detail !== undefined) {
    expect(error.details[field]).toBe(detail);
    expect(error.message).toBe(`${field} ${detail}`);
  }
}

const MAX_OFFSET = 2 ** 31 - 1;

/** A JSON body sent as written, so numbers JSON can hold but JavaScript rounds arrive as they are. */
const raw = (h: Harness, path: string, body: string) =>
  h.call("POST", path, { rawBody: body, headers: { "content-type": "application/json" } });

describe("integer fields have a maximum (item 9)", () => {
  test("the offset cap is 2^31-1, exported for the services and the README", () => {
    expect((pagination as Record<string, unknown>).MAX_OFFSET).toBe(MAX_OFFSET);
  });

  for (const path of ["/v1/users/search", "/v1/customers/search"]) {
    test(`${path}: an offset too large for the store is a 400 on offset, not a 500`, async () => {
      const h = await createHarness();
      for (const offset of ["1e300", "9223372036854775808", "9223372036854775807", "9007199254740993", "2147483648"]) {
        expectFieldError(await raw(h, path, `{"offset": ${offset}}`), "offset", `must be at most ${MAX_OFFSET}`);
      }
      const last = await raw(h, path, `{"offset": ${MAX_OFFSET}}`);
      expect(last.status).toBe(200);
      expect(last.body).toMatchObject({ items: [], pagination: { offset: MAX_OFFSET } });
      expectFieldError(await raw(h, path, `{"limit": 1e300}`), "limit", "must be at most 1000");
      expectFieldError(await raw(h, path, `{"offset": -1e300}`), "offset", "must be at least 0");
      expectFieldError(await raw(h, path, `{"offset": 1.5}`), "offset");
    });
  }

  for (const path of ["/v1/customers", "/v1/audit-logs", "/v1/secrets/api/keys", "/v1/environments"]) {
    test(`GET ${path}: offset and limit in the query string have the same bounds, and say so`, async () => {
      const h = await createHarness();
      for (const offset of ["2147483648", "9999999999", "99999999999999999999999999"]) {
        expectFieldError(
          await h.call("GET", `${path}?offset=${offset}`),
          "offset",
          `must be a whole number from 0 to ${MAX_OFFSET}`,
        );
      }
      expectFieldError(
        await h.call("GET", `${path}?offset=1e3`),
        "offset",
        `must be a whole number from 0 to ${MAX_OFFSET}`,
      );
      expectFieldError(
        await h.call("GET", `${path}?limit=99999999999`),
        "limit",
        "must be a whole number from 1 to 1000",
      );
      expectFieldError(await h.call("GET", `${path}?limit=0`), "limit", "must be a whole number from 1 to 1000");
      const last = await h.call("GET", `${path}?offset=${MAX_OFFSET}`);
      expect(last.status).toBe(200);
      expect(last.body.pagination.offset).toBe(MAX_OFFSET);
    });
  }

  test("rotate: grace_period_seconds past its maximum is a 400", async () => {
    const h = await createHarness();
    const created = await h.call("POST", "/v1/secrets/api/keys", { body: { name: "k" } });
    const res = await raw(h, `/v1/secrets/api/keys/${created.body.id}/rotate`, `{"grace_period_seconds": 1e300}`);
    expectFieldError(res, "grace_period_seconds", "must be at most 604800");
  });

  test("every integer in every request body and query schema has a maximum", async () => {
    const h = await createHarness();
    const unbounded: string[] = [];
    const walk = (schema: unknown, where: string) => {
      if (!schema || typeof schema !== "object") return;
      const s = schema as Record<string, unknown>;
      if (s.type === "integer" && typeof s.maximum !== "number") unbounded.push(where);
      for (const [key, value] of Object.entries(s)) walk(value, `${where}/${key}`);
    };
    const routes = h.app.routes as unknown as { method: string; path: string; hooks?: Record<string, unknown> }[];
    for (const route of routes) {
      for (const part of ["body", "query", "params", "headers"]) {
        walk(route.hooks?.[part], `${route.method} ${route.path} ${part}`);
      }
    }
    expect(unbounded).toEqual([]);
  });
});

describe("timestamps stay within years 0000-9999 in UTC (item 11)", () => {
  test("isRfc3339 refuses an instant whose UTC year leaves 0000..9999", () => {
    for (const value of [
      "9999-12-31T23:00:00-23:59",
      "9999-12-31T23:59:59-00:01",
      "0000-01-01T00:00:00+00:01",
      "0000-01-01T00:59:59+01:00",
    ]) {
      expect({ value, ok: isRfc3339(value) }).toEqual({ value, ok: false });
    }
    for (const value of [
      "9999-12-31T23:59:59.999999999Z",
      "9999-12-31T23:00:00-00:59",
      "0000-01-01T00:00:00Z",
      "0000-01-01T01:00:00+01:00",
      "2025-11-14T10:00:00+05:30",
    ]) {
      expect({ value, ok: isRfc3339(value) }).toEqual({ value, ok: true });
    }
  });

  test("isRfc3339 knows the leap years of years 0000..0099 (not 1900..1999)", () => {
    expect(isRfc3339("0000-02-29T00:00:00Z")).toBe(true);
    expect(isRfc3339("0004-02-29T00:00:00Z")).toBe(true);
    expect(isRfc3339("0100-02-29T00:00:00Z")).toBe(false);
    expect(isRfc3339("0001-02-29T00:00:00Z")).toBe(false);
  });

  test("the API refuses them with a 400 on the field, wherever a timestamp is taken", async () => {
    const h = await createHarness();
    const far = "9999-12-31T23:00:00-23:59";
    const message = "must be an RFC 3339 timestamp with an offset, such as 2025-11-14T10:00:00Z";
    expectFieldError(
      await h.call("POST", "/v1/events", { body: { event_name: "e", external_customer_id: "c", timestamp: far } }),
      "timestamp",
      message,
    );
    expectFieldError(
      await h.call("GET", `/v1/audit-logs?start_time=${encodeURIComponent(far)}`),
      "start_time",
      message,
    );
    expectFieldError(
      await h.call("POST", "/v1/secrets/api/keys", { body: { name: "k", expires_at: far } }),
      "expires_at",
      message,
    );
    const early = "0000-01-01T00:00:00+01:00";
    expectFieldError(
      await h.call("POST", "/v1/events", { body: { event_name: "e", external_customer_id: "c", timestamp: early } }),
      "timestamp",
      message,
    );
  });

  test("the last instant of year 9999 is stored as a four-digit year", async () => {
    const h = await createHarness();
    const res = await h.call("POST", "/v1/secrets/api/keys", {
      body: { name: "k", expires_at: "9999-12-31T23:00:00-00:59" },
    });
    expect(res.status).toBe(201);
    expect(res.body.secret.expires_at).toBe("9999-12-31T23:59:00.000Z");
  });
});

describe("customer metadata: keys 1-40 characters, values up to 500, at most 50 keys (item 12)", () => {
  const keysMessage = "keys must be 1 to 40 characters";

  async function customer(h: Harness) {
    const res = await h.call("POST", "/v1/customers", { body: { external_id: "c1" } });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  test("create: a key of 41 characters, or an empty key, is a 400 on metadata", async () => {
    const h = await createHarness();
    for (const key of ["k".repeat(41), "", "k".repeat(5000)]) {
      const res = await h.call("POST", "/v1/customers", {
        body: { external_id: "c", metadata: { ok: "v", [key]: "v" } },
      });
      expectFieldError(res, "metadata", keysMessage);
      expect(res.text.length).toBeLessThan(500);
    }
    const ok = await h.call("POST", "/v1/customers", {
      body: { external_id: "c", metadata: { ["k".repeat(40)]: "v", a: "", "ü/~.3": "x" } },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.metadata).toEqual({ ["k".repeat(40)]: "v", a: "", "ü/~.3": "x" });
  });

  test("update: the same rules", async () => {
    const h = await createHarness();
    const id = await customer(h);
    for (const key of ["k".repeat(41), ""]) {
      const res = await h.call("PUT", `/v1/customers/${id}`, { body: { metadata: { [key]: "v" } } });
      expectFieldError(res, "metadata", keysMessage);
    }
    const ok = await h.call("PUT", `/v1/customers/${id}`, { body: { metadata: { ["k".repeat(40)]: "v" } } });
    expect(ok.status).toBe(200);
    expect(ok.body.metadata).toEqual({ ["k".repeat(40)]: "v" });
  });

  test("values: strings of at most 500 characters, named by their key", async () => {
    const h = await createHarness();
    const long = await h.call("POST", "/v1/customers", {
      body: { external_id: "c", metadata: { plan: "x".repeat(501) } },
    });
    expectFieldError(long, "metadata.plan", "must be at most 500 characters");
    const number = await h.call("POST", "/v1/customers", { body: { external_id: "c", metadata: { seats: 5 } } });
    expectFieldError(number, "metadata.seats");
    const nested = await h.call("POST", "/v1/customers", { body: { external_id: "c", metadata: { a: { b: "c" } } } });
    expectFieldError(nested, "metadata.a");
  });

  test("at most 50 keys", async () => {
    const h = await createHarness();
    const metadata = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`key${i}`, "v"]));
    expectFieldError(
      await h.call("POST", "/v1/customers", { body: { external_id: "c", metadata: metadata(51) } }),
      "metadata",
      "must have at most 50 keys",
    );
    expect((await h.call("POST", "/v1/customers", { body: { external_id: "c", metadata: metadata(50) } })).status).toBe(
      201,
    );
  });

  test("not an object: 400 on metadata", async () => {
    const h = await createHarness();
    for (const metadata of [["a"], "a", 1]) {
      expectFieldError(await h.call("POST", "/v1/customers", { body: { external_id: "c", metadata } }), "metadata");
    }
  });
});

describe("validation messages name the field and its rule", () => {
  test("a nullable field with its own rule says the rule, not 'not one of the accepted types'", async () => {
    const h = await createHarness();
    expectFieldError(
      await h.call("POST", "/v1/customers", { body: { external_id: "c", email: "nope" } }),
      "email",
      "must be a valid email",
    );
  });
});

/**
 * Bun parses the request head natively (uWebSockets) and answers these itself, before any
 * JavaScript runs: no Bun.serve or Elysia hook sees them, so they cannot carry the envelope, a
 * request id, or a log line. These tests pin what a client gets, so a Bun upgrade that changes
 * it (or adds a hook) is noticed. README "Security" documents the same numbers.
 */
describe("request heads Bun refuses before Tollgate sees them (item 13)", () => {
  const HEAD_LIMIT = 16 * 1024;
  const BARE_431 = "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n";
  const BARE_400 = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({ env: { TOLLGATE_LOGGING_FORMAT: "json" } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** Writes `head` on a new connection and returns everything read until the server closes it. */
  function rawRequest(head: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      // Written without a half-close: Bun drops a request whose client has already shut its
      // side once the answer has to wait (on PostgreSQL, /health waits for the database).
      const socket = connect(server.port, "127.0.0.1", () => socket.write(head));
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no close after: ${Buffer.concat(chunks).toString()}`));
      }, 5000);
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      socket.on("error", reject);
      socket.on("close", () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString("latin1"));
      });
    });
  }

  /** A GET /health whose head (request line, headers, blank line) is exactly `size` bytes. */
  function headOf(size: number): string {
    const start = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: ";
    const end = "\r\n\r\n";
    return start + "a".repeat(size - start.length - end.length) + end;
  }

  test("a head of 16 KiB is served; one byte more is Bun's bare 431, no envelope", async () => {
    expect(headOf(HEAD_LIMIT).length).toBe(HEAD_LIMIT);
    const served = await rawRequest(headOf(HEAD_LIMIT));
    expect(served).toStartWith("HTTP/1.1 200 OK\r\n");
    expect(served).toEndWith(JSON.stringify({ status: "ok", version: VERSION }));
    expect(await rawRequest(headOf(HEAD_LIMIT + 1))).toBe(BARE_431);
  });

  test("a 1 MB header: the same bare 431, and the connection is closed", async () => {
    expect(await rawRequest(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(1024 * 1024)}\r\n\r\n`)).toBe(
      BARE_431,
    );
  });

  test("a request line longer than 16 KiB: bare 431", async () => {
    expect(await rawRequest(`GET /v1/users?q=${"a".repeat(HEAD_LIMIT)} HTTP/1.1\r\nHost: x\r\n\r\n`)).toBe(BARE_431);
  });

  test("more than 198 header lines: bare 431", async () => {
    const lines = (n: number) =>
      `GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${Array.from({ length: n - 2 }, (_, i) => `X-${i}: v`).join("\r\n")}\r\n\r\n`;
    expect(await rawRequest(lines(198))).toStartWith("HTTP/1.1 200 OK\r\n");
    expect(await rawRequest(lines(199))).toBe(BARE_431);
  });

  test("malformed heads: Bun's bare 400", async () => {
    for (const head of [
      "GET /health HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n",
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Space : before the colon\r\n\r\n",
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Ctl: a\u0001b\r\n\r\n",
      "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n",
      "NOT HTTP\r\n\r\n",
    ]) {
      expect({ head, answer: await rawRequest(head) }).toEqual({ head, answer: BARE_400 });
    }
  });

  test("an HTTP version other than 1.0 and 1.1, or lines ended by LF alone: Bun's bare 505", async () => {
    for (const head of ["GET /health HTTP/9.9\r\nHost: x\r\n\r\n", "GET /health HTTP/1.1\nHost: x\n\n"]) {
      expect({ head, answer: await rawRequest(head) }).toEqual({
        head,
        answer: "HTTP/1.1 505 HTTP Version Not Supported\r\nConnection: close\r\n\r\n",
      });
    }
  });

  test("none of them reaches the request log, and the server keeps serving", async () => {
    const res = await fetch(`${server.baseUrl}/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { internal_error: string } }).error.internal_error).toBe("not_found");
    const statuses = () =>
      logEntries(server.lines)
        .filter((entry) => entry.msg === "request")
        .map((entry) => entry.status);
    // The log line is written after the response, and read from the process's output.
    for (let i = 0; i < 100 && !statuses().includes(404); i++) await Bun.sleep(20);
    expect(statuses().filter((status) => status === 400 || status === 431)).toEqual([]);
  });
});
