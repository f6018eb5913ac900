// SPEC §0, issue 25: every error, of every status and every layer, is one body that both
// generations of Flexprice clients read: the flat code/message/http_status_code/details of SDKs
// 2.1 and later (which saw message=None before), and the nested success/error of 2.0.x.
import { describe, expect, test } from "bun:test";
import { type CallResult, createHarness, errorOf } from "./support/harness";
import { addPerson, signInHarness } from "./support/sign-in";

/** What an SDK 2.1 client reads of an error (its ErrorsErrorResponse): code, message, http_status_code. */
function flatRead(res: CallResult) {
  return { code: res.body.code, message: res.body.message, httpStatusCode: res.body.http_status_code };
}

function expectBoth(res: CallResult, status: number, code: string, message: string) {
  expect({ status: res.status, ...flatRead(res) }).toEqual({ status, code, message, httpStatusCode: status });
  // 2.0.x reads the nested member; errorOf also checks the two agree, details included.
  expect(errorOf(res)).toMatchObject({ message, internal_error: code });
  expect(typeof res.body.details).toBe("object");
  expect(res.headers.get("content-type")).toStartWith("application/json");
}

describe("every status, every layer: the flat and the nested fields", () => {
  test("400 validation_error and invalid_operation, 401, 403, 404 (route and resource), 409", async () => {
    const h = await createHarness();
    expectBoth(
      await h.call("POST", "/v1/customers", { body: { external_id: 5 } }),
      400,
      "validation_error",
      "external_id expected string",
    );
    const me = await h.call("GET", "/v1/users/me");
    expectBoth(
      await h.call("DELETE", `/v1/users/${me.body.id}`),
      400,
      "invalid_operation",
      "You cannot delete your own account",
    );
    expectBoth(await h.call("GET", "/v1/users/me", { key: null }), 401, "permission_denied", "API key required");
    const pk = await h.call("POST", "/v1/secrets/api/keys", { body: { name: "pk", type: "publishable_key" } });
    expectBoth(
      await h.call("GET", "/v1/customers", { key: pk.body.api_key }),
      403,
      "permission_denied",
      "Publishable keys cannot access this resource",
    );
    expectBoth(await h.call("GET", "/v1/nowhere"), 404, "not_found", "Route not found");
    expectBoth(await h.call("GET", "/v1/customers/cust_none"), 404, "not_found", "Customer not found");
    await h.call("POST", "/v1/customers", { body: { external_id: "dup" } });
    expectBoth(
      await h.call("POST", "/v1/customers", { body: { external_id: "dup" } }),
      409,
      "already_exists",
      "A customer with this external_id already exists",
    );
  });

  test("413 from the body reader, before any handler", async () => {
    const h = await createHarness();
    const res = await h.call("POST", "/v1/events", { rawBody: "x".repeat(2 * 1024 * 1024) });
    expectBoth(res, 413, "validation_error", "Request body is larger than the limit of 1048576 bytes");
    expect(res.body.details).toEqual({ limit: 1048576 });
  });

  test("429 too_many_requests with Retry-After: failed sign-ins", async () => {
    const h = await signInHarness();
    await addPerson(h, "ada@example.com", "correct horse battery");
    for (let i = 0; i < 5; i++) {
      await h.call("POST", "/v1/auth/login", { key: null, body: { email: "ada@example.com", password: `wrong ${i}` } });
    }
    const res = await h.call("POST", "/v1/auth/login", {
      key: null,
      body: { email: "ada@example.com", password: "x".repeat(8) },
    });
    expectBoth(res, 429, "too_many_requests", "Too many sign-in attempts; try again later");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("500 internal_error and 503 service_unavailable from a failure inside the access check", async () => {
    const h = await createHarness();
    h.context.authenticator.authorize = () => {
      throw new TypeError("a bug");
    };
    expectBoth(await h.call("GET", "/v1/users/me"), 500, "internal_error", "Internal server error");
    h.context.authenticator.authorize = () => {
      throw Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR_READ" });
    };
    const unavailable = await h.call("GET", "/v1/users/me");
    expect(unavailable.status).toBe(503);
    expect(flatRead(unavailable)).toMatchObject({ code: "service_unavailable", httpStatusCode: 503 });
    expect(errorOf(unavailable).internal_error).toBe("service_unavailable");
  });

  test("501 not_implemented for a documented operation that needs billing", async () => {
    const h = await createHarness();
    const res = await h.call("POST", "/v1/environments/env_x/clone", { body: {} });
    expect(res.status).toBe(501);
    expect(flatRead(res).code).toBe("not_implemented");
    expect(flatRead(res).message).toStartWith("Cloning an environment");
  });
});
