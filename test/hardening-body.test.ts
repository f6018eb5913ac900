// Issue 9, items 2, 4 and 10: what a request body may cost and what it may contain.
import { describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { MAX_BODY_DEPTH } from "../src/http/body";
import { Elysia } from "elysia";
import { httpPlugin } from "../src/http";
import { createLogger } from "../src/http/logging";
import { authPlugin } from "../src/modules/auth";
import { type CallResult, createHarness, DEV_KEY, errorOf, type Harness, errorBody } from "./support/harness";
import { issueTestKey } from "./support/keys";
import { startServer } from "./support/process";

async function ingestKey(h: Harness) {
  return (await issueTestKey(h, { roles: ["event_ingestor"] })).apiKey;
}

/** A body the test can tell was read or not: it records the first pull. */
function watchedBody(text: string) {
  const watch = { read: false };
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        watch.read = true;
        controller.enqueue(new TextEncoder().encode(text));
        controller.close();
      },
    },
    { highWaterMark: 0 },
  ); // pulled on a read only, not when the stream is made
  return { body, watch };
}

function post(
  h: Harness,
  path: string,
  body: ReadableStream<Uint8Array> | Uint8Array,
  headers: Record<string, string>,
) {
  return h.app.handle(
    new Request(`http://localhost${path}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    }),
  );
}

const nestedArrays = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

describe("nesting: a deep body is refused before anything walks it (item 2)", () => {
  test("20 KB of nested arrays on /v1/events: 400 naming the limit, and the server keeps serving", async () => {
    const h = await createHarness();
    const key = await ingestKey(h);
    const body = `{"event_name":"e","external_customer_id":"c","properties":{"x":${nestedArrays(10_000)}}}`;
    expect(body.length).toBeGreaterThan(20_000);
    const res = await h.call("POST", "/v1/events", { key, rawBody: body });
    expect(res.status).toBe(400);
    expect(errorOf(res)).toEqual({
      message: `Request body is nested deeper than ${MAX_BODY_DEPTH} levels`,
      internal_error: "validation_error",
      details: { body: `must nest arrays and objects at most ${MAX_BODY_DEPTH} levels deep` },
    });
    expect((await h.call("GET", "/health")).status).toBe(200);
  });

  test("100,000 levels (a stack overflow once): 400, not 500", async () => {
    const h = await createHarness();
    const res = await h.call("POST", "/v1/events/bulk", { key: await ingestKey(h), rawBody: nestedArrays(100_000) });
    expect(res.status).toBe(400);
    expect(errorOf(res).internal_error).toBe("validation_error");
  });

  test("exactly the limit passes the body check; one more level does not; brackets inside strings do not count", async () => {
    const h = await createHarness();
    const key = await ingestKey(h);
    // The body object is level 1 and properties level 2, so the value may add limit - 2 levels.
    // That is deeper than properties may be, so what answers is the properties rule, not the body's.
    const value = nestedArrays(MAX_BODY_DEPTH - 2);
    const atLimit = await h.call("POST", "/v1/events", {
      key,
      rawBody: `{"event_name":"e","external_customer_id":"c","properties":{"x":${value},"s":"[[[[[[\\"[[[[{{{{"}}`,
    });
    expect(atLimit.status).toBe(400);
    expect(Object.keys(errorOf(atLimit).details)).toEqual(["properties"]);
    const over = await h.call("POST", "/v1/events", {
      key,
      rawBody: `{"event_name":"e","external_customer_id":"c","properties":{"x":[${value}]}}`,
    });
    expect(over.status).toBe(400);
    expect(Object.keys(errorOf(over).details)).toEqual(["body"]);
    const strings = await h.call("POST", "/v1/events", {
      key,
      rawBody: `{"event_name":"e","external_customer_id":"c","properties":{"s":"${"[".repeat(100)}"}}`,
    });
    expect(strings.status).toBe(202);
  });
});

describe("the credential is checked before the body is read (item 4)", () => {
  const cases = [
    { name: "no key", headers: {} as Record<string, string>, status: 401 },
    { name: "an unknown key", headers: { "x-api-key": "sk_test_" + "0".repeat(64) }, status: 401 },
  ];
  for (const { name, headers, status } of cases) {
    test(`${name}: ${status}, and the body is never read`, async () => {
      const h = await createHarness();
      const { body, watch } = watchedBody(JSON.stringify({ events: [{ event_name: "e" }] }));
      const res = await post(h, "/v1/events/bulk", body, headers);
      expect(res.status).toBe(status);
      expect(watch.read).toBe(false);
    });
  }

  test("a valid key without the permission: 403, and the body is never read", async () => {
    const h = await createHarness();
    const reader = (await issueTestKey(h, { roles: ["event_reader"] })).apiKey;
    const { body, watch } = watchedBody("not even JSON");
    const res = await post(h, "/v1/events/bulk", body, { "x-api-key": reader });
    expect(res.status).toBe(403);
    expect(errorOf({ status: res.status, body: await res.json() } as CallResult).message).toBe(
      "Insufficient permissions",
    );
    expect(watch.read).toBe(false);
  });

  // The check runs in the parse stage on routes with a body, and Elysia wraps whatever a parse
  // hook throws as "Bad Request": a failure of the check itself must not read as a bad body.
  test("the store failing during the check: 503 on a POST as on a GET, never 400 'not valid JSON'", async () => {
    const h = await createHarness();
    h.context.authenticator.authorize = () => {
      throw Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR_READ" });
    };
    const get = await h.call("GET", "/v1/users/me");
    const post = await h.call("POST", "/v1/events", { body: { event_name: "e", external_customer_id: "c" } });
    for (const res of [get, post]) {
      expect(res.status).toBe(503);
      expect(errorOf(res)).toMatchObject({ internal_error: "service_unavailable", details: { problem: "io_error" } });
    }
  });

  test("a bug during the check: 500 internal_error on a POST, logged with its message", async () => {
    const h = await createHarness();
    h.context.authenticator.authorize = () => {
      throw new TypeError("cannot read properties of undefined");
    };
    const res = await h.call("POST", "/v1/events/query", { body: {} });
    expect(res.status).toBe(500);
    expect(errorOf(res).message).toBe("Internal server error");
    expect(h.logs.find((e) => e.msg === "unhandled error")).toMatchObject({
      error: "cannot read properties of undefined",
    });
  });

  test("a route that declares two accesses has both checked, also when the body comes first", async () => {
    const h = await createHarness();
    const reader = (await issueTestKey(h, { roles: ["event_reader"] })).apiKey;
    const app = new Elysia()
      .use(httpPlugin(createLogger("silent"), null))
      .use(authPlugin(h.context))
      .post("/both", () => ({ ok: true }), { authenticated: true, permission: "customer:write" });
    const call = (key: string) =>
      app.handle(
        new Request("http://localhost/both", {
          method: "POST",
          headers: { "x-api-key": key, "content-type": "application/json" },
          body: "{}",
        }),
      );
    expect((await call(reader)).status).toBe(403);
    expect((await call(DEV_KEY)).status).toBe(200);
  });

  test("with access, the same body is read and judged: malformed JSON is a 400", async () => {
    const h = await createHarness();
    const { body, watch } = watchedBody("not even JSON");
    const res = await post(h, "/v1/events/bulk", body, { "x-api-key": await ingestKey(h) });
    expect(res.status).toBe(400);
    expect(watch.read).toBe(true);
  });
});

describe("U+0000 is refused on either engine: PostgreSQL's text and JSON cannot hold it", () => {
  test("in a field, a property value or a property name: 400 naming where, nothing stored", async () => {
    const h = await createHarness();
    const key = await ingestKey(h);
    for (const [rawBody, details] of [
      [`{"event_name":"a\\u0000b","external_customer_id":"c"}`, { event_name: "must not contain U+0000" }],
      [
        `{"event_name":"e","external_customer_id":"c","properties":{"p":["ok","x\\u0000"]}}`,
        { "properties.p[1]": "must not contain U+0000" },
      ],
      [
        `{"event_name":"e","external_customer_id":"c","properties":{"k\\u0000":1}}`,
        { properties: "must not contain U+0000" },
      ],
    ] as const) {
      const res = await h.call("POST", "/v1/events", { key, rawBody });
      expect(res.status).toBe(400);
      expect(errorOf(res).details).toEqual(details);
    }
    const bulk = `{"events":[{"event_name":"e","external_customer_id":"c"},{"event_name":"e","external_customer_id":"c\\u0000"}]}`;
    const refused = await h.call("POST", "/v1/events/bulk", { key, rawBody: bulk });
    expect(refused.status).toBe(400);
    expect(errorOf(refused).details).toEqual({ "events[1].external_customer_id": "must not contain U+0000" });
    const customer = await h.call("POST", "/v1/customers", { body: { external_id: "x\u0000", name: "n" } });
    expect(customer.status).toBe(400);
    expect(errorOf(customer).details).toEqual({ external_id: "must not contain U+0000" });
    for (const path of [
      "/v1/customers?external_id=%00",
      "/v1/customers/cus%00",
      "/v1/events?external_customer_id=a%00b",
    ]) {
      const res = await h.call("GET", path);
      expect({ path, status: res.status, details: errorOf(res).details }).toEqual({
        path,
        status: 400,
        details: { url: "must not contain %00" },
      });
    }
    expect(await h.context.db.get("SELECT count(*) AS n FROM events")).toEqual({ n: 0 });
    expect(await h.context.db.get("SELECT count(*) AS n FROM customers")).toEqual({ n: 0 });
  });

  test("the six characters \\u0000 (an escaped backslash, no U+0000) are text like any other", async () => {
    const h = await createHarness();
    const res = await h.call("POST", "/v1/events", {
      key: await ingestKey(h),
      rawBody: `{"event_name":"e","external_customer_id":"c","event_id":"a\\\\u0000","properties":{"p":"\\\\u0000"}}`,
    });
    expect(res.status).toBe(202);
    expect(res.body.event_id).toBe("a\\u0000");
    const listed = await h.call("GET", "/v1/events");
    expect(listed.body.events[0].properties).toEqual({ p: "\\u0000" });
  });
});

describe("strings must be well-formed Unicode (item 10)", () => {
  test('event_ids "a\\ud800" and "a\\udfff" are refused, not merged into one event', async () => {
    const h = await createHarness();
    const key = await ingestKey(h);
    for (const escape of ["\\ud800", "\\udfff"]) {
      const res = await h.call("POST", "/v1/events", {
        key,
        rawBody: `{"event_name":"e","external_customer_id":"c","event_id":"a${escape}"}`,
      });
      expect(res.status).toBe(400);
      expect(errorOf(res)).toEqual({
        message: "event_id is not well-formed Unicode (it contains a lone surrogate)",
        internal_error: "validation_error",
        details: { event_id: "must be well-formed Unicode" },
      });
    }
    expect(await h.context.db.get("SELECT count(*) AS n FROM events")).toEqual({ n: 0 });
  });

  test("a lone surrogate deep in a bulk body, or in a property name, names where it is", async () => {
    const h = await createHarness();
    const key = await ingestKey(h);
    const good = { event_name: "e", external_customer_id: "c" };
    const inValue = `{"events":[${JSON.stringify(good)},{"event_name":"e","external_customer_id":"c","properties":{"p":["ok","\\udc00x"]}}]}`;
    const res = await h.call("POST", "/v1/events/bulk", { key, rawBody: inValue });
    expect(res.status).toBe(400);
    expect(errorOf(res).details).toEqual({ "events[1].properties.p[1]": "must be well-formed Unicode" });

    const inKey = `{"event_name":"e","external_customer_id":"c","properties":{"\\ud83d":1}}`;
    const keyRes = await h.call("POST", "/v1/events", { key, rawBody: inKey });
    expect(keyRes.status).toBe(400);
    expect(errorOf(keyRes).details).toEqual({ properties: "must be well-formed Unicode" });
  });

  test("a proper surrogate pair (an emoji written as escapes) is accepted and kept", async () => {
    const h = await createHarness();
    const key = await ingestKey(h);
    const res = await h.call("POST", "/v1/events", {
      key,
      rawBody: `{"event_name":"e","external_customer_id":"c","event_id":"smile-\\ud83d\\ude00"}`,
    });
    expect(res.status).toBe(202);
    expect(res.body.event_id).toBe("smile-😀");
  });

  test("bytes that are not UTF-8 are refused rather than turned into U+FFFD", async () => {
    const h = await createHarness();
    const key = await ingestKey(h);
    const prefix = new TextEncoder().encode('{"event_name":"e","external_customer_id":"c","event_id":"a');
    const suffix = new TextEncoder().encode('"}');
    for (const bad of [0xff, 0xfe]) {
      const bytes = new Uint8Array([...prefix, bad, ...suffix]);
      const res = await post(h, "/v1/events", bytes, { "x-api-key": key });
      expect(res.status).toBe(400);
      expect(errorOf({ status: res.status, body: await res.json() } as CallResult).message).toBe(
        "Request body is not valid UTF-8",
      );
    }
    expect(await h.context.db.get("SELECT count(*) AS n FROM events")).toEqual({ n: 0 });
  });
});

describe("body limits over a real server (the real routes, Bun's own ceiling)", () => {
  test("bulk takes 2 MiB and refuses 33 MiB; a single event refuses 2 MiB; past 1 GiB declared, Bun answers itself", async () => {
    const server = await startServer();
    const post = (path: string, body: string) =>
      fetch(`${server.baseUrl}${path}`, {
        method: "POST",
        headers: { "x-api-key": DEV_KEY, "content-type": "application/json" },
        body,
      });
    try {
      // 1,000 events of about 2 KiB each: over the 1 MiB default, inside bulk's 32 MiB.
      const padding = "p".repeat(2048);
      const events = Array.from({ length: 1000 }, (_, i) => ({
        event_name: "e",
        external_customer_id: `c${i % 10}`,
        properties: { padding },
      }));
      const twoMiB = JSON.stringify({ events });
      expect(twoMiB.length).toBeGreaterThan(2 * 1024 * 1024);
      expect((await post("/v1/events/bulk", twoMiB)).status).toBe(202);

      const tooBig = await post("/v1/events/bulk", "x".repeat(33 * 1024 * 1024));
      expect(tooBig.status).toBe(413);
      expect(await tooBig.json()).toEqual(
        errorBody(413, "validation_error", "Request body is larger than the limit of 33554432 bytes", {
          limit: 33554432,
        }),
      );
      const single = await post("/v1/events", "x".repeat(2 * 1024 * 1024));
      expect(single.status).toBe(413);
      expect(((await single.json()) as { error: { details: unknown } }).error.details).toEqual({ limit: 1048576 });

      // Past Bun's maxRequestBodySize (1 GiB, src/server.ts) the runtime refuses before any of
      // our code runs: its own bare 413, and the connection closed.
      const answer = await new Promise<string>((resolve) => {
        const socket = connect(server.port, "127.0.0.1", () => {
          socket.write(
            `POST /v1/events/bulk HTTP/1.1\r\nHost: localhost\r\nx-api-key: ${DEV_KEY}\r\nContent-Length: 2147483648\r\n\r\n{}`,
          );
        });
        let received = "";
        socket.on("data", (chunk) => {
          received += chunk;
        });
        socket.on("close", () => resolve(received));
      });
      expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 413 Request Entity Too Large");
      expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
