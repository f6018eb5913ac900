// Issue 25: the responses of every operation a client generated from today's Flexprice API (the
// TypeScript and Python SDKs 2.1.x, v2.1.25) can call in Tollgate's groups, checked against those
// SDKs' response models: the success status each operation expects (another 2xx is an error to
// it), a JSON body, every field the model reads present (null where Tollgate has no value: the
// SDK turns null into undefined) and of a type the SDK accepts (a Date field must parse, a number
// must be a number). The models are written out below from the SDK's src/sdk/models/*.ts; that
// SDK is not on this machine's registry. Its errors read the flat code/message/http_status_code,
// which test/errors-envelope.test.ts checks on every status.
import { describe, expect, test } from "bun:test";
import { type CallResult, createHarness, type Harness } from "./support/harness";
import { addPerson, signInHarness } from "./support/sign-in";

type Field = "string" | "number" | "boolean" | "date" | "record" | { array: Model | "string" } | Model;
interface Model {
  [key: string]: Field;
}

const PAGINATION: Model = { limit: "number", offset: "number", total: "number" };
const ADDRESS: Model = {
  address_city: "string",
  address_country: "string",
  address_line1: "string",
  address_line2: "string",
  address_postal_code: "string",
  address_state: "string",
};
const TENANT: Model = {
  billing_details: { address: ADDRESS, email: "string", help_email: "string", phone: "string" },
  created_at: "date",
  id: "string",
  metadata: "record",
  name: "string",
  status: "string",
  updated_at: "date",
};
const USER: Model = {
  email: "string",
  id: "string",
  metadata: "record",
  name: "string",
  roles: { array: "string" },
  tenant: TENANT,
  type: "string",
};
const SECRET: Model = {
  created_at: "date",
  display_id: "string",
  expires_at: "date",
  id: "string",
  last_used_at: "date",
  name: "string",
  provider: "string",
  roles: { array: "string" },
  service_account_name: "string",
  status: "string",
  type: "string",
  updated_at: "date",
  user_id: "string",
  user_type: "string",
};
const CUSTOMER: Model = {
  ...ADDRESS,
  contact: "string",
  created_at: "date",
  created_by: "string",
  email: "string",
  environment_id: "string",
  external_id: "string",
  id: "string",
  metadata: "record",
  name: "string",
  status: "string",
  tenant_id: "string",
  timezone: "string",
  updated_at: "date",
  updated_by: "string",
};
const EVENT: Model = {
  customer_id: "string",
  environment_id: "string",
  event_name: "string",
  external_customer_id: "string",
  id: "string",
  properties: "record",
  source: "string",
  timestamp: "string",
};
const MODELS = {
  UserResponse: USER,
  ListUsersResponse: { items: { array: USER }, pagination: PAGINATION },
  TenantResponse: TENANT,
  SecretResponse: SECRET,
  CreateAPIKeyResponse: { api_key: "string", secret: SECRET },
  ListSecretsResponse: { items: { array: SECRET }, pagination: PAGINATION },
  CustomerResponse: CUSTOMER,
  ListCustomersResponse: { items: { array: CUSTOMER }, pagination: PAGINATION },
  GetEventsResponse: {
    events: { array: EVENT },
    has_more: "boolean",
    iter_first_key: "string",
    iter_last_key: "string",
    offset: "number",
    total_count: "number",
  },
  GetEventByIDResponse: {
    event: EVENT,
    status: "string",
    debug_tracker: "record",
    processed_events: { array: "string" },
  },
  GetUsageResponse: {
    event_name: "string",
    results: { array: { value: "number", window_size: "string" } },
    type: "string",
    value: "number",
  },
  // listRbacRoles and getRbacRole read any JSON object; ingestEvent and ingestEventsBulk a record of strings.
  Record: {},
} satisfies Record<string, Model>;

/**
 * Where a value breaks a model, as the SDK would read it: a missing key ("omitted": Tollgate
 * sends every field), or a value of a type its reader fails on. Null is always accepted.
 */
