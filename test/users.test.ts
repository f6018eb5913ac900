import { describe, expect, test } from "bun:test";
import { sha256Hex } from "../src/modules/auth/hash";
import {
  createHarness,
  createTwoTenantHarness,
  DEFAULT_TENANT,
  DEV_KEY,
  errorOf,
  type Harness,
  OTHER_TENANT_KEY,
  OTHER_TENANT_USER,
  OWN_EVICTIONS_ONLY,
} from "./support/harness";
import { environmentOf } from "./support/keys";

// SPEC.md §4 (users and service accounts), with the §0 conventions and the §2 access rules.

const USERS = "/v1/users";
const ID = /^usr_[0-9A-HJKMNP-TV-Z]{26}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const IMMUTABLE = "Roles and type are immutable; create a new service account instead";
/** The development key's tenant, in full, as every account response shows it (issue 10). */
const DEFAULT_TENANT_RESPONSE = {
  id: DEFAULT_TENANT,
  name: "Default Tenant",
  status: "published",
  billing_details: null,
  metadata: {},
  created_at: expect.stringMatching(TIMESTAMP),
  updated_at: expect.stringMatching(TIMESTAMP),
};

async function createServiceAccount(h: Harness, roles: string[], name = "Worker", key: string | null = DEV_KEY) {
  const res = await h.call("POST", USERS, { key, body: { type: "service_account", name, roles } });
  expect(res.status).toBe(201);
  return res.body;
}

async function inviteUser(h: Harness, email: string, name = "Invited") {
  const res = await h.call("POST", USERS, { body: { type: "user", name, email } });
  expect(res.status).toBe(201);
  return res.body as Record<string, any> & { id: string; set_password_url: string };
}

/** A stored key for a service account, minted through the API with the development key. */
async function keyFor(h: Harness, serviceAccountId: string): Promise<string> {
  const res = await h.call("POST", "/v1/secrets/api/keys", {
    body: { name: "sa key", service_account_id: serviceAccountId },
  });
  expect(res.status).toBe(201);
  return res.body.api_key;
}

async function serviceAccountKey(h: Harness, roles: string[]) {
  const account = await createServiceAccount(h, roles);
  return { account, key: await keyFor(h, account.id) };
}

async function publishableKey(h: Harness): Promise<string> {
  const res = await h.call("POST", "/v1/secrets/api/keys", { body: { name: "pk", type: "publishable_key" } });
  expect(res.status).toBe(201);
  expect(res.body.api_key).toMatch(/^pk_test_/);
  return res.body.api_key;
}

type Row = Record<string, unknown>;

async function userRow(h: Harness, id: string): Promise<Row> {
  const row = (await h.context.db.get("SELECT * FROM users WHERE id = ?", id)) as Row | undefined;
  if (!row) throw new Error(`no users row ${id}`);
  return row;
}

async function accountCount(h: Harness): Promise<number> {
  return ((await h.context.db.get("SELECT count(*) AS n FROM users")) as { n: number }).n;
}

