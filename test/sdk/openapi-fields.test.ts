// Wire fidelity, checked against the official client's own schemas: for every route the
// Flexprice SDK calls (and our routes that return the same shapes), each field of the SDK's
// response model appears in our OpenAPI response schema and is required or nullable, at every
// depth. The SDK (with zod 4) refuses a response with a missing field, and /swagger/json is
// generated from the same TypeBox schemas that serialise responses, so a field cannot silently
// disappear again.
import { describe, expect, test } from "bun:test";
import * as models from "@flexprice/sdk/sdk/models";
import { createHarness } from "../support/harness";

// zod (v4 core) internals the SDK's generated schemas are built from.
interface ZodNode {
  _zod: { def: Record<string, any> & { type: string } };
}

/** The value schema under the SDK's wrappers: remaps (pipe), optional/nullable unions, lazy. */
function unwrap(node: ZodNode): ZodNode {
  for (;;) {
    const def = node._zod.def;
    if (def.type === "pipe") node = def.in;
    else if (["optional", "nullable", "default", "nonoptional", "readonly"].includes(def.type)) node = def.innerType;
    else if (def.type === "lazy") node = def.getter();
    else if (def.type === "union") {
      // The SDK's optional(x) is a union of undefined, null (piped to undefined) and x; its lax
      // primitives are unions of scalars. Keep descending only through the first kind.
      const values = (def.options as ZodNode[]).filter((o) => !["undefined", "null"].includes(input(o)._zod.def.type));
      if (values.length !== 1) return node;
      node = values[0] as ZodNode;
    } else return node;
  }
}

/** What a schema reads, before any transform. */
function input(node: ZodNode): ZodNode {
  while (node._zod.def.type === "pipe") node = node._zod.def.in;
  return node;
}

type JsonSchema = Record<string, any>;

/** string, number or boolean for the SDK's scalar readers (unions led by that type), else null. */
function scalarKind(node: ZodNode): string | null {
  const def = node._zod.def;
  const first = def.type === "union" ? input(def.options[0] as ZodNode)._zod.def.type : def.type;
  return ["string", "number", "boolean"].includes(first) ? first : null;
}

/** The JSON types our schema admits (empty: unconstrained). */
function ourTypes(schema: JsonSchema): string[] {
  const options = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (options) return options.flatMap(ourTypes);
  if (schema.const !== undefined && schema.type === undefined) return [typeof schema.const];
  return schema.type === undefined ? [] : [schema.type].flat();
}

/** Our schema for a value: anyOf [X, null] becomes X. */
function nonNull(schema: JsonSchema): JsonSchema {
  const options = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (!options) return schema;
  const values = options.filter((o) => o.type !== "null");
  return values.length === 1 ? (values[0] as JsonSchema) : schema;
}

function nullable(schema: JsonSchema): boolean {
  if (schema.nullable === true) return true;
  if (Array.isArray(schema.type) && schema.type.includes("null")) return true;
  return ((schema.anyOf ?? schema.oneOf ?? []) as JsonSchema[]).some((o) => o.type === "null");
}

/**
 * Every SDK field missing from ours, or optional and not nullable there, as a path
 * (`items[].tenant.billing_details`). Recursive types are followed once.
 */
function gaps(sdk: ZodNode, ours: JsonSchema, path: string, seen: Set<ZodNode>): string[] {
  const node = unwrap(sdk);
  const def = node._zod.def;
  // Always null in ours (a field Tollgate has no value for, e.g. an event's pricing trace): the
  // SDK accepts null for every field, so there is nothing inside to compare.
  const types = ourTypes(ours);
  if (types.length > 0 && types.every((t) => t === "null")) return [];
  const mine = nonNull(ours);
  if (def.type === "array") {
    if (mine.type !== "array" || !mine.items) return [`${path} is not an array in ours`];
    return gaps(def.element, mine.items, `${path}[]`, seen);
  }
  const kind = scalarKind(node);
  if (kind !== null) {
    const allowed = ourTypes(ours).filter((t) => t !== "null" && t !== kind && !(kind === "number" && t === "integer"));
    return allowed.length > 0 ? [`${path} may be ${allowed.join(" or ")}; the SDK reads a ${kind}`] : [];
  }
  if (def.type !== "object" || seen.has(node)) return [];
  if (mine.type !== "object" || !mine.properties) return [`${path || "(body)"} is not an object in ours`];
  const found: string[] = [];
  const required = new Set<string>(mine.required ?? []);
  for (const [field, child] of Object.entries<ZodNode>(def.shape)) {
    const where = path ? `${path}.${field}` : field;
    const property = mine.properties[field] as JsonSchema | undefined;
    if (!property) found.push(`${where} is missing`);
    else {
      if (!required.has(field) && !nullable(property)) found.push(`${where} may be omitted`);
      found.push(...gaps(child, property, where, new Set([...seen, node])));
    }
  }
  return found;
}

