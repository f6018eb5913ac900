import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { errorResponses } from "../../http/openapi";
import { ListSchema, listOf, pageOf } from "../../http/pagination";
import { authPlugin } from "../auth";
import { auditContextOf } from "../audit/context";
import { recordAudit } from "../audit/service";
import {
  CreateCustomerBody,
  CustomerSchema,
  ListCustomersQuery,
  PortalSessionSchema,
  SearchCustomersBody,
  UpdateCustomerBody,
} from "./model";
import {
  createCustomer,
  deleteCustomer,
  getCustomer,
  getCustomerByExternalId,
  listCustomers,
  revokePortalSessions,
  toCustomerResponse,
  updateCustomer,
} from "./service";

const IdParams = t.Object({ id: t.String() });
const ExternalIdParams = t.Object({ external_id: t.String() });

/** The portal link: the configured URL with the token as `token` in its query string. */
function portalUrl(base: string, token: string): string {
  const url = new URL(base);
  url.searchParams.set("token", token);
  return url.toString();
}

export function customersController(app: AppContext) {
  return new Elysia({ prefix: "/v1/customers", tags: ["Customers"] })
    .use(authPlugin(app))
    .post(
      "",
      ({ principal, request, server, body, set }) => {
        const row = createCustomer(app.db, auditContextOf(app, { principal, request, server }), body);
        set.status = 201;
        return toCustomerResponse(row);
      },
      {
        permission: "customer:write",
        body: CreateCustomerBody,
        response: { 201: CustomerSchema, ...errorResponses(400, 401, 403, 409, 503) },
        detail: { summary: "Create a customer (external_id unique in the environment)" },
      },
    )
    .get(
      "",
      ({ principal, query }) => {
        const page = pageOf(query);
        const { rows, total } = listCustomers(app.db, principal, query, page);
        return listOf(rows.map(toCustomerResponse), total, page);
      },
      {
        permission: "customer:read",
        query: ListCustomersQuery,
        response: { 200: ListSchema(CustomerSchema, "CustomerList"), ...errorResponses(400, 401, 403) },
        detail: { summary: "Live customers, newest first" },
      },
    )
    .post(
      "/search",
      ({ principal, body }) => {
        const page = pageOf(body);
        const { rows, total } = listCustomers(app.db, principal, body, page);
        return listOf(rows.map(toCustomerResponse), total, page);
      },
      {
        permission: "customer:read",
        body: SearchCustomersBody,
        response: { 200: ListSchema(CustomerSchema, "CustomerList"), ...errorResponses(400, 401, 403) },
        detail: { summary: "Find live customers by external_id or email" },
      },
    )
    .get(
      "/external/:external_id",
      ({ principal, params }) => toCustomerResponse(getCustomerByExternalId(app.db, principal, params.external_id)),
      {
        permission: "customer:read",
        params: ExternalIdParams,
        response: { 200: CustomerSchema, ...errorResponses(401, 403, 404) },
        detail: { summary: "The live customer with this external_id" },
      },
    )
    .get(
      "/portal/:external_id",
      async ({ principal, request, server, params }) => {
        const customer = getCustomerByExternalId(app.db, principal, params.external_id);
        const { token, expiresAt } = await app.portalTokens.issue({
          tenantId: customer.tenant_id,
          environmentId: customer.environment_id,
          customerId: customer.id,
          externalId: customer.external_id,
        });
        recordAudit(app.db, auditContextOf(app, { principal, request, server }), {
          action: "customer.portal_session_created",
          resourceType: "customer",
          resourceId: customer.id,
          after: { external_id: customer.external_id, expires_at: expiresAt },
        });
        return { url: portalUrl(app.config.customer_portal.url, token), token, expires_at: expiresAt };
      },
      {
        permission: "customer:write",
        params: ExternalIdParams,
        response: { 200: PortalSessionSchema, ...errorResponses(401, 403, 404) },
        detail: {
          summary: "Open a customer-portal session for one customer",
          description: "The token works only on /v1/customer/portal/* for this customer, until expires_at.",
        },
      },
    )
    .get("/:id", ({ principal, params }) => toCustomerResponse(getCustomer(app.db, principal, params.id)), {
      permission: "customer:read",
      params: IdParams,
      response: { 200: CustomerSchema, ...errorResponses(401, 403, 404) },
      detail: { summary: "One customer, deleted ones included" },
    })
    .put(
      "/:id",
      ({ principal, request, server, params, body }) =>
        toCustomerResponse(
          updateCustomer(app.db, auditContextOf(app, { principal, request, server }), params.id, body),
        ),
      {
        permission: "customer:write",
        params: IdParams,
        body: UpdateCustomerBody,
        response: { 200: CustomerSchema, ...errorResponses(400, 401, 403, 404, 409, 503) },
        detail: { summary: "Change a customer's fields" },
      },
    )
    .delete(
      "/:id/portal-sessions",
      ({ principal, request, server, params, set }) => {
        revokePortalSessions(app.db, auditContextOf(app, { principal, request, server }), params.id);
        set.status = 204;
      },
      {
        permission: "customer:write",
        params: IdParams,
        response: { 204: t.Void(), ...errorResponses(401, 403, 404, 503) },
        detail: {
          summary: "Sign a customer out of the portal everywhere",
          description:
            "Every portal session token issued for this customer until now fails from the next request " +
            "(401 Invalid or expired session token); sessions opened afterwards work.",
        },
      },
    )
    .delete(
      "/:id",
      ({ principal, request, server, params, set }) => {
        deleteCustomer(app.db, auditContextOf(app, { principal, request, server }), params.id);
        set.status = 204;
      },
      {
        permission: "customer:write",
        params: IdParams,
        response: { 204: t.Void(), ...errorResponses(401, 403, 404, 503) },
        detail: { summary: "Delete a customer (soft: its external_id becomes free)" },
      },
    );
}
