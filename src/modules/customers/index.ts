import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { ErrorEnvelopeSchema, needsBilling, routeNotFound } from "../../http/errors";
import { errorResponses } from "../../http/openapi";
import { ListSchema, listOf, pageOf } from "../../http/pagination";
import { authPlugin } from "../auth";
import { auditContextOf } from "../audit/context";
import {
  CreateCustomerBody,
  CustomerSchema,
  ListCustomersQuery,
  PortalSessionSchema,
  SearchCustomersBody,
  UpdateCustomerBody,
  UpdateTargetQuery,
} from "./model";
import { createCustomer } from "./create";
import { deleteCustomer, revokePortalSessions } from "./delete";
import { openPortalSession } from "./portal-session";
import { customerResponse, customerResponses, getCustomer, getCustomerByExternalId } from "./read";
import { searchCustomers } from "./search";
import { updateCustomer } from "./update";

const IdParams = t.Object({ id: t.String() });
const ExternalIdParams = t.Object({ external_id: t.String() });

/** Every customer id Tollgate makes starts with this (then a ULID); see onlyCustomerIds. */
const CUSTOMER_ID_PREFIX = "cust_";

/**
 * `/v1/customers/{id}` takes customer ids only. A segment without the prefix every customer id
 * has is not an id but the name of a route Tollgate does not serve (the SDK's
 * GET /v1/customers/usage and /v1/customers/wallets, or whatever Flexprice adds next), so it is
 * answered as the router answers an unknown route: 404 Route not found, before any credential
 * check, instead of a "Customer not found" that would say a customer called "usage" was looked
 * up. No list of reserved words to keep in step with Flexprice: the id format decides.
 * Runs as the instance's own parse and transform hooks, which come before the access check.
 */
function onlyCustomerIds({ params }: { params: Record<string, string | undefined> }) {
  if (!params.id?.startsWith(CUSTOMER_ID_PREFIX)) throw routeNotFound();
}