function mismatches(value: unknown, field: Field, at: string): string[] {
  if (value === null) return [];
  if (field === "string") return typeof value === "string" ? [] : [`${at}: not a string`];
  if (field === "number") return typeof value === "number" ? [] : [`${at}: not a number`];
  if (field === "boolean") return typeof value === "boolean" ? [] : [`${at}: not a boolean`];
  if (field === "date")
    return typeof value === "string" && !Number.isNaN(Date.parse(value)) ? [] : [`${at}: not a date`];
  if (field === "record") return typeof value === "object" && !Array.isArray(value) ? [] : [`${at}: not an object`];
  if (
    "array" in field &&
    Array.isArray((field as { array: unknown }).array) === false &&
    Object.keys(field).length === 1
  ) {
    const item = (field as { array: Model | "string" }).array;
    if (!Array.isArray(value)) return [`${at}: not an array`];
    return value.flatMap((v, i) => mismatches(v, item, `${at}[${i}]`));
  }
  if (typeof value !== "object" || Array.isArray(value)) return [`${at}: not an object`];
  return Object.entries(field as Model).flatMap(([key, inner]) =>
    key in (value as object)
      ? mismatches((value as Record<string, unknown>)[key], inner, `${at}.${key}`)
      : [`${at}.${key}: omitted`],
  );
}

function expectModel(res: CallResult, status: number, model: Model) {
  expect(res.status).toBe(status);
  if (status === 204) {
    expect(res.text).toBe("");
    return;
  }
  expect(res.headers.get("content-type")).toStartWith("application/json");
  expect(mismatches(res.body, model, "body")).toEqual([]);
}

async function seeded(h: Harness) {
  const customer = await h.call("POST", "/v1/customers", {
    body: { external_id: "acme", name: "Acme", contact: "+1 555", timezone: "Europe/Paris", metadata: { plan: "pro" } },
  });
  await h.call("POST", "/v1/events", {
    body: { event_name: "api_call", external_customer_id: "acme", event_id: "e1", properties: { n: 1 } },
  });
  const account = await h.call("POST", "/v1/users", {
    body: { type: "service_account", name: "svc", roles: ["event_reader"] },
  });
  const key = await h.call("POST", "/v1/secrets/api/keys", {
    body: { name: "k", service_account_id: account.body.id },
  });
  return { customer: customer.body, account: account.body, key: key.body };
}