// [method, our path as OpenAPI writes it, success status, the SDK response model]. The SDK's
// own calls first, then our routes documented to return the same shapes.
const ROUTES: [string, string, number, string][] = [
  ["post", "/v1/users", 201, "DtoUserResponse"],
  ["get", "/v1/users/me", 200, "DtoUserResponse"],
  ["post", "/v1/users/search", 200, "DtoListUsersResponse"],
  ["post", "/v1/customers", 201, "DtoCustomerResponse"],
  ["get", "/v1/customers/{id}", 200, "DtoCustomerResponse"],
  ["get", "/v1/customers/external/{external_id}", 200, "DtoCustomerResponse"],
  ["put", "/v1/customers", 200, "DtoCustomerResponse"],
  ["post", "/v1/customers/search", 200, "DtoListCustomersResponse"],
  ["get", "/v1/events/{id}", 200, "DtoGetEventByIDResponse"],
  ["post", "/v1/events/query", 200, "DtoGetEventsResponse"],
  ["post", "/v1/events/usage", 200, "DtoGetUsageResponse"],
  ["post", "/v1/secrets/api/keys", 201, "DtoCreateAPIKeyResponse"],
  ["get", "/v1/secrets/api/keys", 200, "DtoListSecretsResponse"],
  ["post", "/v1/environments", 201, "DtoEnvironmentResponse"],
  ["put", "/v1/environments/{id}", 200, "DtoEnvironmentResponse"],
  ["get", "/v1/tenants/{id}", 200, "DtoTenantResponse"],
  ["put", "/v1/tenants/update", 200, "DtoTenantResponse"],
  ["post", "/v1/secrets/integrations/create/{provider}", 201, "DtoSecretResponse"],
  ["get", "/v1/secrets/integrations/by-provider/{provider}", 200, "DtoSecretResponse"],
  ["get", "/v1/secrets/integrations/linked", 200, "DtoLinkedIntegrationsResponse"],
  // Same shapes on routes the SDK does not call.
  ["get", "/v1/users/{id}", 200, "DtoUserResponse"],
  ["put", "/v1/users/{id}", 200, "DtoUserResponse"],
  ["get", "/v1/customers", 200, "DtoListCustomersResponse"],
  ["put", "/v1/customers/{id}", 200, "DtoCustomerResponse"],
  ["get", "/v1/customer/portal/info", 200, "DtoCustomerResponse"],
  ["get", "/v1/events", 200, "DtoGetEventsResponse"],
  ["get", "/v1/secrets/api/keys/{id}", 200, "DtoSecretResponse"],
  ["post", "/v1/secrets/api/keys/{id}/rotate", 201, "DtoCreateAPIKeyResponse"],
  ["get", "/v1/environments/{id}", 200, "DtoEnvironmentResponse"],
];

describe("every field of the Flexprice SDK's response models is in our OpenAPI document, required or nullable", async () => {
  const h = await createHarness();
  const doc = (await h.call("GET", "/swagger/json", { key: null })).body as JsonSchema;
  await h.close();

  for (const [method, path, status, model] of ROUTES) {
    test(`${method.toUpperCase()} ${path} → ${model}`, () => {
      const sdk = (models as Record<string, unknown>)[`${model}$inboundSchema`] as ZodNode | undefined;
      expect(sdk).toBeDefined();
      const response = doc.paths[path]?.[method]?.responses?.[String(status)];
      expect({ route: `${method} ${path}`, documented: response !== undefined }).toEqual({
        route: `${method} ${path}`,
        documented: true,
      });
      expect(gaps(sdk as ZodNode, response.content["application/json"].schema, "", new Set())).toEqual([]);
    });
  }

  // The checker itself: a model with a field we lack is reported, so the tests above can fail.
  test("the check reports a missing field, an omittable one and a wrong scalar type", () => {
    const sdk = (models as Record<string, unknown>).DtoEnvironmentResponse$inboundSchema as ZodNode;
    const ours = {
      type: "object",
      required: ["id", "name", "type", "created_at"],
      properties: { id: {}, name: {}, type: {}, created_at: {}, updated_at: { type: "string" } },
    };
    expect(gaps(sdk, ours, "", new Set())).toEqual(["updated_at may be omitted"]);
    const { updated_at: _, ...fewer } = ours.properties;
    expect(gaps(sdk, { ...ours, properties: fewer }, "", new Set())).toEqual(["updated_at is missing"]);
    const usage = (models as Record<string, unknown>).DtoGetUsageResponse$inboundSchema as ZodNode;
    const textValue = {
      type: "object",
      required: ["event_name", "type", "value", "results"],
      properties: {
        event_name: { type: "string" },
        type: { type: "string" },
        value: { anyOf: [{ type: "number" }, { type: "string" }, { type: "null" }] },
        results: {
          type: "array",
          items: { type: "object", required: ["value"], properties: { value: { type: "integer" } } },
        },
      },
    };
    expect(gaps(usage, textValue, "", new Set())).toEqual([
      "results[].window_size is missing",
      "value may be string; the SDK reads a number",
    ]);
  });
});
