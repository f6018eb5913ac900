import { Elysia, t } from "elysia";
import { ErrorEnvelopeSchema, needsBilling } from "../../http/errors";
import type { AppContext } from "../../context";
import { errorResponses } from "../../http/openapi";
import { ListSchema, listOf, pageOf, paginationFields } from "../../http/pagination";
import { authPlugin } from "../auth";
import { auditContextOf } from "../audit/context";
import { CreateEnvironmentBody, EnvironmentSchema, UpdateEnvironmentBody } from "./model";
import {
  createEnvironment,
  getEnvironment,
  listEnvironments,
  toEnvironmentResponse,
  updateEnvironment,
} from "./service";

const IdParams = t.Object({ id: t.String() });

export function environmentsController(app: AppContext) {
  return (
    new Elysia({ prefix: "/v1/environments", tags: ["Environments"] })
      .use(authPlugin(app))
      .get(
        "",
        async ({ principal, query }) => {
          const page = pageOf(query);
          const { rows, total } = await listEnvironments(app.reads, principal.tenantId, page);
          return listOf(rows.map(toEnvironmentResponse), total, page);
        },
        {
          permission: "environment:read",
          query: t.Object(paginationFields, { additionalProperties: false }),
          response: { 200: ListSchema(EnvironmentSchema, "EnvironmentList"), ...errorResponses(400, 401, 403) },
          detail: { summary: "The tenant's environments" },
        },
      )
      .get(
        "/:id",
        async ({ principal, params }) =>
          toEnvironmentResponse(await getEnvironment(app.db, principal.tenantId, params.id)),
        {
          permission: "environment:read",
          params: IdParams,
          response: { 200: EnvironmentSchema, ...errorResponses(401, 403, 404) },
          detail: { summary: "One environment" },
        },
      )
      .post(
        "",
        async ({ principal, request, server, body, set }) => {
          set.status = 201;
          return toEnvironmentResponse(
            await createEnvironment(app.db, await auditContextOf(app, { principal, request, server }), body),
          );
        },
        {
          permission: "environment:write",
          body: CreateEnvironmentBody,
          response: { 201: EnvironmentSchema, ...errorResponses(400, 401, 403, 409, 503) },
          detail: { summary: "Create an environment" },
        },
      )
      // Flexprice's clone copies plans, prices and features with the environment: a 501 saying so.
      .post(
        "/:id/clone",
        () => {
          throw needsBilling("Cloning an environment (Flexprice copies its plans, prices and features)");
        },
        {
          permission: "environment:write",
          params: t.Object({ id: t.String() }),
          response: { 501: ErrorEnvelopeSchema, ...errorResponses(401, 403, 503) },
          detail: { summary: "Not served (501): cloning copies billing configuration Tollgate does not keep" },
        },
      )
      .put(
        "/:id",
        async ({ principal, request, server, params, body }) =>
          toEnvironmentResponse(
            await updateEnvironment(app.db, await auditContextOf(app, { principal, request, server }), params.id, body),
          ),
        {
          permission: "environment:write",
          params: IdParams,
          body: UpdateEnvironmentBody,
          response: { 200: EnvironmentSchema, ...errorResponses(400, 401, 403, 404, 409, 503) },
          detail: {
            summary: "Update an environment: name, type (a type never changes)",
            description:
              "`name`, `type` or both. `type` may only repeat the environment's type: a type never changes " +
              "(400 `Environment type cannot be changed`).",
          },
        },
      )
  );
}
