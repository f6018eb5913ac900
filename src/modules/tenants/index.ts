import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { errorResponses } from "../../http/openapi";
import { authPlugin } from "../auth";
import { auditContextOf } from "../audit/context";
import { TenantSchema, UpdateTenantBody } from "./model";
import { getOwnTenant, toTenantResponse, updateTenant } from "./service";

export function tenantsController(app: AppContext) {
  return new Elysia({ prefix: "/v1/tenants", tags: ["Tenants"] })
    .use(authPlugin(app))
    .put(
      "/update",
      ({ principal, request, server, body }) =>
        toTenantResponse(updateTenant(app, auditContextOf(app, { principal, request, server }), body)),
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
    .get("/:id", ({ principal, params }) => toTenantResponse(getOwnTenant(app.db, principal.tenantId, params.id)), {
      permission: "tenant:read",
      params: t.Object({ id: t.String() }),
      response: { 200: TenantSchema, ...errorResponses(401, 403, 404) },
      detail: { summary: "The caller's own tenant (any other id: 404)" },
    });
}
