import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { ErrorEnvelopeSchema, needsBilling } from "../../http/errors";
import { errorResponses } from "../../http/openapi";
import { authPlugin } from "../auth";
import { auditContextOf } from "../audit/context";
import { TenantSchema, UpdateTenantBody } from "./model";
import { getOwnTenant, toTenantResponse, updateTenant } from "./service";

/**
 * GET /v1/tenants/billing, and /v1/tenant/billing where the Flexprice SDK calls it: a 501 saying
 * why. The hooks are made afresh for each route: Elysia writes the access check's hooks into the
 * object a route is given, so one object shared by two routes would give the second the first's.
 */
const billingUsage = {
  handler: () => {
    throw needsBilling("A tenant's billing usage");
  },
  hooks: () =>
    ({
      permission: "tenant:read",
      response: { 501: ErrorEnvelopeSchema, ...errorResponses(401, 403) },
      detail: { summary: "Not served (501): a tenant's billing usage needs billing" },
    }) as const,
};

export function tenantsController(app: AppContext) {
  const tenants = new Elysia({ prefix: "/v1/tenants", tags: ["Tenants"] })
    .use(authPlugin(app))
    .get("/billing", billingUsage.handler, billingUsage.hooks())
    .put(
      "/update",
      async ({ principal, request, server, body }) =>
        toTenantResponse(await updateTenant(app, await auditContextOf(app, { principal, request, server }), body)),
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
      async ({ principal, params }) => toTenantResponse(await getOwnTenant(app.db, principal.tenantId, params.id)),
      {
        permission: "tenant:read",
        params: t.Object({ id: t.String() }),
        response: { 200: TenantSchema, ...errorResponses(401, 403, 404) },
        detail: { summary: "The caller's own tenant (any other id: 404)" },
      },
    );
  // The Flexprice SDK calls /v1/tenant/billing (singular), which the server does not have.
  const sdkPath = new Elysia({ prefix: "/v1/tenant", tags: ["Tenants"] })
    .use(authPlugin(app))
    .get("/billing", billingUsage.handler, billingUsage.hooks());
  return new Elysia().use(tenants).use(sdkPath);
}
