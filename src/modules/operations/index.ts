import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { sqlPluck } from "../../db";
import { ApiError } from "../../http/errors";
import { errorResponses } from "../../http/openapi";
import { VERSION } from "../../version";
import { authPlugin } from "../auth";

/** Where a browser pointed at the bare address lands: the API documentation. */
export const HOME_REDIRECT = "/swagger";

export function healthController(ctx: AppContext) {
  return new Elysia({ tags: ["Operations"] })
    .use(authPlugin(ctx))
    .get("/", ({ redirect }) => redirect(HOME_REDIRECT, 302), {
      public: true,
      detail: { summary: "Redirects to the API documentation", hide: true },
    })
    .get(
      "/health",
      () => {
        try {
          sqlPluck(ctx.db, "SELECT 1").get();
        } catch {
          throw new ApiError(503, "service_unavailable", "Store is unavailable");
        }
        return { status: "ok" as const, version: VERSION };
      },
      {
        public: true,
        response: { 200: t.Object({ status: t.Literal("ok"), version: t.String() }), ...errorResponses(503) },
        detail: { summary: "Liveness and store health" },
      },
    );
}

/** GET /metrics in the Prometheus text format, registered only when metrics.enabled is on. */
export function metricsController(ctx: AppContext) {
  const { metrics } = ctx;
  const controller = new Elysia({ tags: ["Operations"] }).use(authPlugin(ctx));
  if (!metrics) return controller;
  return controller.get(
    "/metrics",
    async ({ set }) => {
      set.headers["content-type"] = metrics.contentType;
      return metrics.render();
    },
    {
      public: true,
      response: { 200: t.String(), ...errorResponses(500) },
      detail: { summary: "Prometheus metrics: requests, durations, auth outcomes, key cache, events" },
    },
  );
}