describe("SDK 2.1.x operations: each answers its expected status with its model's fields and types", () => {
  test("users: createUser 201, getUserInfo, updateUser, queryUser, updateServiceAccount 200, updateUserRoles 200, deleteServiceAccount 204", async () => {
    const h = await signInHarness();
    const person = await addPerson(h, "ada@example.com", "correct horse battery");
    expectModel(
      await h.call("POST", "/v1/users", { body: { type: "service_account", name: "svc", roles: ["event_reader"] } }),
      201,
      USER,
    );
    expectModel(await h.call("POST", "/v1/users", { body: { type: "user", email: "bo@example.com" } }), 201, USER);
    expectModel(await h.call("GET", "/v1/users/me"), 200, USER);
    expectModel(await h.call("PUT", "/v1/users/me", { body: { metadata: { team: "core" } } }), 200, USER);
    const list = await h.call("POST", "/v1/users/search", { body: { type: "service_account" } });
    expectModel(list, 200, MODELS.ListUsersResponse);
    const svc = list.body.items[0].id;
    expectModel(await h.call("PUT", `/v1/users/${svc}`, { body: { name: "renamed" } }), 200, USER);
    expectModel(
      await h.call("PUT", `/v1/users/${person.id}/roles`, { bearer: person.token, body: { roles: ["all_reader"] } }),
      403,
      {},
    );
    const other = await addPerson(h, "cy@example.com", "correct horse battery");
    expectModel(
      await h.call("PUT", `/v1/users/${other.id}/roles`, { bearer: person.token, body: { roles: ["all_reader"] } }),
      200,
      USER,
    );
    expectModel(await h.call("DELETE", `/v1/users/${svc}`), 204, {});
  });

  test("tenants: getTenantById, updateTenant", async () => {
    const h = await createHarness();
    const me = await h.call("GET", "/v1/users/me");
    expectModel(await h.call("GET", `/v1/tenants/${me.body.tenant.id}`), 200, TENANT);
    expectModel(await h.call("PUT", "/v1/tenants/update", { body: { name: "Renamed" } }), 200, TENANT);
  });

  test("rbac: listRbacRoles (also by user_type) and getRbacRole answer JSON objects", async () => {
    const h = await createHarness();
    expectModel(await h.call("GET", "/v1/rbac/roles"), 200, MODELS.Record);
    expectModel(await h.call("GET", "/v1/rbac/roles?user_type=user"), 200, MODELS.Record);
    expectModel(await h.call("GET", "/v1/rbac/roles/all_reader"), 200, MODELS.Record);
  });

  test("secrets: createApiKey 201, listApiKeys, deleteApiKey 204", async () => {
    const h = await createHarness();
    const { key } = await seeded(h);
    expectModel(
      await h.call("POST", "/v1/secrets/api/keys", { body: { name: "mine", type: "private_key" } }),
      201,
      MODELS.CreateAPIKeyResponse,
    );
    expectModel(
      await h.call("GET", "/v1/secrets/api/keys?limit=10&offset=0&status=published"),
      200,
      MODELS.ListSecretsResponse,
    );
    const listed = await h.call("GET", "/v1/secrets/api/keys");
    expect(listed.body.items.find((k: { id: string }) => k.id === key.id).service_account_name).toBe("svc");
    expectModel(await h.call("DELETE", `/v1/secrets/api/keys/${key.id}`), 204, {});
  });

  test("customers: createCustomer 201, getCustomer, getCustomerByExternalId, updateCustomer, queryCustomer, deleteCustomer 204", async () => {
    const h = await createHarness();
    const { customer } = await seeded(h);
    expect(customer).toMatchObject({ contact: "+1 555", timezone: "Europe/Paris" });
    expectModel(await h.call("POST", "/v1/customers", { body: { external_id: "b2", name: "B" } }), 201, CUSTOMER);
    expectModel(await h.call("GET", `/v1/customers/${customer.id}`), 200, CUSTOMER);
    expectModel(await h.call("GET", "/v1/customers/external/acme"), 200, CUSTOMER);
    expectModel(
      await h.call("PUT", `/v1/customers?id=${customer.id}`, { body: { timezone: "Asia/Tokyo" } }),
      200,
      CUSTOMER,
    );
    expectModel(
      await h.call("POST", "/v1/customers/search", { body: { metadata: { plan: "pro" } } }),
      200,
      MODELS.ListCustomersResponse,
    );
    expectModel(await h.call("DELETE", `/v1/customers/${customer.id}`), 204, {});
  });

  test("events: ingestEvent and ingestEventsBulk 202, listRawEvents, getEvent (lookup), getUsageStatistics (with timezone and group_by)", async () => {
    const h = await createHarness();
    await seeded(h);
    const one = { event_name: "api_call", external_customer_id: "acme", properties: { n: 2 } };
    expectModel(await h.call("POST", "/v1/events", { body: one }), 202, MODELS.Record);
    expectModel(await h.call("POST", "/v1/events/bulk", { body: { events: [one] } }), 202, MODELS.Record);
    expectModel(await h.call("POST", "/v1/events/query", { body: {} }), 200, MODELS.GetEventsResponse);
    const lookup = await h.call("GET", "/v1/events/lookup?id=e1");
    expectModel(lookup, 200, MODELS.GetEventByIDResponse);
    expect(lookup.body.status).toBe("processed");
    expectModel(
      await h.call("POST", "/v1/events/usage", {
        body: {
          event_name: "api_call",
          aggregation_type: "COUNT",
          window_size: "DAY",
          timezone: "Asia/Kolkata",
          group_by: ["source"],
        },
      }),
      200,
      MODELS.GetUsageResponse,
    );
  });
});
