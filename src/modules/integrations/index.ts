import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { errorResponses } from "../../http/openapi";
import { authPlugin } from "../auth";
import type { Principal } from "../auth/model";
import { auditContextOf } from "../audit/context";
import {
  CreateIntegrationBody,
  IdParams,
  IntegrationSecretSchema,
  LinkedIntegrationsSchema,
  ProviderParams,
} from "./model";
import {
  type IntegrationWriteDeps,
  deleteIntegration,
  getIntegration,
  linkedProviders,
  saveIntegration,
} from "./service";

const scopeOf = (principal: Principal) => ({ tenantId: principal.tenantId, environmentId: principal.environmentId });

/** The official SDK's `integrations` group (SPEC §12): a provider's credentials, sealed at rest. */
export function integrationsController(app: AppContext) {
  const deps: IntegrationWriteDeps = {
    db: app.db,
    box: app.integrationSecrets,
    logger: app.logger,
    signing: app.signingSecrets,
  };
  return new Elysia({ prefix: "/v1/secrets/integrations", tags: ["Integrations"] })
    .use(authPlugin(app))
    .post(
      "/create/:provider",
      async ({ principal, request, server, params, body, set }) => {
        const ctx = await auditContextOf(app, { principal, request, server });
        const saved = await saveIntegration(deps, ctx, scopeOf(principal), params.provider, body);
        set.status = 201;
        return saved;
      },
      {
        permission: "integration:write",
        params: ProviderParams,
        body: CreateIntegrationBody,
        response: { 201: IntegrationSecretSchema, ...errorResponses(400, 401, 403, 500, 503) },
        detail: {
          summary: "Store a provider's credentials in this environment (replacing any there)",
          description:
            "One secret per provider per environment: sending again replaces the credentials (same id). " +
            "Credentials are encrypted at rest (AES-256-GCM) and shown masked to their last 4 characters. " +
            "Needs secrets.encryption_key (TOLLGATE_SECRETS_ENCRYPTION_KEY); without it, 400.",
        },
      },
    )
    .get(
      "/by-provider/:provider",
      ({ principal, params }) => getIntegration(deps, scopeOf(principal), params.provider),
      {
        permission: "integration:read",
        params: ProviderParams,
        response: { 200: IntegrationSecretSchema, ...errorResponses(400, 401, 403, 404, 500) },
        detail: { summary: "A provider's secret in this environment, credentials masked" },
      },
    )
    .get("/linked", ({ principal }) => linkedProviders(deps, scopeOf(principal)), {
      permission: "integration:read",
      response: { 200: LinkedIntegrationsSchema, ...errorResponses(400, 401, 403) },
      detail: { summary: "The providers with a secret in this environment" },
    })
    .delete(
      "/:id",
      async ({ principal, request, server, params, set }) => {
        await deleteIntegration(
          deps,
          await auditContextOf(app, { principal, request, server }),
          scopeOf(principal),
          params.id,
        );
        set.status = 204;
      },
      {
        permission: "integration:write",
        params: IdParams,
        response: { 204: t.Void(), ...errorResponses(400, 401, 403, 404, 503) },
        detail: { summary: "Delete an integration secret; its credentials are gone from the store" },
      },
    );
}
