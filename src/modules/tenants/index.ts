import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { notFound } from "../../http/errors";
import { errorResponses } from "../../http/openapi";
import { authPlugin } from "../auth";
import { auditContextOf } from "../audit/context";
import { TENANT_MESSAGES, TenantSchema, UpdateTenantBody } from "./model";
import { getTenant, toTenantResponse, updateTenant } from "./service";

export function tenantsController(app: AppContext) {
  return new Elysia({ prefix: "/v1/tenants", tags: ["Tenants"] })
    .use(authPlugin(app))
    .put(
      "/update",
      ({ principal, request, server, body }) => {
        const row = updateTenant(app.db, auditContextOf(app, { principal, request, server }), body);
        // Every profile of the tenant shows it: /v1/users/me must not answer the old one.
        app.profiles.invalidateTenant(principal.tenantId);
        return toTenantResponse(row);
      },
      {
        permission: "tenant:write",
        body: UpdateTenantBody,
        response: { 200: TenantSchema, ...errorResponses(400, 401, 403, 503) },
        detail: {
          summary: "Update the caller's tenant: its name, billing details or metadata",
          description:
            "Each field given replaces what is stored (`billing_details` and `metadata` as a whole; " +
            "`billing_details: null` clears them); a field left out is kept.",
        },
      },
    )
    .get(
      "/:id",
      ({ principal, params }) => {
        // Only the caller's own tenant exists for it: any other id is not found, never forbidden.
        if (params.id !== principal.tenantId) throw notFound(TENANT_MESSAGES.notFound);
        return toTenantResponse(getTenant(app.db, principal.tenantId));
      },
      {
        permission: "tenant:read",
        params: t.Object({ id: t.String() }),
        response: { 200: TenantSchema, ...errorResponses(401, 403, 404) },
        detail: { summary: "The caller's own tenant (any other id: 404)" },
      },
    );
}
