import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { notFound } from "../../http/errors";
import { errorResponses } from "../../http/openapi";
import { authPlugin } from "../auth";
import { MeSchema } from "./model";
import { describeMe } from "./service";

export function usersController(ctx: AppContext) {
  return new Elysia({ prefix: "/v1/users", tags: ["Users"] })
    .use(authPlugin(ctx.authenticator))
    .get(
      "/me",
      ({ principal }) => {
        const profile = ctx.profiles.get(ctx.db, principal.tenantId, principal.userId);
        if (!profile) throw notFound("User not found");
        return describeMe(profile, principal);
      },
      {
        auth: "authenticated",
        response: { 200: MeSchema, ...errorResponses(401, 403) },
        detail: { summary: "The calling account, its environment and the credential it used" },
      },
    );
}
