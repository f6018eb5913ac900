// The Flexprice SDK's billing groups (plans, prices, invoices, subscriptions, wallets…) are not
// Tollgate's business: they must fail the way an unknown route does, 404 "Route not found" in
// the one error envelope, surfaced by the SDK as its typed HTTP error, and never be caught by a
// route of ours with a path parameter (a "Customer not found" for /customers/wallets would say
// the customer "wallets" was looked up).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { errorBody } from "../support/harness";
import type { Flexprice } from "@flexprice/sdk";
import { failure, type SdkServer, startSdkServer } from "../support/sdk";

let s: SdkServer;
beforeAll(async () => {
  s = await startSdkServer();
});
afterAll(async () => {
  await s.stop();
});

/** One call per group the README lists as out of scope, with arguments the SDK accepts. */
const CALLS: [string, (sdk: Flexprice) => Promise<unknown>][] = [
  ["addons.queryAddon", (sdk) => sdk.addons.queryAddon({})],
  ["alerts.queryAlertLog", (sdk) => sdk.alerts.queryAlertLog({})],
  ["costs.getActiveCostsheet", (sdk) => sdk.costs.getActiveCostsheet()],
  ["coupons.getCoupon", (sdk) => sdk.coupons.getCoupon("cpn_1")],
  ["creditGrants.getCreditGrant", (sdk) => sdk.creditGrants.getCreditGrant("cg_1")],
  ["creditNotes.getCreditNote", (sdk) => sdk.creditNotes.getCreditNote("cn_1")],
  ["entitlements.queryEntitlement", (sdk) => sdk.entitlements.queryEntitlement({})],
  [
    "entityIntegrationMappings.deleteEntityIntegrationMapping",
    (sdk) => sdk.entityIntegrationMappings.deleteEntityIntegrationMapping("eim_1"),
  ],
  ["features.queryFeature", (sdk) => sdk.features.queryFeature({})],
  ["groups.getGroup", (sdk) => sdk.groups.getGroup("grp_1")],
  ["invoices.queryInvoice", (sdk) => sdk.invoices.queryInvoice({})],
  ["payments.listPayments", (sdk) => sdk.payments.listPayments()],
  ["plans.queryPlan", (sdk) => sdk.plans.queryPlan({})],
  ["prices.queryPrice", (sdk) => sdk.prices.queryPrice({})],
  ["priceUnits.listPriceUnits", (sdk) => sdk.priceUnits.listPriceUnits()],
  ["scheduledTasks.listScheduledTasks", (sdk) => sdk.scheduledTasks.listScheduledTasks()],
  ["subscriptions.getSubscription", (sdk) => sdk.subscriptions.getSubscription("sub_1")],
  ["tasks.listTasks", (sdk) => sdk.tasks.listTasks()],
  ["taxAssociations.getTaxAssociation", (sdk) => sdk.taxAssociations.getTaxAssociation("ta_1")],
  ["taxRates.getTaxRates", (sdk) => sdk.taxRates.getTaxRates()],
  ["wallets.getCustomerWallets", (sdk) => sdk.wallets.getCustomerWallets()],
  ["wallets.getWalletsByCustomerId", (sdk) => sdk.wallets.getWalletsByCustomerId("cust_1")],
  ["workflows.queryWorkflow", (sdk) => sdk.workflows.queryWorkflow({})],
];

/**
 * Operations of the groups Tollgate serves (customers, events, tenants) that need billing: a 501
 * whose message says so, which the SDK surfaces as an HTTP error like any other (issue 25).
 */
const NEEDS_BILLING: [string, (sdk: Flexprice) => Promise<unknown>, string][] = [
  ["customers.getCustomerUsageSummary", (sdk) => sdk.customers.getCustomerUsageSummary(), "Customer usage summaries"],
  [
    "customers.getCustomerEntitlements",
    (sdk) => sdk.customers.getCustomerEntitlements("cust_1"),
    "Customer entitlements",
  ],
  [
    "customers.getCustomerUpcomingGrants",
    (sdk) => sdk.customers.getCustomerUpcomingGrants("cust_1"),
    "Upcoming credit grants",
  ],
  ["events.getUsageAnalytics", (sdk) => sdk.events.getUsageAnalytics({ externalCustomerId: "c" }), "Usage analytics"],
  ["events.getUsageByMeter", (sdk) => sdk.events.getUsageByMeter({ meterId: "m" }), "Usage by meter"],
  [
    "events.getHuggingfaceInferenceData",
    (sdk) => sdk.events.getHuggingfaceInferenceData(),
    "Hugging Face billing data",
  ],
  ["tenants.getTenantBillingUsage", (sdk) => sdk.tenants.getTenantBillingUsage(), "A tenant's billing usage"],
];

describe("SDK operations of Tollgate's groups that need billing: 501 not_implemented, saying why", () => {
  for (const [name, call, what] of NEEDS_BILLING) {
    test(name, async () => {
      const http = await failure(call(s.client()));
      expect(http.statusCode).toBe(501);
      const body = JSON.parse(http.body);
      expect(body.code).toBe("not_implemented");
      expect(body.message).toStartWith(`${what}: this needs billing`);
      expect(body.error).toEqual({ message: body.message, internal_error: "not_implemented", details: {} });
    });
  }
});

describe("SDK operations outside Tollgate's scope: 404 Route not found", () => {
  for (const [name, call] of CALLS) {
    test(name, async () => {
      const http = await failure(call(s.client()));
      expect(http.statusCode).toBe(404);
      expect(JSON.parse(http.body)).toEqual(errorBody(404, "not_found", "Route not found"));
    });
  }
});
