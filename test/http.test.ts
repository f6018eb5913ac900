import { describe, expect, test } from "bun:test";
import { t } from "elysia";
import { BULK_BODY_LIMIT, DEFAULT_BODY_LIMIT } from "../src/http/body";
import { createHarness, DEV_KEY, errorOf, errorBody } from "./support/harness";

/** Elysia writes after-response hooks (the request log) on the next turn of the event loop. */
const afterResponses = () => new Promise((resolve) => setImmediate(resolve));

/** A harness with two probe routes, to drive the shared body parser and error handler. */
async function probeHarness() {
  const h = await createHarness();
  h.app
    .post("/v1/probe", ({ body }) => ({ received: body }), {
      body: t.Object(
        {
          name: t.String({ minLength: 1, maxLength: 5 }),
          items: t.Optional(t.Array(t.Object({ event_name: t.String() }))),
        },
        { additionalProperties: false },
      ),
    })
    .post("/v1/events/bulk", ({ body }) => ({ size: JSON.stringify(body).length }))
    // A handler whose answer breaks its own response schema: a bug on our side.
    .get("/v1/wrong-answer", () => ({ value: "not a number" }) as unknown as { value: number }, {
      response: { 200: t.Object({ value: t.Number() }) },
    })
    .get("/v1/crash", () => {
      throw new Error("SQLITE_CORRUPT: near table secrets, key_hash=deadbeef");
    });
  return h;
}

describe("the error envelope on every failure (SPEC §0)", () => {
  test("unknown route: 404 not_found", async () => {
    const h = await createHarness();
    for (const [method, path] of [
      ["GET", "/v1/nothing-here"],
      ["DELETE", "/health"],
      ["POST", "/"],
      ["GET", "/index.html"],
    ]) {
      const res = await h.call(method, path);
      expect(res.status).toBe(404);
      expect(errorOf(res).internal_error).toBe("not_found");
    }
  });

  test("GET / sends a browser to the API documentation, with or without a key", async () => {
    const h = await createHarness();
    for (const key of [null, undefined]) {
      const res = await h.call("GET", "/", { key });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe("/swagger");
    }
  });

  test("a response that breaks its own schema: 500 internal_error, logged, never a 400 blaming the client", async () => {
    const h = await probeHarness();
    const res = await h.call("GET", "/v1/wrong-answer");
    expect(res.status).toBe(500);
    expect(errorOf(res)).toEqual({ message: "Internal server error", internal_error: "internal_error" });
    expect(h.logs.find((e) => e.msg === "unhandled error")).toMatchObject({ path: "/v1/wrong-answer" });
  });

  test("malformed JSON: 400 validation_error", async () => {
    const h = await probeHarness();
    for (const rawBody of ['{"name": "ab"', "not json", '{"name": "a",}']) {
      const res = await h.call("POST", "/v1/probe", { rawBody, headers: { "content-type": "application/json" } });
      expect(res.status).toBe(400);
      expect(errorOf(res)).toEqual({ message: "Request body is not valid JSON", internal_error: "validation_error" });
    }
  });

  test("schema violations: 400 with each field in details", async () => {
    const h = await probeHarness();
    const res = await h.call("POST", "/v1/probe", { body: { name: "", extra: 1, items: [{}, { event_name: 3 }] } });
    expect(res.status).toBe(400);
    const error = errorOf(res);
    expect(error.internal_error).toBe("validation_error");
    expect(error.details).toMatchObject({
      extra: "is not an accepted field",
      name: "must not be empty",
      "items[0].event_name": "is required",
      "items[1].event_name": "expected string",
    });
    expect(error.message).toContain(" ");
  });

  test("a missing body is validated like an empty object", async () => {
    const h = await probeHarness();
    const res = await h.call("POST", "/v1/probe");
    expect(res.status).toBe(400);
    expect(errorOf(res).details).toEqual({ name: "is required" });
  });

  test("a valid body passes, whatever the Content-Type says", async () => {
    const h = await probeHarness();
    const res = await h.call("POST", "/v1/probe", {
      rawBody: '{"name":"ok"}',
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: { name: "ok" } });
  });

  test("oversized body: 413 at 1 MiB, 32 MiB on /v1/events/bulk", async () => {
    const h = await probeHarness();
    const over = JSON.stringify({ name: "x".repeat(DEFAULT_BODY_LIMIT) });
    const res = await h.call("POST", "/v1/probe", { rawBody: over, headers: { "content-type": "application/json" } });
    expect(res.status).toBe(413);
    expect(errorOf(res).internal_error).toBe("validation_error");

    const twoMiB = JSON.stringify({ blob: "x".repeat(2 * 1024 * 1024) });
    expect((await h.call("POST", "/v1/events/bulk", { rawBody: twoMiB })).status).toBe(200);
    const tooBig = JSON.stringify({ blob: "x".repeat(BULK_BODY_LIMIT) });
    expect((await h.call("POST", "/v1/events/bulk", { rawBody: tooBig })).status).toBe(413);
  });

  test("oversized chunked body without Content-Length: 413 too", async () => {
    const h = await probeHarness();
    const chunk = new TextEncoder().encode("x".repeat(256 * 1024));
    let sent = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await h.app.handle(
      new Request("http://localhost/v1/probe", {
        method: "POST",
        body: stream,
        headers: { "x-api-key": DEV_KEY, "content-type": "application/json" },
      }),
    );
    expect(response.status).toBe(413);
    expect(((await response.json()) as any).error.internal_error).toBe("validation_error");
  });

  test("a crash: 500 with nothing internal in the body; the detail is logged with the request id", async () => {
    const h = await probeHarness();
    const res = await h.call("GET", "/v1/crash", { headers: { "X-Request-ID": "crash-test-1" } });
    expect(res.status).toBe(500);
    expect(res.body).toEqual(errorBody(500, "internal_error", "Internal server error"));
    expect(res.text).not.toContain("SQLITE");
    const logged = h.logs.find((l) => l.msg === "unhandled error");
    expect(logged).toMatchObject({ request_id: "crash-test-1", level: "error" });
    expect(String(logged?.error)).toContain("SQLITE_CORRUPT");
  });
});