async function getAccount(h: Harness, id: string) {
  const res = await h.call("GET", `${USERS}/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

describe("POST /v1/users: the validation table (SPEC §4)", () => {
  const cases: { name: string; body: unknown; message: string }[] = [
    {
      name: "type missing",
      body: { name: "x", roles: ["event_reader"] },
      message: "Type must be 'user' or 'service_account'",
    },
    {
      name: "type not user|service_account",
      body: { type: "admin", name: "x" },
      message: "Type must be 'user' or 'service_account'",
    },
    {
      name: "type of the wrong JSON type",
      body: { type: 5, name: "x" },
      message: "Type must be 'user' or 'service_account'",
    },
    {
      name: "service account without roles",
      body: { type: "service_account", name: "x" },
      message: "Service accounts must have at least one role assigned",
    },
    {
      name: "service account with roles []",
      body: { type: "service_account", name: "x", roles: [] },
      message: "Service accounts must have at least one role assigned",
    },
    {
      name: "a role that does not exist",
      body: { type: "service_account", name: "x", roles: ["custom_role"] },
      message: "Invalid role: custom_role",
    },
    {
      name: "an unknown role next to a real one",
      body: { type: "service_account", name: "x", roles: ["event_reader", "custom_role"] },
      message: "Invalid role: custom_role",
    },
    {
      name: "service account with an email",
      body: { type: "service_account", name: "x", roles: ["event_reader"], email: "sa@example.com" },
      message: "Service accounts cannot have an email",
    },
    { name: "user without email", body: { type: "user", name: "x" }, message: "Email is required for user accounts" },
    {
      name: "user with an invalid email",
      body: { type: "user", name: "x", email: "not-an-email" },
      message: "Email is required for user accounts",
    },
    {
      name: "user with an empty email",
      body: { type: "user", name: "x", email: "" },
      message: "Email is required for user accounts",
    },
    {
      name: "user with a service account's role",
      body: { type: "user", name: "x", email: "roles@example.com", roles: ["event_reader"] },
      message: "Role 'event_reader' cannot be assigned to a user account",
    },
    {
      name: "user with two roles",
      body: { type: "user", name: "x", email: "roles@example.com", roles: ["all_reader", "all_writer"] },
      message: "A user account holds exactly one role: super_admin, all_writer or all_reader",
    },
    {
      name: "service account with a person's role",
      body: { type: "service_account", name: "x", roles: ["all_reader"] },
      message: "Role 'all_reader' cannot be assigned to a service account",
    },
  ];

  for (const c of cases) {
    test(`${c.name}: 400 ${c.message}`, async () => {
      const h = await createHarness();
      const before = await accountCount(h);
      const res = await h.call("POST", USERS, { body: c.body });
      expect(res.status).toBe(400);
      const error = errorOf(res);
      expect(error.message).toBe(c.message);
      expect(error.internal_error).toBe("validation_error");
      expect(await accountCount(h)).toBe(before);
    });
  }

  test("type user by a caller that is not a user account: 403 Only user accounts can invite users", async () => {
    const h = await createHarness();
    const { key } = await serviceAccountKey(h, ["super_admin"]);
    const before = await accountCount(h);
    const res = await h.call("POST", USERS, { key, body: { type: "user", name: "Eve", email: "eve@example.com" } });
    expect(res.status).toBe(403);
    expect(errorOf(res)).toEqual({
      message: "Only user accounts can invite users",
      internal_error: "permission_denied",
    });
    expect(await accountCount(h)).toBe(before);
    expect(await h.context.db.get("SELECT 1 FROM users WHERE email = ?", "eve@example.com")).toBeUndefined();
    // The same key may still create service accounts: the refusal is about the type, not the permission.
    const sa = await h.call("POST", USERS, {
      key,
      body: { type: "service_account", name: "child", roles: ["event_reader"] },
    });
    expect(sa.status).toBe(201);
  });

  test("unknown body fields: 400 and nothing created", async () => {
    const h = await createHarness();
    const before = await accountCount(h);
    const res = await h.call("POST", USERS, {
      body: { type: "service_account", name: "x", roles: ["event_reader"], is_admin: true },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res).internal_error).toBe("validation_error");
    expect(await accountCount(h)).toBe(before);
  });
});

describe("POST /v1/users: created accounts", () => {
  test("a service account: 201 with exactly the documented shape, plus its (empty) limits (SPEC §14)", async () => {
    const h = await createHarness();
    const res = await h.call("POST", USERS, {
      body: { type: "service_account", name: "Event Ingestion Worker", roles: ["event_ingestor"] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(ID),
      type: "service_account",
      name: "Event Ingestion Worker",
      email: null,
      roles: ["event_ingestor"],
      metadata: {},
      status: "published",
      tenant: DEFAULT_TENANT_RESPONSE,
      created_at: expect.stringMatching(TIMESTAMP),
      updated_at: expect.stringMatching(TIMESTAMP),
      ratelimits: [],
      credits: null,
    });
    expect(res.body).not.toHaveProperty("password");
    expect(await getAccount(h, res.body.id)).toEqual(res.body);
  });

  // SPEC §10 supersedes §4's one-time password: an invite carries a one-time set-password link.
  test("an invited user gets a one-time set-password link, shown in the create response only", async () => {
    const h = await createHarness();
    const created = await inviteUser(h, "alice@example.com", "Alice");
    const { set_password_url, set_password_expires_at, ...account } = created;
    expect(account).toEqual({
      id: expect.stringMatching(ID),
      type: "user",
      name: "Alice",
      email: "alice@example.com",
      roles: ["super_admin"],
      metadata: {},
      status: "published",
      tenant: DEFAULT_TENANT_RESPONSE,
      created_at: expect.stringMatching(TIMESTAMP),
      updated_at: expect.stringMatching(TIMESTAMP),
    });
    expect(created).not.toHaveProperty("password");
    expect(set_password_url).toMatch(/^http:\/\/127\.0\.0\.1:8080\/dashboard\/set-password\?token=tgp_[0-9a-f]{64}$/);
    expect(set_password_expires_at).toMatch(TIMESTAMP);
    const token = new URL(set_password_url).searchParams.get("token") as string;

    const fetched = await h.call("GET", `${USERS}/${account.id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(account);
    expect(fetched.text).not.toContain(token);

    const search = await h.call("POST", `${USERS}/search`, { body: { user_ids: [account.id] } });
    expect(search.status).toBe(200);
    expect(search.body.items).toEqual([account]);
    expect(search.text).not.toContain(token);

    const audit = await h.call("GET", "/v1/audit-logs");
    expect(audit.status).toBe(200);
    expect(audit.body.items.some((row: any) => row.resource_id === account.id)).toBe(true);
    expect(audit.text).not.toContain(token);
    expect(JSON.stringify(h.logs)).not.toContain(token);
  });

  test("an invited user has no password until the link is used; its link is stored as a hash only", async () => {
    const h = await createHarness();
    const { id, set_password_url } = await inviteUser(h, "bob@example.com");
    expect((await userRow(h, id)).password_hash).toBeNull();
    const token = new URL(set_password_url).searchParams.get("token") as string;
    const stored = JSON.stringify(await h.context.db.all("SELECT * FROM password_tokens WHERE user_id = ?", id));
    expect(stored).toContain(sha256Hex(token));
    expect(stored).not.toContain(token);
    // Two invitations never share a link.
    const other = await inviteUser(h, "carol@example.com");
    expect(other.set_password_url).not.toBe(set_password_url);
  });

  test("a duplicate email: 409 already_exists, in any letter case, and nothing created", async () => {
    const h = await createHarness();
    await inviteUser(h, "dana@example.com");
    const before = await accountCount(h);
    for (const email of ["dana@example.com", "Dana@Example.COM"]) {
      const res = await h.call("POST", USERS, { body: { type: "user", name: "Dana again", email } });
      expect(res.status).toBe(409);
      expect(errorOf(res).internal_error).toBe("already_exists");
    }
    expect(await accountCount(h)).toBe(before);
  });
});

