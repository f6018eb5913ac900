import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { notFound } from "../../http/errors";
import { errorResponses } from "../../http/openapi";
import { authPlugin } from "../auth";
import { RoleSchema } from "./model";

export function rbacController(app: AppContext) {
  return new Elysia({ prefix: "/v1/rbac/roles", tags: ["RBAC"] })
    .use(authPlugin(app))
    .get("", ({ query }) => ({ items: app.roles.list(query.user_type) }), {
      authenticated: true,
      query: t.Object(
        {
          user_type: t.Optional(
            t.Union([t.Literal("user"), t.Literal("service_account")], {
              error: "User type must be 'user' or 'service_account'",
              description: "Only the roles an account of this type may be given",
            }),
          ),
        },
        { additionalProperties: false },
      ),
      response: { 200: t.Object({ items: t.Array(RoleSchema) }, { title: "RoleList" }), ...errorResponses(401, 403) },
      detail: { summary: "The roles accounts can hold, with their permissions; ?user_type= narrows them to one kind" },
    })
    .get(
      "/:id",
      ({ params }) => {
        const role = app.roles.find(params.id);
        if (!role) throw notFound("Role not found");
        return role;
      },
      {
        authenticated: true,
        params: t.Object({ id: t.String() }),
        response: { 200: RoleSchema, ...errorResponses(401, 403, 404) },
        detail: { summary: "One role" },
      },
    );
}
