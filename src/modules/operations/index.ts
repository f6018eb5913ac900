import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";

import { type StoreStatus, storeFailureOf } from "../../db/health";
import { failureOf } from "../../http";
import { ApiError, envelope, serviceUnavailable } from "../../http/errors";
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
      async ({ status }) => {
        let store: StoreStatus;
        try {
          await ctx.db.value("SELECT 1");
          store = ctx.storeHealth.check();
        } catch (error) {
          store = { ok: false, problem: storeFailureOf(error)?.problem ?? "io_error", message: "Store is unavailable" };
        }
        noteStore(ctx, store);
        if (!store.ok) return status(503, unavailable(store));
        return { status: "ok" as const, version: VERSION };
      },
      {
        public: true,
        response: { 200: t.Object({ status: t.Literal("ok"), version: t.String() }), ...errorResponses(503) },
        detail: {
          summary: "Liveness and store health",
          description:
            "503 when the store cannot keep a write: its file deleted or replaced since the start, its folder " +
            "read-only, the disk full, or the last write failed. `details.problem` names which.",
        },
      },
    );
}

/** POST routes that only read: a lost store does not stop them. */
const READ_ONLY_POSTS = new Set([
  "/v1/events/query",
  "/v1/events/usage",
  "/v1/keys/verify",
  // Answered 501 (they need billing): nothing is written.
  "/v1/events/usage/meter",
  "/v1/events/analytics",
  "/v1/events/huggingface-inference",
  "/v1/events/huggingface-billing",
]);

/**
 * Writes whose store files the event writer looks at itself, once per batch right before its
 * commit (events/commit.ts), and answers with the same 503: the guard's check per request would
 * only repeat it, and under ingestion load it was a sixth of the request thread's time.
 */
const FILES_CHECKED_AT_COMMIT = new Set(["/v1/events", "/v1/events/bulk"]);

/** Whether a request to this route writes to the store. */
export function isWriteRequest(method: string, route: string): boolean {
  switch (method) {
    case "GET":
    case "HEAD":
    case "OPTIONS":
      return false;
    case "POST":
      return !(READ_ONLY_POSTS.has(route) || route.endsWith("/search"));
    default:
      return true;
  }
}

function unavailable(store: Extract<StoreStatus, { ok: false }>) {
  return envelope(serviceUnavailable(store.message, { problem: store.problem }));
}

// Per context: what the log last said about the store, so each change is logged once, not per request.
const reported = new WeakMap<AppContext, string>();

/** Logs the store turning unusable (and usable again), once per change. */
function noteStore(ctx: AppContext, store: StoreStatus): void {
  const now = store.ok ? "ok" : store.problem;
  if ((reported.get(ctx) ?? "ok") === now) return;
  reported.set(ctx, now);
  if (store.ok) {
    ctx.logger.info("store usable again", { path: ctx.storeHealth.path });
    return;
  }
  const lost = store.problem === "store_missing" || store.problem === "store_replaced";
  ctx.logger.error("store unusable", {
    problem: store.problem,
    message: store.message,
    path: ctx.storeHealth.path,
    // Until this process exits, the file it still has open can be copied out from here.
    ...(lost && process.platform === "linux" ? { open_files: `/proc/${process.pid}/fd` } : {}),
  });
}

/**
 * Keeps writes from being acknowledged when the store cannot keep them (StoreHealth):
 * - before the handler of a write (after its credential and body checks), a store file deleted
 *   or replaced since the start answers 503 `service_unavailable`: SQLite would write into the
 *   unlinked file without an error, and a restart would lose it;
 * - an SQLite failure that means the same (SQLITE_FULL, SQLITE_IOERR…) is recorded, so /health
 *   says 503 too; the error itself becomes a 503 in toApiError (src/http/index.ts);
 * - a write that went through clears a recorded failure.
 * Registered before the http plugin, so its error hook sees an error before that one answers it.
 */
export function storeGuard(ctx: AppContext) {
  const health = ctx.storeHealth;
  return new Elysia({ name: "store-guard" })
    .onError({ as: "global" }, ({ code, error }) => {
      const lost = lostFilesOf(error);
      if (lost) return noteStore(ctx, lost);
      const failure = storeFailureOf(failureOf(code, error));
      if (!failure) return;
      health.recordFailure(failure.code);
      noteStore(ctx, { ok: false, problem: failure.problem, message: failure.says });
    })
    .onBeforeHandle({ as: "global" }, ({ request, route, set }) => {
      if (!isWriteRequest(request.method, route) || FILES_CHECKED_AT_COMMIT.has(route)) return;
      const files = health.fileProblem();
      if (files.ok) return;
      noteStore(ctx, files);
      // Answered here rather than thrown: a refusal is expected, not an "unhandled error".
      set.status = 503;
      return unavailable(files);
    })
    .onAfterHandle({ as: "global" }, ({ request, route }) => {
      if (isWriteRequest(request.method, route)) health.writeSucceeded();
    });
}

/** The event writer's refusal for lost store files (FILES_CHECKED_AT_COMMIT), as a status. */
function lostFilesOf(error: unknown): Extract<StoreStatus, { ok: false }> | null {
  if (!(error instanceof ApiError) || error.status !== 503) return null;
  const problem = error.details?.problem;
  if (problem !== "store_missing" && problem !== "store_replaced") return null;
  return { ok: false, problem, message: error.message };
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
