import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { errorResponses } from "../../http/openapi";
import { ListSchema, listOf, pageOf } from "../../http/pagination";
import { authPlugin } from "../auth";
import { auditContextOf } from "../audit/context";
import { CreatedKeySchema, CreateKeyBody, ListKeysQuery, RotateKeyBody, SecretSchema } from "./model";
import { type CreatedKey, createKey } from "./create";
import { getKey, listKeys, scopeOf, toSecretResponse } from "./read";
import { revokeKey } from "./revoke";
import { rotateKey } from "./rotate";
import { setKeyLimits } from "./limits";
import { LimitsBody } from "../limits/model";

const IdParams = t.Object({ id: t.String() });

/** Both documented response shapes at once: `api_key` + `secret`, and the flat id/name/roles. */
function createdKeyResponse({ apiKey, secret }: CreatedKey) {
  const response = toSecretResponse(secret);
  return {
    api_key: apiKey,
    secret: response,
    id: response.id,
    name: response.name,
    roles: response.roles,
    created_at: response.created_at,
  };
}

export function secretsController(app: AppContext) {
  return new Elysia({ prefix: "/v1/secrets/api/keys", tags: ["API keys"] })
    .use(authPlugin(app))
    .post(
      "",
      async ({ principal, request, server, body, set }) => {
        const created = await createKey(
          app,
          principal,
          await auditContextOf(app, { principal, request, server }),
          body,
        );
        set.status = 201;
        return createdKeyResponse(created);
      },
      {
        permission: "secret:write",
        body: CreateKeyBody,
        response: { 201: CreatedKeySchema, ...errorResponses(400, 401, 403, 404, 503) },
        detail: {
          summary: "Create an API key for yourself or for a service account",
          description: "The key is returned in this response only. Its roles are copied now and never change.",
        },
      },
    )
    .get(
      "",
      async ({ principal, query }) => {
        // Balances spent in memory are written first, so the list shows them as they are.
        await app.credits.flush();
        const page = pageOf(query);
        const { rows, total } = await listKeys(app.reads, scopeOf(principal), query, page);
        return listOf(rows.map(toSecretResponse), total, page);
      },
      {
        permission: "secret:read",
        query: ListKeysQuery,
        response: { 200: ListSchema(SecretSchema, "SecretList"), ...errorResponses(400, 401, 403) },
        detail: { summary: "API keys of the caller's environment (a service account sees its own)" },
      },
    )
    .get(
      "/:id",
      async ({ principal, params }) => {
        await app.credits.flush();
        return toSecretResponse(await getKey(app.db, scopeOf(principal), params.id));
      },
      {
        permission: "secret:read",
        params: IdParams,
        response: { 200: SecretSchema, ...errorResponses(401, 403, 404) },
        detail: { summary: "One API key (never the key itself)" },
      },
    )
    .delete(
      "/:id",
      async ({ principal, request, server, params, set }) => {
        await revokeKey(app, principal, await auditContextOf(app, { principal, request, server }), params.id);
        set.status = 204;
      },
      {
        permission: "secret:write",
        params: IdParams,
        response: { 204: t.Void(), ...errorResponses(401, 403, 404, 503) },
        detail: { summary: "Revoke an API key; it fails from the very next request" },
      },
    )
    .put(
      "/:id/limits",
      async ({ principal, request, server, params, body }) => {
        const audit = await auditContextOf(app, { principal, request, server });
        await app.credits.flush();
        return toSecretResponse(await setKeyLimits(app, principal, audit, params.id, body));
      },
      {
        permission: "secret:write",
        params: IdParams,
        body: LimitsBody,
        response: { 200: SecretSchema, ...errorResponses(400, 401, 403, 404, 503) },
        detail: {
          summary: "Set a key's rate limits and credits (Tollgate extension)",
          description:
            "A field present replaces that part: `ratelimits` the whole list, `credits` the balance and refill " +
            "(`null` removes them: unlimited). Windows keep their count when a limit changes. A key cannot change its own.",
        },
      },
    )
    .post(
      "/:id/rotate",
      async ({ principal, request, server, params, body, set }) => {
        const audit = await auditContextOf(app, { principal, request, server });
        // The replacement takes over the balance as spent so far.
        await app.credits.flush();
        const created = await rotateKey(app, principal, audit, params.id, body.grace_period_seconds ?? 0);
        set.status = 201;
        return createdKeyResponse(created);
      },
      {
        permission: "secret:write",
        params: IdParams,
        body: RotateKeyBody,
        response: { 201: CreatedKeySchema, ...errorResponses(400, 401, 403, 404, 409, 503) },
        detail: {
          summary: "Replace an API key, keeping the old one valid for a grace period (0 to 7 days)",
          description:
            "The replacement keeps the key's expiry. A key is replaced once: rotating it again is a 409 " +
            "naming its replacement (rotate that one instead). Expired or deleted keys, and keys of " +
            "archived accounts, cannot be rotated (400).",
        },
      },
    );
}
