import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { notFound } from "../../http/errors";
import { errorResponses } from "../../http/openapi";
import { authPlugin } from "../auth";
import type { PortalSession } from "../auth/portal-tokens";
import { CustomerSchema, PortalUsageSchema } from "./model";
import { PREFLIGHT_ROUTE, portalCors } from "./portal-cors";
import { getCustomer, toCustomerResponse } from "./read";

const USAGE_WINDOW_MS = 30 * 24 * 3600 * 1000;

/** The customer a session belongs to, while it is live (deleting a customer ends its sessions). */
async function sessionCustomer(app: AppContext, session: PortalSession) {
  const customer = await getCustomer(app.db, session, session.customerId);
  if (customer.status !== "published") throw notFound("Customer not found");
  return customer;
}

/**
 * What a customer sees with a portal session token: itself and its own usage, nothing else.
 * Called from the customer's browser, cross-origin for the origins config allows (./portal-cors.ts).
 * Its own record includes parent_customer_id; the parent's record is another customer's, which a
 * session for this one does not show (parent_customer: null).
 */
export function customerPortalController(app: AppContext) {
  const cors = portalCors(app.config);
  return new Elysia({ prefix: "/v1/customer/portal", tags: ["Customer portal"] })
    .use(cors.headers)
    .use(authPlugin(app))
    .options("/info", cors.preflight, PREFLIGHT_ROUTE)
    .options("/usage", cors.preflight, PREFLIGHT_ROUTE)
    .get("/info", async ({ session }) => toCustomerResponse(await sessionCustomer(app, session)), {
      portal: true,
      response: { 200: CustomerSchema, ...errorResponses(401, 404) },
      detail: { summary: "The session's customer (its parent not expanded: parent_customer is null)" },
    })
    .get(
      "/usage",
      async ({ session }) => {
        const customer = await sessionCustomer(app, session);
        const end = new Date();
        const start = new Date(end.getTime() - USAGE_WINDOW_MS);
        return {
          customer_id: customer.id,
          external_id: customer.external_id,
          start_time: start.toISOString(),
          end_time: end.toISOString(),
          usage: await app.reads.summary(session, customer.external_id, {
            start: start.toISOString(),
            end: end.toISOString(),
          }),
        };
      },
      {
        portal: true,
        response: { 200: PortalUsageSchema, ...errorResponses(401, 404) },
        detail: { summary: "Event counts by event_name for the session's customer, last 30 days" },
      },
    );
}
