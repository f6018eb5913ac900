import type { Static } from "elysia";
import { type Queries, type PageReader, type Paged } from "../../db";
import { notFound } from "../../http/errors";
import type { Page } from "../../http/pagination";
import type { KeyType, Principal } from "../auth/model";
import { joinedLimits, limitsColumns, limitsJoin, limitsOf } from "../limits/read";
import {
  SECRET_MESSAGES,
  type SecretRow,
  type SecretSchema,
  type SecretStatus,
  type SecretWithOwnerRow,
} from "./model";

export type SecretResponse = Static<typeof SecretSchema>;

/**
 * The status a key shows: a live key of an archived account does not work (SPEC §1: its owner is
 * archived), so it shows `archived`, never `published`. The stored status stays what it was, so
 * the key fails as a key of an archived account (401), not as an inactive key (403).
 */
export function effectiveStatus(row: Pick<SecretWithOwnerRow, "status" | "owner_status">): SecretStatus {
  return row.status === "published" && row.owner_status === "archived" ? "archived" : row.status;
}

/** The same rule in SQL, over `secrets s JOIN users u`. */
const EFFECTIVE_STATUS = "CASE WHEN s.status = 'published' AND u.status = 'archived' THEN 'archived' ELSE s.status END";

export function toSecretResponse(row: SecretWithOwnerRow): SecretResponse {
  const limits = limitsOf(joinedLimits(row));
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    type: row.type,
    provider: row.provider,
    display_id: row.display_id,
    roles: JSON.parse(row.roles),
    user_type: row.owner_type,
    user_id: row.user_id,
    service_account_name: row.owner_type === "service_account" ? row.owner_name : null,
    environment_id: row.environment_id,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    status: effectiveStatus(row),
    created_at: row.created_at,
    updated_at: row.updated_at,
    ratelimits: limits.ratelimits,
    credits: limits.credits,
  };
}

// With the key's own limits (SPEC §14), which every key response carries.
/** What WITH_OWNER adds to a key's own columns: its owner's (`u`) and its limits' (`l`). */
const OWNER_FIELDS = `u.type AS owner_type, u.name AS owner_name, u.status AS owner_status, ${limitsColumns("l")}`;
const OWNER_COLUMNS = `s.*, ${OWNER_FIELDS}`;
const OWNER_JOIN = `secrets s JOIN users u ON u.id = s.user_id ${limitsJoin("l", "s")}`;
export const WITH_OWNER = `SELECT ${OWNER_COLUMNS} FROM ${OWNER_JOIN}`;

/**
 * A key just written, as WITH_OWNER would read it, from the row in hand: its owner and limits
 * are read, the key's own row is not. On PostgreSQL a serializable read of it through the
 * primary key locks the index page every key created meanwhile is written to, and parallel
 * creations then fail each other until their retries run out.
 */
export async function withOwnerOf(db: Queries, secret: SecretRow): Promise<SecretWithOwnerRow> {
  const owner = await db.get(
    `SELECT ${OWNER_FIELDS}
     FROM users u LEFT JOIN limits l
       ON l.tenant_id = @tenant_id AND l.environment_id = @environment_id AND l.owner_id = @id
     WHERE u.id = @user_id`,
    { id: secret.id, tenant_id: secret.tenant_id, environment_id: secret.environment_id, user_id: secret.user_id },
  );
  return { ...secret, ...(owner as object) } as SecretWithOwnerRow;
}

/** Where keys are looked for: one tenant and environment, and one owner's keys only when ownerId is set. */
export interface KeyScope {
  tenantId: string;
  environmentId: string;
  ownerId: string | null;
}

/**
 * Whether the caller sees and manages every key of its environment: a person (or a config key,
 * which acts as one) holding super_admin. Anyone else (a service account, super_admin too; an
 * all_writer or all_reader person) sees and revokes only its own, as the Flexprice API has it.
 */
export function managesAllKeys(principal: Principal): boolean {
  return principal.userType === "user" && principal.credential.roles.includes("super_admin");
}

/** Where a caller may see keys: its tenant and environment, and only its own keys unless it manages all. */
export function scopeOf(principal: Principal): KeyScope {
  return {
    tenantId: principal.tenantId,
    environmentId: principal.environmentId,
    ownerId: managesAllKeys(principal) ? null : principal.userId,
  };
}

const SCOPE_CLAUSE =
  "s.tenant_id = @tenantId AND s.environment_id = @environmentId AND (CAST(@ownerId AS TEXT) IS NULL OR s.user_id = @ownerId)";