describe("request ids and request logs", () => {
  test("every response carries X-Request-ID; a sane one is echoed, others replaced", async () => {
    const h = await createHarness();
    const echoed = await h.call("GET", "/health", { headers: { "X-Request-ID": "abc-123" } });
    expect(echoed.headers.get("x-request-id")).toBe("abc-123");
    const generated = await h.call("GET", "/health");
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9A-Z]{26}$/);
    const insane = await h.call("GET", "/v1/users/me", { key: null, headers: { "X-Request-ID": "bad id\twith junk" } });
    expect(insane.status).toBe(401);
    expect(insane.headers.get("x-request-id")).toMatch(/^[0-9A-Z]{26}$/);
    const notFound = await h.call("GET", "/nowhere", { headers: { "X-Request-ID": "nf-1" } });
    expect(notFound.headers.get("x-request-id")).toBe("nf-1");
  });

  test("one JSON log line per request, with route, status, duration and principal, and no secret", async () => {
    const h = await probeHarness();
    await h.call("GET", "/v1/users/me", { headers: { "X-Request-ID": "log-1" } });
    await h.call("GET", "/v1/users/me", { key: "sk_test_wrong", headers: { "X-Request-ID": "log-2" } });
    await h.call("POST", "/v1/probe", { body: { name: "hunter2-password" }, headers: { "X-Request-ID": "log-3" } });
    await afterResponses();
    const lines = h.logs.filter((l) => l.msg === "request");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      request_id: "log-1",
      method: "GET",
      route: "/v1/users/me",
      status: 200,
      principal_id: "00000000-0000-0000-0000-000000000000",
    });
    expect(typeof lines[0]?.duration_ms).toBe("number");
    expect(lines[1]).toMatchObject({ request_id: "log-2", status: 401, principal_id: null });
    const everything = JSON.stringify(h.logs);
    for (const secret of [DEV_KEY, "sk_test_wrong", "hunter2-password"]) expect(everything).not.toContain(secret);
  });

  test("a 404's line names the path asked for, without its query or anything as long as a key", async () => {
    const h = await createHarness();
    const pasted = `sk_live_${"a1B2c3D4e5".repeat(5)}`;
    await h.call("GET", "/v1/no-such-thing?token=tgp_never_logged", { headers: { "X-Request-ID": "nf-a" } });
    await h.call("GET", `/v1/secrets/${pasted}/oops`, { headers: { "X-Request-ID": "nf-b" } });
    await h.call("GET", `/v1/${"x".repeat(20)}/${"y/".repeat(300)}`, { headers: { "X-Request-ID": "nf-c" } });
    await h.call("GET", "/health", { headers: { "X-Request-ID": "ok-1" } });
    await afterResponses();
    const line = (id: string) => h.logs.find((l) => l.msg === "request" && l.request_id === id);
    expect(line("nf-a")).toMatchObject({ status: 404, path: "/v1/no-such-thing" });
    expect(line("nf-b")).toMatchObject({ status: 404, path: "/v1/secrets/[redacted]/oops" });
    expect(String(line("nf-c")?.path)).toEndWith("…");
    expect(String(line("nf-c")?.path).length).toBeLessThanOrEqual(257);
    expect(line("ok-1")).not.toHaveProperty("path");
    const everything = JSON.stringify(h.logs);
    for (const secret of ["tgp_never_logged", pasted]) expect(everything).not.toContain(secret);
  });
});

describe("GET /health", () => {
  test("public: ok and the version, with no key", async () => {
    const h = await createHarness();
    const res = await h.call("GET", "/health", { key: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok", version: expect.any(String) });
  });

  test("503 in the envelope when the store is unusable", async () => {
    const h = await createHarness();
    h.context.db.close();
    const res = await h.call("GET", "/health", { key: null });
    expect(res.status).toBe(503);
    expect(errorOf(res).internal_error).toBe("service_unavailable");
  });
});
