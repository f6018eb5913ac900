import type { Config } from "../../config";
import type { AuditContext } from "../audit/model";
import { AUDIT } from "../audit/actions";
import { recordAudit } from "../audit/service";
import type { PortalTokens } from "../auth/portal-tokens";
import type { Store } from "../../db";
import { portalPageUrl } from "../portal-page/link";
import type { CustomerRow } from "./model";
import { getCustomerByExternalId, scopeOf } from "./read";

export interface PortalSessionDeps {
  db: Store;
  config: Config;
  portalTokens: PortalTokens;
}

/** The portal link: the page (configured, or Tollgate's own) with the token as `token` in its query string. */
function portalUrl(base: string, token: string): string {
  const url = new URL(base);
  url.searchParams.set("token", token);
  return url.toString();
}

/**
 * A customer-portal session for the live customer holding `externalId` in the caller's
 * environment, audited: GET /v1/customers/portal/{external_id}, and the dashboard's Portal
 * link. `listeningPort`: the port links are built on when no public URL is configured.
 * Returns the session as the API answers it, and the customer it is for.
 */
export async function openPortalSession(
  deps: PortalSessionDeps,
  audit: AuditContext,
  externalId: string,
  listeningPort: number | undefined,
): Promise<{ session: { url: string; token: string; expires_at: string }; customer: CustomerRow }> {
  const customer = await getCustomerByExternalId(deps.db, scopeOf(audit), externalId);
  const { token, expiresAt } = await deps.portalTokens.issue({
    tenantId: customer.tenant_id,
    environmentId: customer.environment_id,
    customerId: customer.id,
    externalId: customer.external_id,
  });
  await recordAudit(deps.db, audit, {
    action: AUDIT.customer.portal_session_created,
    resourceId: customer.id,
    after: { external_id: customer.external_id, expires_at: expiresAt },
  });
  const url = portalUrl(portalPageUrl(deps.config, listeningPort), token);
  return { session: { url, token, expires_at: expiresAt }, customer };
}