export async function getKey(db: Queries, scope: KeyScope, id: string): Promise<SecretWithOwnerRow> {
  const row = (await db.get(`${WITH_OWNER} WHERE s.id = @id AND ${SCOPE_CLAUSE}`, { id, ...scope })) as
    SecretWithOwnerRow | undefined;
  if (!row) throw notFound(SECRET_MESSAGES.notFound);
  return row;
}

/** What a list of keys may be narrowed by. `search`: the dashboard's search box (no Flexprice field). */
export interface KeyFilters {
  type?: KeyType;
  status?: SecretStatus;
  /** Part of the key's name (any letter case) or of its display id (`sk_test_3f9a`, `c0de`). */
  search?: string;
}

/**
 * The keys of a scope with one status as it shows (default: published), newest first. The rows
 * carry that shown status, so every listing (API, CLI) says the same.
 */
export async function listKeys(
  pages: PageReader,
  scope: KeyScope,
  filters: KeyFilters,
  page: Page,
): Promise<Paged<SecretWithOwnerRow>> {
  const search = filters.search?.trim().toLowerCase() || null;
  const params = {
    ...scope,
    type: filters.type ?? null,
    status: filters.status ?? "published",
    search,
  };
  const searched =
    search === null
      ? ""
      : ` AND (${pages.dialect.containsText("s.name", "@search")} OR ${pages.dialect.containsText("s.display_id", "@search")})`;
  const { rows, total } = await pages.page<SecretWithOwnerRow>(scope.tenantId, {
    select: OWNER_COLUMNS,
    from: OWNER_JOIN,
    where: `${SCOPE_CLAUSE} AND ${EFFECTIVE_STATUS} = @status AND (CAST(@type AS TEXT) IS NULL OR s.type = @type)${searched}`,
    orderBy: "s.created_at DESC, s.id DESC",
    params,
    page,
  });
  return { rows: rows.map((row) => ({ ...row, status: effectiveStatus(row) })), total };
}

/** A key as another key's row names it: the one that replaced it, or the one it replaced. */
export interface LinkedKey {
  id: string;
  name: string;
  display_id: string;
}

/**
 * The rotation links of these keys, in one query: for each key, the key that replaced it
 * (`replaced_by`) and the key it replaced, so a list tells an old key from its replacement,
 * which has the same name. Only keys of the scope are named.
 */
export async function rotationLinks(
  db: Queries,
  scope: KeyScope,
  keys: Pick<SecretRow, "id" | "replaced_by">[],
): Promise<{ replacedBy: Map<string, LinkedKey>; replaces: Map<string, LinkedKey> }> {
  const ids = keys.map((key) => key.id);
  const successors = keys.flatMap((key) => (key.replaced_by === null ? [] : [key.replaced_by]));
  const linked = (await db.all(
    `SELECT s.id, s.name, s.display_id, s.replaced_by FROM secrets s
     WHERE ${SCOPE_CLAUSE}
       AND (${db.dialect.inJsonArray("s.id", "@successors")} OR ${db.dialect.inJsonArray("s.replaced_by", "@ids")})`,
    { ...scope, successors: JSON.stringify(successors), ids: JSON.stringify(ids) },
  )) as (LinkedKey & {
    replaced_by: string | null;
  })[];
  const byId = new Map(linked.map((row) => [row.id, row]));
  const replacedBy = new Map<string, LinkedKey>();
  const replaces = new Map<string, LinkedKey>();
  for (const key of keys) {
    const successor = key.replaced_by === null ? undefined : byId.get(key.replaced_by);
    if (successor) replacedBy.set(key.id, { id: successor.id, name: successor.name, display_id: successor.display_id });
  }
  for (const row of linked) {
    if (row.replaced_by !== null && ids.includes(row.replaced_by)) {
      replaces.set(row.replaced_by, { id: row.id, name: row.name, display_id: row.display_id });
    }
  }
  return { replacedBy, replaces };
}

/**
 * How many keys each of these accounts has that show as published, in one query: the
 * dashboard's service-account table, which counted them with one listKeys per row.
 */
export async function liveKeyCounts(
  db: Queries,
  scope: Omit<KeyScope, "ownerId">,
  ownerIds: string[],
): Promise<Map<string, number>> {
  const rows = (await db.all(
    `SELECT s.user_id AS owner, count(*) AS count FROM ${OWNER_JOIN}
     WHERE ${SCOPE_CLAUSE} AND ${EFFECTIVE_STATUS} = 'published' AND ${db.dialect.inJsonArray("s.user_id", "@owners")}
     GROUP BY s.user_id`,
    { ...scope, ownerId: null, owners: JSON.stringify(ownerIds) },
  )) as { owner: string; count: number }[];
  return new Map(rows.map((row) => [row.owner, row.count]));
}
