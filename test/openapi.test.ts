// The OpenAPI document describes every route of the app, with what a client needs to call it.
import { describe, expect, test } from "bun:test";
import { ACCESS_DETAIL_KEY } from "../src/modules/auth";
import { isWriteRequest } from "../src/modules/operations";
import { createHarness } from "./support/harness";

interface RouteEntry {
  method: string;
  path: string;
  hooks?: { detail?: Record<string, unknown> };
}

/** `/v1/users/:id` → `/v1/users/{id}`, as OpenAPI writes paths. */
function openApiPath(path: string): string {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  return trimmed.replace(/:([A-Za-z_]+)/g, "{$1}");
}

async function document() {
  const h = await createHarness();
  const res = await h.call("GET", "/swagger/json", { key: null });
  expect(res.status).toBe(200);
  const routes = (h.app.routes as unknown as RouteEntry[]).filter((r) => !r.hooks?.detail?.hide);
  return { doc: res.body, routes };
}

describe("OpenAPI document at /swagger/json", () => {
  test("is public, and the UI at /swagger is served from Tollgate itself, with no outside asset", async () => {
    const h = await createHarness();
    expect((await h.call("GET", "/swagger/json", { key: null })).status).toBe(200);
    const ui = await h.call("GET", "/swagger", { key: null });
    expect(ui.status).toBe(200);
    expect(ui.headers.get("content-type")).toContain("text/html");
    expect(ui.text).not.toMatch(/(src|href)="https?:/);
    const assets = [...ui.text.matchAll(/(?:src|href)="(\/swagger\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.sort()).toEqual(["/swagger/assets/swagger-ui-bundle.js", "/swagger/assets/swagger-ui.css"]);
    for (const asset of assets) {
      const res = await h.call("GET", asset, { key: null });
      expect(res.status).toBe(200);
      expect(res.text.length).toBeGreaterThan(100_000);
    }
  });

  test("speaks to its reader: no reference to documents the reader does not have", async () => {
    const { doc } = await document();
    expect(JSON.stringify(doc)).not.toMatch(/SPEC|§|seed doc/i);
  });

  test("every route of the app appears, with its method", async () => {
    const { doc, routes } = await document();
    expect(routes.length).toBeGreaterThan(20);
    const missing = routes.filter((r) => !doc.paths[openApiPath(r.path)]?.[r.method.toLowerCase()]);
    expect(missing.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  test("every operation has a summary, a tag, a success response and the error envelope", async () => {
    const { doc, routes } = await document();
    for (const route of routes) {
      const op = doc.paths[openApiPath(route.path)][route.method.toLowerCase()];
      const where = `${route.method} ${route.path}`;
      expect({ where, summary: typeof op.summary }).toEqual({ where, summary: "string" });
      expect({ where, tags: op.tags?.length > 0 }).toEqual({ where, tags: true });
      const statuses = Object.keys(op.responses);
      // A Flexprice operation Tollgate does not serve (it needs billing) answers 501 and says so.
      const notServed = statuses.includes("501") && op.summary.startsWith("Not served (501)");
      expect({ where, success: notServed || statuses.some((s) => s.startsWith("2")) }).toEqual({
        where,
        success: true,
      });
      const errors = statuses.filter((s) => Number(s) >= 400);
      expect({ where, errors: errors.length > 0 }).toEqual({ where, errors: true });
      for (const status of errors) {
        const schema = op.responses[status].content["application/json"].schema;
        expect({ where, status, envelope: Object.keys(schema.properties).sort() }).toEqual({
          where,
          status,
          envelope: ["code", "details", "error", "http_status_code", "message", "success"],
        });
      }
    }
  });

  // What the hardening added must be in the contract a client generates code from.
  test("a route that checks credentials documents 429 (the failed-attempt limit); a write documents 503", async () => {
    const { doc, routes } = await document();
    for (const route of routes) {
      const op = doc.paths[openApiPath(route.path)][route.method.toLowerCase()];
      const where = `${route.method} ${route.path}`;
      const statuses = Object.keys(op.responses);
      if (statuses.includes("401"))
        expect({ where, has429: statuses.includes("429") }).toEqual({ where, has429: true });
      if (isWriteRequest(route.method, route.path)) {
        expect({ where, has503: statuses.includes("503") }).toEqual({ where, has503: true });
      }
    }
  });

  test("the security requirement follows each route's declared access", async () => {
    const { doc, routes } = await document();
    expect(doc.components.securitySchemes.ApiKeyAuth).toEqual(
      expect.objectContaining({ type: "apiKey", in: "header", name: "X-API-Key" }),
    );
    expect(doc.components.securitySchemes.StripeSignature).toEqual(
      expect.objectContaining({ type: "apiKey", in: "header", name: "Stripe-Signature" }),
    );
    expect(doc.components.securitySchemes.GitHubSignature).toEqual(
      expect.objectContaining({ type: "apiKey", in: "header", name: "Github-Public-Key-Signature" }),
    );
    const byAccess: Record<string, unknown[]> = {
      public: [],
      portal: [{ SessionToken: [] }],
      signature: [{ StripeSignature: [] }],
      // Forward-auth judges the forwarded request's key (its key header, or Authorization: Bearer <key>).
      forwarded: [{ ApiKeyAuth: [] }],
    };
    for (const route of routes) {
      const op = doc.paths[openApiPath(route.path)][route.method.toLowerCase()];
      const access = route.hooks?.detail?.[ACCESS_DETAIL_KEY];
      // GitHub signs its secret scanning deliveries its own way (SPEC §16).
      const expected =
        route.path === "/v1/webhooks/github/secret-scanning"
          ? [{ GitHubSignature: [] }]
          : (byAccess[access as string] ?? [{ ApiKeyAuth: [] }, { BearerAuth: [] }]);
      expect({ route: `${route.method} ${route.path}`, security: op.security }).toEqual({
        route: `${route.method} ${route.path}`,
        security: expected,
      });
    }
  });

  test("request bodies are described, e.g. creating an API key", async () => {
    const { doc } = await document();
    const create = doc.paths["/v1/secrets/api/keys"].post;
    const body = create.requestBody.content["application/json"].schema;
    expect(Object.keys(body.properties).sort()).toEqual([
      "credits",
      "description",
      "expires_at",
      "name",
      "ratelimits",
      "service_account_id",
      "type",
    ]);
    expect(body.required).toEqual(["name"]);
  });
});