describe("GET /v1/users/{id}", () => {
  test("returns the account; an archived one too, with its status", async () => {
    const h = await createHarness();
    const sa = await createServiceAccount(h, ["event_reader"]);
    expect(await getAccount(h, sa.id)).toEqual(sa);
    expect((await h.call("DELETE", `${USERS}/${sa.id}`)).status).toBe(204);
    const archived = await getAccount(h, sa.id);
    expect(archived.status).toBe("archived");
    expect({ ...archived, status: sa.status, updated_at: sa.updated_at }).toEqual(sa);
  });

  test("an unknown id: 404 not_found", async () => {
    const h = await createHarness();
    const res = await h.call("GET", `${USERS}/usr_01HZZZZZZZZZZZZZZZZZZZZZZZ`);
    expect(res.status).toBe(404);
    expect(errorOf(res).internal_error).toBe("not_found");
  });

  test("an account of another tenant: 404, never revealed", async () => {
    const otherKey = OTHER_TENANT_KEY;
    const h = await createTwoTenantHarness();
    const sa = await createServiceAccount(h, ["event_reader"]);
    const res = await h.call("GET", `${USERS}/${sa.id}`, { key: otherKey });
    expect(res.status).toBe(404);
    expect(errorOf(res).internal_error).toBe("not_found");
    const search = await h.call("POST", `${USERS}/search`, { key: otherKey, body: {} });
    expect(search.body.items.map((u: any) => u.id)).toEqual([OTHER_TENANT_USER]);
    const rename = await h.call("PUT", `${USERS}/${sa.id}`, { key: otherKey, body: { name: "stolen" } });
    expect(rename.status).toBe(404);
    const remove = await h.call("DELETE", `${USERS}/${sa.id}`, { key: otherKey });
    expect(remove.status).toBe(404);
    expect(await getAccount(h, sa.id)).toEqual(sa);
  });
});

