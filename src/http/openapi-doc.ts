import { swagger } from "@elysiajs/swagger";
import { Elysia } from "elysia";
// Imported as files so `bun build --compile` carries the UI inside the executable.
import swaggerUiBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import swaggerUiCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import { VERSION } from "../version";

const UI_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Tollgate API</title>
    <link rel="stylesheet" href="/swagger/assets/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/swagger/assets/swagger-ui-bundle.js"></script>
    <script>SwaggerUIBundle({ url: "/swagger/json", dom_id: "#swagger-ui", deepLinking: true });</script>
  </body>
</html>`;

/**
 * Swagger UI served from the executable itself, so /swagger works without the internet. It is
 * registered after the swagger plugin and replaces the plugin's page, which loads its script
 * from a CDN; the plugin still builds /swagger/json from the route table.
 */
export function offlineDocsUi() {
  const hidden = { detail: { hide: true } };
  return new Elysia({ name: "offline-docs-ui" })
    .get("/swagger", () => new Response(UI_PAGE, { headers: { "content-type": "text/html; charset=utf-8" } }), hidden)
    .get("/swagger/assets/swagger-ui-bundle.js", () => Bun.file(swaggerUiBundle), hidden)
    .get("/swagger/assets/swagger-ui.css", () => Bun.file(swaggerUiCss), hidden);
}

/**
 * The OpenAPI document at /swagger/json and its UI at /swagger. Each route contributes its
 * summary, tag, schemas and error envelope; its access declaration adds the security
 * requirement (see the auth macros), so public routes show none.
 */
export function openApiPlugin() {
  return swagger({
    path: "/swagger",
    specPath: "/swagger/json",
    documentation: {
      info: {
        title: "Tollgate API",
        version: VERSION,
        description:
          "Identity and access for a usage-billing API, wire-compatible with Flexprice: API keys, service accounts, roles, usage events, customers and customer-portal sessions. Every error uses one envelope: {success: false, error: {message, internal_error, details?}}.",
      },
      tags: [
        { name: "Sign-in", description: "People sign in with an email and a password, and get a session" },
        { name: "Users", description: "User and service accounts" },
        { name: "API keys", description: "Issue, list, revoke and rotate keys" },
        { name: "Leaked keys", description: "Anyone, and GitHub's secret scanning, can kill a key found in the open" },
        { name: "RBAC", description: "Roles and their permissions" },
        { name: "Environments", description: "A tenant's environments" },
        { name: "Events", description: "Usage events" },
        { name: "Customers", description: "Customers and portal sessions" },
        { name: "Customer portal", description: "What a portal session token opens" },
        { name: "Audit log", description: "Append-only record of every change" },
        { name: "Operations", description: "Health and metrics" },
      ],
      components: {
        securitySchemes: {
          ApiKeyAuth: { type: "apiKey", in: "header", name: "X-API-Key", description: "An API key or a config key" },
          BearerAuth: {
            type: "http",
            scheme: "bearer",
            description: "A signed-in person's session token, from POST /v1/auth/login; read only without X-API-Key",
          },
          SessionToken: {
            type: "apiKey",
            in: "header",
            name: "X-Session-Token",
            description: "A customer-portal session token, for /v1/customer/portal/* only",
          },
          StripeSignature: {
            type: "apiKey",
            in: "header",
            name: "Stripe-Signature",
            description: "Stripe's webhook signature (t=…,v1=…), for POST /v1/webhooks/stripe/* only; no API key",
          },
          GitHubSignature: {
            type: "apiKey",
            in: "header",
            name: "Github-Public-Key-Signature",
            description:
              "GitHub's secret scanning signature (ECDSA P-256, SHA-256, over the raw body; the key named by Github-Public-Key-Identifier), for POST /v1/webhooks/github/secret-scanning only; no API key",
          },
        },
      },
    },
  });
}
