import { swagger } from "@elysiajs/swagger";
import { VERSION } from "../version";

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
        { name: "Users", description: "User and service accounts (SPEC §4)" },
        { name: "API keys", description: "Issue, list, revoke and rotate keys (SPEC §3)" },
        { name: "RBAC", description: "Roles and their permissions (SPEC §2)" },
        { name: "Environments", description: "A tenant's environments (SPEC §5)" },
        { name: "Events", description: "Usage events (SPEC §6)" },
        { name: "Customers", description: "Customers and portal sessions (SPEC §7)" },
        { name: "Customer portal", description: "What a portal session token opens (SPEC §7)" },
        { name: "Audit log", description: "Append-only record of every change (SPEC §8)" },
        { name: "Operations", description: "Health and metrics (SPEC §9)" },
      ],
      components: {
        securitySchemes: {
          ApiKeyAuth: { type: "apiKey", in: "header", name: "X-API-Key", description: "An API key or a config key" },
          SessionToken: {
            type: "apiKey",
            in: "header",
            name: "X-Session-Token",
            description: "A customer-portal session token, for /v1/customer/portal/* only",
          },
        },
      },
    },
  });
}