describe("PUT /v1/users/{id}", () => {
  test("changes the name and nothing else", async () => {
    const h = await createHarness();
    const sa = await createServiceAccount(h, ["event_ingestor", "event_reader"], "Old name");
    const rowBefore = await userRow(h, sa.id);
    const res = await h.call("PUT", `${USERS}/${sa.id}`, { body: { name: "New name" } });
    expect(res.status).toBe(200);
    const { name, updated_at, ...rest } = res.body;
    expect(name).toBe("New name");
    const { name: _n, updated_at: beforeUpdatedAt, ...restBefore } = sa;
    expect(rest).toEqual(restBefore);
    expect(updated_at >= beforeUpdatedAt).toBe(true);
    expect(await getAccount(h, sa.id)).toEqual(res.body);

    const rowAfter = await userRow(h, sa.id);
    expect<Row>({ ...rowAfter, name: rowBefore.name, updated_at: rowBefore.updated_at }).toEqual(rowBefore);
  });

  test("renaming an invited user keeps its email, password hash and roles", async () => {
    const h = await createHarness();
    const user = await inviteUser(h, "Erin.B@Example.com", "Erin");
    const rowBefore = await userRow(h, user.id);
    const res = await h.call("PUT", `${USERS}/${user.id}`, { body: { name: "Erin B." } });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe("Erin B.");
    expect(res.body).not.toHaveProperty("password");
    const rowAfter = await userRow(h, user.id);
    expect<Row>({ ...rowAfter, name: rowBefore.name, updated_at: rowBefore.updated_at }).toEqual(rowBefore);
  });

  for (const extra of [{ roles: ["super_admin"] }, { type: "user" }, { roles: [] }, { type: "service_account" }]) {
    test(`a body with ${JSON.stringify(extra)}: 400 ${IMMUTABLE}, nothing changed`, async () => {
      const h = await createHarness();
      const sa = await createServiceAccount(h, ["event_reader"], "Keep me");
      const rowBefore = await userRow(h, sa.id);
      for (const body of [extra, { name: "Renamed", ...extra }]) {
        const res = await h.call("PUT", `${USERS}/${sa.id}`, { body });
        expect(res.status).toBe(400);
        const error = errorOf(res);
        expect(error.message).toBe(IMMUTABLE);
        expect(error.internal_error).toBe("validation_error");
      }
      expect(await userRow(h, sa.id)).toEqual(rowBefore);
      expect(await getAccount(h, sa.id)).toEqual(sa);
    });
  }

  test("an archived account: 400 invalid_operation, nothing changed", async () => {
    const h = await createHarness();
    const sa = await createServiceAccount(h, ["event_reader"], "Archived one");
    expect((await h.call("DELETE", `${USERS}/${sa.id}`)).status).toBe(204);
    const archived = await getAccount(h, sa.id);
    const res = await h.call("PUT", `${USERS}/${sa.id}`, { body: { name: "Revived" } });
    expect(res.status).toBe(400);
    expect(errorOf(res).internal_error).toBe("invalid_operation");
    expect(await getAccount(h, sa.id)).toEqual(archived);
  });

  test("unknown body fields: 400, nothing changed", async () => {
    const h = await createHarness();
    const sa = await createServiceAccount(h, ["event_reader"], "Strict");
    for (const body of [
      { name: "Other", email: "x@example.com" },
      { name: "Other", status: "archived" },
      { nickname: "x" },
    ]) {
      const res = await h.call("PUT", `${USERS}/${sa.id}`, { body });
      expect(res.status).toBe(400);
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
    expect(await getAccount(h, sa.id)).toEqual(sa);
  });

  test("an empty or blank name: 400, nothing changed", async () => {
    const h = await createHarness();
    const sa = await createServiceAccount(h, ["event_reader"], "Named");
    for (const body of [{ name: "" }, { name: "   " }, { name: 42 }]) {
      const res = await h.call("PUT", `${USERS}/${sa.id}`, { body });
      expect(res.status).toBe(400);
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
    expect(await getAccount(h, sa.id)).toEqual(sa);
  });

  test("an unknown id: 404", async () => {
    const h = await createHarness();
    const res = await h.call("PUT", `${USERS}/usr_01HZZZZZZZZZZZZZZZZZZZZZZZ`, { body: { name: "x" } });
    expect(res.status).toBe(404);
    expect(errorOf(res).internal_error).toBe("not_found");
  });
});

describe("DELETE /v1/users/{id}", () => {
  test("204; the account is archived and its keys fail on the very next request", async () => {
    // Only the archive's own eviction can drop the cached keys (see OWN_EVICTIONS_ONLY).
    const h = await createHarness({}, OWN_EVICTIONS_ONLY);
    const { account, key } = await serviceAccountKey(h, ["event_ingestor"]);
    const secondKey = await keyFor(h, account.id);
    // Both keys are verified (and cached) before the delete.
    expect((await h.call("GET", `${USERS}/me`, { key })).status).toBe(200);
    expect((await h.call("GET", `${USERS}/me`, { key: secondKey })).status).toBe(200);

    const res = await h.call("DELETE", `${USERS}/${account.id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe("");

    for (const k of [key, secondKey]) {
      const refused = await h.call("GET", `${USERS}/me`, { key: k });
      expect(refused.status).toBe(401);
      expect(errorOf(refused)).toEqual({ message: "Invalid API key", internal_error: "permission_denied" });
    }
    expect((await getAccount(h, account.id)).status).toBe("archived");
    const listed = await h.call("POST", `${USERS}/search`, { body: { status: "archived" } });
    expect(listed.body.items.map((u: any) => u.id)).toEqual([account.id]);
  });

  test("deleting yourself: 400 invalid_operation, even when another user account exists", async () => {
    const h = await createHarness();
    await inviteUser(h, "second@example.com");
    const res = await h.call("DELETE", `${USERS}/${DEFAULT_TENANT}`);
    expect(res.status).toBe(400);
    expect(errorOf(res)).toEqual({
      message: "You cannot delete your own account",
      internal_error: "invalid_operation",
    });
    expect((await getAccount(h, DEFAULT_TENANT)).status).toBe("published");
    expect((await h.call("GET", `${USERS}/me`)).status).toBe(200);
  });

  test("deleting the last user account of the tenant: refused", async () => {
    const h = await createHarness();
    const invited = await inviteUser(h, "temp@example.com");
    // With two user accounts, one of them may go.
    expect((await h.call("DELETE", `${USERS}/${invited.id}`)).status).toBe(204);
    // Now the default user is the last one; a super_admin service account tries to delete it.
    // Only user accounts manage user accounts (issue 9, item 17), so it is refused before the
    // last-account rule is reached; a user account cannot delete itself (above). The rule
    // "A tenant must keep at least one user account" stays in the service as a backstop.
    const { key } = await serviceAccountKey(h, ["super_admin"]);
    const res = await h.call("DELETE", `${USERS}/${DEFAULT_TENANT}`, { key });
    expect(res.status).toBe(403);
    expect(errorOf(res)).toEqual({
      message: "Only user accounts can manage user accounts",
      internal_error: "permission_denied",
    });
    expect((await getAccount(h, DEFAULT_TENANT)).status).toBe("published");
    expect((await h.call("GET", `${USERS}/me`)).status).toBe(200);
  });

  test("an account a config key acts as: 400, it stays, and the key keeps working", async () => {
    const opsKey = "second-operator-key";
    const h = await createHarness({
      auth: {
        api_key: {
          keys: {
            [sha256Hex(DEV_KEY)]: { tenant_id: DEFAULT_TENANT, user_id: DEFAULT_TENANT, name: "dev", is_active: true },
            [sha256Hex(opsKey)]: { tenant_id: DEFAULT_TENANT, user_id: "ops-user", name: "ops", is_active: true },
          },
        },
      },
    });
    const res = await h.call("DELETE", `${USERS}/${DEFAULT_TENANT}`, { key: opsKey });
    expect(res.status).toBe(400);
    expect(errorOf(res)).toEqual({
      message: "A config key acts as this account; remove the key from the config first",
      internal_error: "invalid_operation",
    });
    expect((await getAccount(h, DEFAULT_TENANT)).status).toBe("published");
    expect((await h.call("GET", `${USERS}/me`)).body.status).toBe("published");
  });

  test("an unknown id: 404 not_found", async () => {
    const h = await createHarness();
    const before = await accountCount(h);
    const res = await h.call("DELETE", `${USERS}/usr_01HZZZZZZZZZZZZZZZZZZZZZZZ`);
    expect(res.status).toBe(404);
    expect(errorOf(res).internal_error).toBe("not_found");
    expect(await accountCount(h)).toBe(before);
  });
});

describe("POST /v1/users/search", () => {
  /** default user (user), an invited user, three service accounts, one of them archived. */
  async function fixture() {
    const h = await createHarness();
    const invited = await inviteUser(h, "finn@example.com");
    const ingestor = await createServiceAccount(h, ["event_ingestor"], "Ingestor");
    const reader = await createServiceAccount(h, ["event_reader"], "Reader");
    const both = await createServiceAccount(h, ["event_ingestor", "event_reader"], "Both");
    expect((await h.call("DELETE", `${USERS}/${both.id}`)).status).toBe(204);
    const search = async (body: unknown) => {
      const res = await h.call("POST", `${USERS}/search`, { body });
      expect(res.status).toBe(200);
      return res.body as { items: any[]; pagination: { total: number; limit: number; offset: number } };
    };
    const ids = (items: any[]) => items.map((u) => u.id).sort();
    return { h, search, ids, invited, ingestor, reader, both };
  }

  test("no filter: every account of the tenant, with the list envelope and default paging", async () => {
    const { search, ids, invited, ingestor, reader, both } = await fixture();
    const page = await search({});
    expect(Object.keys(page).sort()).toEqual(["items", "pagination"]);
    expect(page.pagination).toEqual({ total: 5, limit: 50, offset: 0 });
    expect(ids(page.items)).toEqual([DEFAULT_TENANT, invited.id, ingestor.id, reader.id, both.id].sort());
    for (const item of page.items) expect(item).not.toHaveProperty("password");
  });

  test("filters by type, user_ids, roles and status, alone and together", async () => {
    const { search, ids, invited, ingestor, reader, both } = await fixture();
    const sas = await search({ type: "service_account" });
    expect(ids(sas.items)).toEqual([ingestor.id, reader.id, both.id].sort());
    expect(sas.pagination.total).toBe(3);
    expect(ids((await search({ type: "user" })).items)).toEqual([DEFAULT_TENANT, invited.id].sort());
    expect(ids((await search({ user_ids: [reader.id, invited.id] })).items)).toEqual([reader.id, invited.id].sort());
    expect((await search({ user_ids: ["usr_01HZZZZZZZZZZZZZZZZZZZZZZZ"] })).items).toEqual([]);
    expect(ids((await search({ roles: ["event_reader"] })).items)).toEqual([reader.id, both.id].sort());
    expect(ids((await search({ roles: ["event_ingestor"] })).items)).toEqual([ingestor.id, both.id].sort());
    const archived = await search({ status: "archived" });
    expect(ids(archived.items)).toEqual([both.id]);
    expect(archived.items[0].status).toBe("archived");
    expect((await search({ status: "published" })).pagination.total).toBe(4);
    const combined = await search({ type: "service_account", status: "published", roles: ["event_reader"] });
    expect(ids(combined.items)).toEqual([reader.id]);
    expect(combined.pagination.total).toBe(1);
  });

  test("limit and offset page through the results without overlap", async () => {
    const { search, ids } = await fixture();
    const all = ids((await search({})).items);
    const seen: string[] = [];
    for (const offset of [0, 2, 4]) {
      const page = await search({ limit: 2, offset });
      expect(page.pagination).toEqual({ total: 5, limit: 2, offset });
      expect(page.items.length).toBe(offset === 4 ? 1 : 2);
      seen.push(...page.items.map((u) => u.id));
    }
    expect(seen.sort()).toEqual(all);
    const beyond = await search({ limit: 2, offset: 10 });
    expect(beyond).toEqual({ items: [], pagination: { total: 5, limit: 2, offset: 10 } });
    expect((await search({ limit: 1000 })).pagination.limit).toBe(1000);
  });

  for (const body of [
    { limit: 0 },
    { limit: 1001 },
    { limit: -1 },
    { limit: "x" },
    { limit: 1.5 },
    { offset: -1 },
    { offset: "x" },
  ]) {
    test(`bad paging ${JSON.stringify(body)}: 400 validation_error`, async () => {
      const h = await createHarness();
      const res = await h.call("POST", `${USERS}/search`, { body });
      expect(res.status).toBe(400);
      expect(errorOf(res).internal_error).toBe("validation_error");
    });
  }

  test("bad filters and unknown fields: 400 validation_error", async () => {
    const h = await createHarness();
    for (const body of [{ type: "robot" }, { status: "removed" }, { user_ids: "usr_x" }, { email: "x@example.com" }]) {
      const res = await h.call("POST", `${USERS}/search`, { body });
      expect(res.status).toBe(400);
      expect(errorOf(res).internal_error).toBe("validation_error");
    }
  });
});

describe("access to /v1/users (SPEC §2)", () => {
  test("a service account key with only event roles: 403 with the missing permission and its roles", async () => {
    const h = await createHarness();
    const { key } = await serviceAccountKey(h, ["event_ingestor", "event_reader"]);
    const before = await accountCount(h);
    const res = await h.call("POST", USERS, {
      key,
      body: { type: "service_account", name: "x", roles: ["event_reader"] },
    });
    expect(res.status).toBe(403);
    expect(errorOf(res)).toEqual({
      message: "Insufficient permissions",
      internal_error: "permission_denied",
      details: { required: "user:write", roles: ["event_ingestor", "event_reader"] },
    });
    expect(await accountCount(h)).toBe(before);

    const read = await h.call("GET", `${USERS}/${DEFAULT_TENANT}`, { key });
    expect(read.status).toBe(403);
    expect(errorOf(read).details).toEqual({ required: "user:read", roles: ["event_ingestor", "event_reader"] });
    const search = await h.call("POST", `${USERS}/search`, { key, body: {} });
    expect(search.status).toBe(403);
    expect(errorOf(search).details).toEqual({ required: "user:read", roles: ["event_ingestor", "event_reader"] });
    // Its own account is visible through /me.
    expect((await h.call("GET", `${USERS}/me`, { key })).status).toBe(200);
  });

  test("publishable keys: 403 on user routes, nothing changed; 200 on GET /v1/users/me", async () => {
    const h = await createHarness();
    const pk = await publishableKey(h);
    const sa = await createServiceAccount(h, ["event_reader"], "Target");
    const before = await accountCount(h);
    const attempts: [string, string, unknown?][] = [
      ["POST", USERS, { type: "service_account", name: "x", roles: ["event_reader"] }],
      ["POST", `${USERS}/search`, {}],
      ["GET", `${USERS}/${sa.id}`],
      ["PUT", `${USERS}/${sa.id}`, { name: "Hijacked" }],
      ["DELETE", `${USERS}/${sa.id}`],
    ];
    for (const [method, path, body] of attempts) {
      const res = await h.call(method, path, { key: pk, body });
      expect(res.status).toBe(403);
      expect(errorOf(res)).toEqual({
        message: "Publishable keys cannot access this resource",
        internal_error: "permission_denied",
      });
    }
    expect(await accountCount(h)).toBe(before);
    expect(await getAccount(h, sa.id)).toEqual(sa);

    const me = await h.call("GET", `${USERS}/me`, { key: pk });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(DEFAULT_TENANT);
    expect(me.body.credential.type).toBe("publishable_key");
    expect(me.body.credential.roles).toEqual([]);
  });

  test("no key: 401 API key required on every user route", async () => {
    const h = await createHarness();
    for (const [method, path] of [
      ["GET", `${USERS}/me`],
      ["POST", USERS],
      ["POST", `${USERS}/search`],
      ["GET", `${USERS}/${DEFAULT_TENANT}`],
      ["PUT", `${USERS}/${DEFAULT_TENANT}`],
      ["DELETE", `${USERS}/${DEFAULT_TENANT}`],
    ] as const) {
      const res = await h.call(method, path, {
        key: null,
        body: method === "GET" || method === "DELETE" ? undefined : {},
      });
      expect(res.status).toBe(401);
      expect(errorOf(res)).toEqual({ message: "API key required", internal_error: "permission_denied" });
    }
  });
});

describe("GET /v1/users/me from its cached body", () => {
  test("follows every change: the account's name, the tenant's name, the environment asked for, a revoked key", async () => {
    const h = await createHarness();
    const me = async (options: { key?: string; headers?: Record<string, string> } = {}) => {
      const res = await h.call("GET", "/v1/users/me", options);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith("application/json");
      return res.body;
    };
    const first = await me();
    expect(await me()).toEqual(first);

    const created = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "robot", roles: ["event_reader"] },
    });
    const key = await h.call("POST", "/v1/secrets/api/keys", {
      body: { name: "robot key", type: "private_key", service_account_id: created.body.id },
    });
    expect(key.status).toBe(201);
    expect((await me({ key: key.body.api_key })).name).toBe("robot");
    await h.call("PUT", `/v1/users/${created.body.id}`, { body: { name: "renamed robot" } });
    expect((await me({ key: key.body.api_key })).name).toBe("renamed robot");

    expect((await h.call("PUT", "/v1/tenants/update", { body: { name: "Renamed Tenant" } })).status).toBe(200);
    expect((await me()).tenant.name).toBe("Renamed Tenant");
    expect((await me({ key: key.body.api_key })).tenant.name).toBe("Renamed Tenant");

    const production = (await environmentOf(h, "production")).id;
    expect((await me({ headers: { "x-environment-id": production } })).environment_id).toBe(production);
    expect((await me()).environment_id).toBe(first.environment_id);

    // Revoked: the cached body is never served to it again.
    expect((await h.call("DELETE", `/v1/secrets/api/keys/${key.body.id}`)).status).toBe(204);
    expect((await h.call("GET", "/v1/users/me", { key: key.body.api_key })).status).toBe(401);
  });
});