export function customersController(app: AppContext) {
  // Mounted below under /v1/customers; its own hooks apply to its routes only.
  const byId = new Elysia({ tags: ["Customers"] })
    .use(authPlugin(app))
    .onParse(onlyCustomerIds)
    .onTransform(onlyCustomerIds)
    .get(
      "/:id/entitlements",
      () => {
        throw needsBilling("Customer entitlements");
      },
      {
        permission: "customer:read",
        params: t.Object({ id: t.String() }),
        response: { 501: ErrorEnvelopeSchema, ...errorResponses(401, 403) },
        detail: { summary: "Not served (501): entitlements need billing" },
      },
    )
    .get(
      "/:id/grants/upcoming",
      () => {
        throw needsBilling("Upcoming credit grants");
      },
      {
        permission: "customer:read",
        params: t.Object({ id: t.String() }),
        response: { 501: ErrorEnvelopeSchema, ...errorResponses(401, 403) },
        detail: { summary: "Not served (501): credit grants need billing" },
      },
    )
    .get(
      "/:id",
      async ({ principal, params }) =>
        await customerResponse(app.db, principal, await getCustomer(app.db, principal, params.id)),
      {
        permission: "customer:read",
        params: IdParams,
        response: { 200: CustomerSchema, ...errorResponses(401, 403, 404) },
        detail: { summary: "One customer, deleted ones included, with its parent" },
      },
    )
    .put(
      "/:id",
      async ({ principal, request, server, params, body }) =>
        await customerResponse(
          app.db,
          principal,
          await updateCustomer(
            app.db,
            await auditContextOf(app, { principal, request, server }),
            { id: params.id },
            body,
          ),
        ),
      {
        permission: "customer:write",
        params: IdParams,
        body: UpdateCustomerBody,
        response: { 200: CustomerSchema, ...errorResponses(400, 401, 403, 404, 409, 503) },
        detail: { summary: "Change a customer's fields (as PUT /v1/customers?id=)" },
      },
    )
    .delete(
      "/:id/portal-sessions",
      async ({ principal, request, server, params, set }) => {
        await revokePortalSessions(app.db, await auditContextOf(app, { principal, request, server }), params.id);
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
      async ({ principal, request, server, params, set }) => {
        await deleteCustomer(app.db, await auditContextOf(app, { principal, request, server }), params.id);
        set.status = 204;
      },
      {
        permission: "customer:write",
        params: IdParams,
        response: { 204: t.Void(), ...errorResponses(400, 401, 403, 404, 503) },
        detail: {
          summary: "Delete a customer (soft: its external_id becomes free)",
          description:
            "A customer that is the parent of live customers is kept (400) until they are detached or deleted.",
        },
      },
    );

  return (
    new Elysia({ prefix: "/v1/customers", tags: ["Customers"] })
      .use(authPlugin(app))
      .post(
        "",
        async ({ principal, request, server, body, set }) => {
          const row = await createCustomer(app.db, await auditContextOf(app, { principal, request, server }), body);
          set.status = 201;
          return await customerResponse(app.db, principal, row);
        },
        {
          permission: "customer:write",
          body: CreateCustomerBody,
          response: { 201: CustomerSchema, ...errorResponses(400, 401, 403, 404, 409, 503) },
          detail: {
            summary: "Create a customer (external_id unique in the environment)",
            description: "404: the parent named by parent_customer_id or parent_customer_external_id does not exist.",
          },
        },
      )
      .put(
        "",
        async ({ principal, request, server, query, body }) =>
          await customerResponse(
            app.db,
            principal,
            await updateCustomer(
              app.db,
              await auditContextOf(app, { principal, request, server }),
              { id: query.id, externalCustomerId: query.external_customer_id },
              body,
            ),
          ),
        {
          permission: "customer:write",
          query: UpdateTargetQuery,
          body: UpdateCustomerBody,
          response: { 200: CustomerSchema, ...errorResponses(400, 401, 403, 404, 409, 503) },
          detail: {
            summary: "Change a customer's fields, naming it by ?id= or ?external_customer_id=",
            description:
              "external_customer_id finds the live customer holding that external id (to change the external id " +
              "itself, send external_id in the body). Both given: they must name the same customer.",
          },
        },
      )
      .get(
        "",
        async ({ principal, query }) => {
          const page = pageOf(query);
          const { rows, total } = await searchCustomers(app.reads, principal, query, page);
          return listOf(await customerResponses(app.db, principal, rows), total, page);
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
        async ({ principal, body }) => {
          const page = pageOf(body);
          const { rows, total } = await searchCustomers(app.reads, principal, body, page);
          return listOf(await customerResponses(app.db, principal, rows), total, page);
        },
        {
          permission: "customer:read",
          body: SearchCustomersBody,
          response: { 200: ListSchema(CustomerSchema, "CustomerList"), ...errorResponses(400, 401, 403) },
          detail: {
            summary: "Find customers: by ids, external ids, parents, status, time, filters; sorted",
            description:
              "Flexprice's CustomerFilter. A filter or expansion Tollgate cannot apply is a 400, never ignored.",
          },
        },
      )
      // Flexprice operations of this group that need billing: a 501 saying so, not a 404.
      .get(
        "/usage",
        () => {
          throw needsBilling("Customer usage summaries");
        },
        {
          permission: "customer:read",
          response: { 501: ErrorEnvelopeSchema, ...errorResponses(401, 403) },
          detail: { summary: "Not served (501): a customer's usage summary needs billing" },
        },
      )
      .get(
        "/external/:external_id/entitlements",
        () => {
          throw needsBilling("Customer entitlements");
        },
        {
          permission: "customer:read",
          params: ExternalIdParams,
          response: { 501: ErrorEnvelopeSchema, ...errorResponses(401, 403) },
          detail: { summary: "Not served (501): entitlements need billing" },
        },
      )
      .get(
        "/external/:external_id/subscriptions",
        () => {
          throw needsBilling("Customer subscriptions");
        },
        {
          permission: "customer:read",
          params: ExternalIdParams,
          response: { 501: ErrorEnvelopeSchema, ...errorResponses(401, 403) },
          detail: { summary: "Not served (501): subscriptions need billing" },
        },
      )
      .get(
        "/external/:external_id",
        async ({ principal, params }) =>
          await customerResponse(
            app.db,
            principal,
            await getCustomerByExternalId(app.db, principal, params.external_id),
          ),
        {
          permission: "customer:read",
          params: ExternalIdParams,
          response: { 200: CustomerSchema, ...errorResponses(401, 403, 404) },
          detail: { summary: "The live customer with this external_id, with its parent" },
        },
      )
      .get(
        "/portal/:external_id",
        async ({ principal, request, server, params }) => {
          const audit = await auditContextOf(app, { principal, request, server });
          return (await openPortalSession(app, audit, params.external_id, server?.port)).session;
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
      .use(byId)
  );
}
