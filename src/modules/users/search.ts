import type { Static } from "elysia";
import type { PageReader, Paged } from "../../db";
import { type SearchFields, searchClauses } from "../../db/filters";
import { validationError } from "../../http/errors";
import type { Page } from "../../http/pagination";
import type { SearchUsersBody, UserRow } from "./model";

export type SearchUsersInput = Omit<Static<typeof SearchUsersBody>, "limit" | "offset">;

/** The account fields `sort` and `filters` may name, and the column each reads. */
const ACCOUNT_FIELDS: SearchFields = {
  noun: "account",
  fields: {
    created_at: { column: "u.created_at", kind: "date" },
    updated_at: { column: "u.updated_at", kind: "date" },
    name: { column: "u.name", kind: "text", caseless: true },
    email: { column: "u.email", kind: "text", caseless: true },
    type: { column: "u.type", kind: "text" },
    status: { column: "u.status", kind: "text" },
    id: { column: "u.id", kind: "text" },
  },
};

const NO_EXPANSION = "is not supported for accounts: they have no expandable fields (the tenant is always included)";

/**
 * POST /v1/users/search: Flexprice's UserFilter over the tenant's accounts.
 * - `type`, `user_ids`, `roles` (any of them), `status`: exact. `status: "deleted"` matches no
 *   account: accounts are archived, never deleted.
 * - `start_time`/`end_time`, `filters`, `sort`, `order`: see src/db/filters.ts.
 * - `expand`: accounts have nothing to expand (the tenant is always included in full), so
 *   asking for an expansion is refused rather than answered without it.
 */
export async function searchAccounts(
  pages: PageReader,
  tenantId: string,
  filters: SearchUsersInput,
  page: Page,
): Promise<Paged<UserRow>> {
  if (filters.expand !== undefined && filters.expand.trim() !== "") {
    throw validationError(`expand ${NO_EXPANSION}`, { expand: NO_EXPANSION });
  }
  const where = ["u.tenant_id = @tenantId"];
  const params: Record<string, unknown> = { tenantId };
  if (filters.type) {
    where.push("u.type = @type");
    params.type = filters.type;
  }
  if (filters.status) {
    where.push("u.status = @status");
    params.status = filters.status;
  }
  if (filters.user_ids) {
    where.push(pages.dialect.inJsonArray("u.id", "@user_ids"));
    params.user_ids = JSON.stringify(filters.user_ids);
  }
  if (filters.roles) {
    where.push(pages.dialect.jsonArraysOverlap("u.roles", "@roles"));
    params.roles = JSON.stringify(filters.roles);
  }
  const search = searchClauses(pages.dialect, ACCOUNT_FIELDS, filters, params);
  return pages.page<UserRow>(tenantId, {
    select: "u.*",
    from: "users u",
    where: [...where, ...search.where].join(" AND "),
    orderBy: search.orderBy,
    params,
    page,
  });
}
