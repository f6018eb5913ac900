import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { errorResponses } from "../../http/openapi";
import { ListSchema, listOf, pageOf } from "../../http/pagination";
import { authPlugin } from "../auth";
import { AuditLogQuery, AuditLogSchema } from "./model";
import { listAuditLogs, toAuditLogResponse } from "./service";

export function auditController(app: AppContext) {
  return new Elysia({ prefix: "/v1/audit-logs", tags: ["Audit log"] }).use(authPlugin(app)).get(
    "",
    async ({ principal, query }) => {
      const page = pageOf(query);
      const { limit: _limit, offset: _offset, ...filters } = query;
      const { rows, total } = await listAuditLogs(app.reads, principal, filters, page);
      return listOf(rows.map(toAuditLogResponse), total, page);
    },
    {
      permission: "audit_log:read",
      query: AuditLogQuery,
      response: { 200: ListSchema(AuditLogSchema, "AuditLogList"), ...errorResponses(400, 401, 403) },
      detail: { summary: "Changes in the caller's environment, newest first" },
    },
  );
}
