import type { AppContext } from "../../context";
import { requestIdOf } from "../../http";
import type { Principal } from "../auth/model";
import type { AuditContext } from "./model";

interface RequestFacts {
  principal: Principal;
  request: Request;
  server: { requestIP(request: Request): { address: string } | null } | null;
}

/** The audit context of a request: the caller, its credential, and where the request came from. */
export async function auditContextOf(
  app: AppContext,
  { principal, request, server }: RequestFacts,
): Promise<AuditContext> {
  const { credential } = principal;
  const isConfigKey = credential.kind === "config_key";
  const name = isConfigKey
    ? credential.name
    : ((await app.profiles.get(app.db, principal.tenantId, principal.userId))?.name ?? null);
  return {
    tenantId: principal.tenantId,
    environmentId: principal.environmentId,
    actor: { type: isConfigKey ? "config_key" : principal.userType, id: principal.userId, name },
    credentialId: credential.id,
    requestId: requestIdOf(request) ?? null,
    ip: server?.requestIP(request)?.address ?? null,
    userAgent: request.headers.get("user-agent"),
  };
}
