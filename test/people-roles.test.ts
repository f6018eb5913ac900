// SPEC §2 and issue 25: people hold one of super_admin, all_writer, all_reader (as the Flexprice API
// since August 2026); PUT /v1/users/{id}/roles changes it; PUT /v1/users/me changes one's own name
// and metadata; GET /v1/rbac/roles?user_type= narrows the roles. Enforced everywhere: the API, a
// person's keys, the dashboard.
import { describe, expect, test } from "bun:test";
import { errorOf } from "./support/harness";
import { addPerson, type SignInHarness, signInHarness } from "./support/sign-in";

const PASSWORD = "correct horse battery";

/** A person with `role`, signed in: invited with it by the development key, password set through the link. */
async function personWith(h: SignInHarness, email: string, role?: string) {
  const person = await addPerson(h, email, PASSWORD, email.split("@")[0]);
  if (role && role !== "super_admin") {
    const res = await h.call("PUT", `/v1/users/${person.id}/roles`, { body: { roles: [role] } });
    expect(res.status).toBe(200);
  }
  const login = await h.call("POST", "/v1/auth/login", { key: null, body: { email, password: PASSWORD } });
  expect(login.status).toBe(200);
  return { id: person.id, bearer: login.body.token as string };
}

describe("people's roles", () => {
  test("an all_reader reads everything and changes nothing; an all_writer changes resources but brings no one in", async () => {
    const h = await signInHarness();
    const reader = await personWith(h, "reader@example.com", "all_reader");
    const writer = await personWith(h, "writer@example.com", "all_writer");
    const me = await h.call("GET", "/v1/users/me", { bearer: reader.bearer });
    expect(me.body.roles).toEqual(["all_reader"]);
    expect(me.body.credential.roles).toEqual(["all_reader"]);
    for (const path of ["/v1/secrets/api/keys", "/v1/customers", "/v1/audit-logs", "/v1/environments"]) {
      expect({ path, status: (await h.call("GET", path, { bearer: reader.bearer })).status }).toEqual({
        path,
        status: 200,
      });
    }
    const create = await h.call("POST", "/v1/customers", {
      bearer: reader.bearer,
      body: { external_id: "c1", name: "C" },
    });
    expect(create.status).toBe(403);
    expect(errorOf(create).details).toEqual({ required: "customer:write", roles: ["all_reader"] });
    expect(
      (await h.call("POST", "/v1/customers", { bearer: writer.bearer, body: { external_id: "c1", name: "C" } })).status,
    ).toBe(201);
    // Inviting people and changing their roles is a super_admin's.
    const invite = await h.call("POST", "/v1/users", {
      bearer: writer.bearer,
      body: { type: "user", email: "x@example.com" },
    });
    expect(invite.status).toBe(403);
    expect(errorOf(invite).message).toBe("Ask a tenant super_admin to invite this user");
    const promote = await h.call("PUT", `/v1/users/${reader.id}/roles`, {
      bearer: writer.bearer,
      body: { roles: ["all_writer"] },
    });
    expect(promote.status).toBe(403);
    expect(errorOf(promote).message).toBe("Only a user account with super_admin can change people's roles");
  });

  test("a person's own key copies their role, and an all_writer cannot mint a super_admin key for a service account", async () => {
    const h = await signInHarness();
    const writer = await personWith(h, "writer@example.com", "all_writer");
    const key = await h.call("POST", "/v1/secrets/api/keys", { bearer: writer.bearer, body: { name: "mine" } });
    expect(key.status).toBe(201);
    expect(key.body.roles).toEqual(["all_writer"]);
    const account = await h.call("POST", "/v1/users", {
      bearer: writer.bearer,
      body: { type: "service_account", name: "root", roles: ["super_admin"] },
    });
    expect(account.status).toBe(403);
    expect(errorOf(account).details).toEqual({ required: ["super_admin"], roles: ["all_writer"] });
  });

  test("invite with a role: exactly one person's role; the invited person signs in with it", async () => {
    const h = await signInHarness();
    const invited = await h.call("POST", "/v1/users", {
      body: { type: "user", email: "auditor@example.com", roles: ["all_reader"] },
    });
    expect(invited.status).toBe(201);
    expect(invited.body.roles).toEqual(["all_reader"]);
  });
});

describe("PUT /v1/users/{id}/roles", () => {
  test("a super_admin person changes another person's role; it is audited and the person's next request has it", async () => {
    const h = await signInHarness();
    const admin = await personWith(h, "admin@example.com");
    const other = await personWith(h, "other@example.com");
    expect(
      (await h.call("POST", "/v1/customers", { bearer: other.bearer, body: { external_id: "a", name: "A" } })).status,
    ).toBe(201);
    const res = await h.call("PUT", `/v1/users/${other.id}/roles`, {
      bearer: admin.bearer,
      body: { roles: ["all_reader"] },
    });
    expect(res.status).toBe(200);
    expect(res.body.roles).toEqual(["all_reader"]);
    // The same session, its very next request: read-only now.
    expect(
      (await h.call("POST", "/v1/customers", { bearer: other.bearer, body: { external_id: "b", name: "B" } })).status,
    ).toBe(403);
    const audit = await h.call("GET", "/v1/audit-logs?action=user.roles_updated");
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0].changes.before.roles).toEqual(["super_admin"]);
    expect(audit.body.items[0].changes.after.roles).toEqual(["all_reader"]);
  });

  test("refused: yourself (403), a service account (400), an archived person (400), a bad role (400), a person with live keys (400 listing them)", async () => {
    const h = await signInHarness();
    const admin = await personWith(h, "admin@example.com");
    const self = await h.call("PUT", `/v1/users/${admin.id}/roles`, {
      bearer: admin.bearer,
      body: { roles: ["all_reader"] },
    });
    expect(self.status).toBe(403);
    expect(errorOf(self).message).toBe("Ask another super_admin to change your roles");
    const account = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "svc", roles: ["event_reader"] },
    });
    const fixed = await h.call("PUT", `/v1/users/${account.body.id}/roles`, {
      bearer: admin.bearer,
      body: { roles: ["super_admin"] },
    });
    expect(fixed.status).toBe(400);
    expect(errorOf(fixed).message).toBe("Service account roles are fixed at creation and cannot be changed");
    const person = await personWith(h, "person@example.com");
    for (const [roles, message] of [
      [["event_reader"], "Role 'event_reader' cannot be assigned to a user account"],
      [["all_reader", "all_writer"], "A user account holds exactly one role: super_admin, all_writer or all_reader"],
      [["root"], "Invalid role: root"],
    ] as const) {
      const res = await h.call("PUT", `/v1/users/${person.id}/roles`, { bearer: admin.bearer, body: { roles } });
      expect({ roles, status: res.status, message: errorOf(res).message }).toEqual({ roles, status: 400, message });
    }
    expect(
      (await h.call("PUT", `/v1/users/${person.id}/roles`, { bearer: admin.bearer, body: { roles: [] } })).status,
    ).toBe(400);
    const key = await h.call("POST", "/v1/secrets/api/keys", { bearer: person.bearer, body: { name: "laptop" } });
    const keyed = await h.call("PUT", `/v1/users/${person.id}/roles`, {
      bearer: admin.bearer,
      body: { roles: ["all_reader"] },
    });
    expect(keyed.status).toBe(400);
    expect(errorOf(keyed)).toMatchObject({
      message: "Expire this user's existing API keys before changing their role",
      details: { id: person.id, active_api_key_count: 1 },
    });
    expect(JSON.stringify(errorOf(keyed).details.active_api_keys)).toContain(key.body.id);
    expect((await h.call("DELETE", `/v1/secrets/api/keys/${key.body.id}`, { bearer: admin.bearer })).status).toBe(204);
    expect(
      (await h.call("PUT", `/v1/users/${person.id}/roles`, { bearer: admin.bearer, body: { roles: ["all_reader"] } }))
        .status,
    ).toBe(200);
    expect((await h.call("DELETE", `/v1/users/${person.id}`, { bearer: admin.bearer })).status).toBe(204);
    const archived = await h.call("PUT", `/v1/users/${person.id}/roles`, {
      bearer: admin.bearer,
      body: { roles: ["super_admin"] },
    });
    expect(archived.status).toBe(400);
    expect(errorOf(archived).message).toBe("Archived users cannot have their roles updated");
    // A super_admin service account is not a person.
    const root = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "root", roles: ["super_admin"] },
    });
    const rootKey = await h.call("POST", "/v1/secrets/api/keys", {
      body: { name: "k", service_account_id: root.body.id },
    });
    const byKey = await h.call("PUT", `/v1/users/${admin.id}/roles`, {
      key: rootKey.body.api_key,
      body: { roles: ["all_reader"] },
    });
    expect(byKey.status).toBe(403);
  });
});

describe("PUT /v1/users/me", () => {
  test("changes one's own name and merges metadata key by key; audited", async () => {
    const h = await signInHarness();
    const me = await personWith(h, "ada@example.com");
    const first = await h.call("PUT", "/v1/users/me", {
      bearer: me.bearer,
      body: { name: "Ada L.", metadata: { team: "core", tz: "UTC" } },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ name: "Ada L.", metadata: { team: "core", tz: "UTC" } });
    const second = await h.call("PUT", "/v1/users/me", {
      bearer: me.bearer,
      body: { metadata: { tz: "CET", desk: "4" } },
    });
    expect(second.body).toMatchObject({ name: "Ada L.", metadata: { team: "core", tz: "CET", desk: "4" } });
    expect((await h.call("GET", "/v1/users/me", { bearer: me.bearer })).body.metadata).toEqual({
      team: "core",
      tz: "CET",
      desk: "4",
    });
    const audit = await h.call("GET", "/v1/audit-logs?action=user.updated");
    expect(audit.body.items).toHaveLength(2);
  });

  test("bad input changes nothing: an unknown field, a blank name, a non-string value, more than 50 keys in all", async () => {
    const h = await signInHarness();
    const me = await personWith(h, "ada@example.com");
    for (const body of [
      { email: "x@example.com" },
      { metadata: { a: 1 } },
      { metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"])) },
    ]) {
      const res = await h.call("PUT", "/v1/users/me", { bearer: me.bearer, body });
      expect(res.status).toBe(400);
    }
    await h.call("PUT", "/v1/users/me", {
      bearer: me.bearer,
      body: { metadata: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`a${i}`, "v"])) },
    });
    const over = await h.call("PUT", "/v1/users/me", {
      bearer: me.bearer,
      body: { metadata: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`b${i}`, "v"])) },
    });
    expect(over.status).toBe(400);
    expect(errorOf(over).message).toBe("metadata must have at most 50 keys, counting those already stored");
    expect(Object.keys((await h.call("GET", "/v1/users/me", { bearer: me.bearer })).body.metadata)).toHaveLength(30);
  });
});

describe("GET /v1/rbac/roles?user_type=", () => {
  test("user: the people's roles; service_account: the others; anything else 400", async () => {
    const h = await signInHarness();
    const ids = async (query: string) =>
      (await h.call("GET", `/v1/rbac/roles${query}`)).body.items.map((r: { id: string }) => r.id);
    expect(await ids("?user_type=user")).toEqual(["super_admin", "all_writer", "all_reader"]);
    expect(await ids("?user_type=service_account")).toEqual([
      "super_admin",
      "event_ingestor",
      "event_reader",
      "key_verifier",
    ]);
    const bad = await h.call("GET", "/v1/rbac/roles?user_type=robot");
    expect(bad.status).toBe(400);
    expect(errorOf(bad).message).toContain("User type must be 'user' or 'service_account'");
  });
});

describe("keys of people without super_admin (the Flexprice API's rule)", () => {
  test("an all_writer sees and revokes only its own keys; another's is not found for it; a super_admin sees all", async () => {
    const h = await signInHarness();
    const writer = await personWith(h, "writer@example.com", "all_writer");
    const theirs = await h.call("POST", "/v1/secrets/api/keys", { body: { name: "the admin's" } });
    const mine = await h.call("POST", "/v1/secrets/api/keys", { bearer: writer.bearer, body: { name: "mine" } });
    const listed = await h.call("GET", "/v1/secrets/api/keys", { bearer: writer.bearer });
    expect(listed.body.items.map((k: { id: string }) => k.id)).toEqual([mine.body.id]);
    for (const [method, path] of [
      ["GET", `/v1/secrets/api/keys/${theirs.body.id}`],
      ["DELETE", `/v1/secrets/api/keys/${theirs.body.id}`],
      ["POST", `/v1/secrets/api/keys/${theirs.body.id}/rotate`],
    ] as const) {
      const res = await h.call(method, path, { bearer: writer.bearer, body: method === "POST" ? {} : undefined });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    expect((await h.call("GET", `/v1/secrets/api/keys/${theirs.body.id}`)).body.status).toBe("published");
    expect((await h.call("DELETE", `/v1/secrets/api/keys/${mine.body.id}`, { bearer: writer.bearer })).status).toBe(
      204,
    );
    expect((await h.call("GET", "/v1/secrets/api/keys")).body.items.map((k: { id: string }) => k.id)).toContain(
      theirs.body.id,
    );
  });
});

describe("nobody hands out more than they hold (SPEC §3), reachable now that people's roles are narrower", () => {
  /** A service account made by the development key (a super_admin, who may give any role). */
  async function serviceAccount(h: SignInHarness, name: string, roles: string[]) {
    const res = await h.call("POST", "/v1/users", { body: { type: "service_account", name, roles } });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }
  const keyCount = async (h: SignInHarness) => Number(await h.context.db.value("SELECT count(*) FROM secrets"));

  test("an all_writer's key for a service account: refused (403, nothing issued) for roles it does not hold", async () => {
    const h = await signInHarness();
    const writer = await personWith(h, "writer@example.com", "all_writer");
    const root = await serviceAccount(h, "root", ["super_admin"]);
    // secret:verify is neither read nor write: all_writer (*: [read, write]) does not hold it.
    const verifier = await serviceAccount(h, "verifier", ["key_verifier"]);
    const ingestor = await serviceAccount(h, "ingestor", ["event_ingestor"]);
    const before = await keyCount(h);
    for (const [id, roles] of [
      [root, ["super_admin"]],
      [verifier, ["key_verifier"]],
    ] as const) {
      const res = await h.call("POST", "/v1/secrets/api/keys", {
        bearer: writer.bearer,
        body: { name: "escalate", service_account_id: id },
      });
      expect({ roles, status: res.status }).toEqual({ roles, status: 403 });
      expect(errorOf(res)).toEqual({
        message: "Insufficient permissions",
        internal_error: "permission_denied",
        details: { required: roles, roles: ["all_writer"] },
      });
    }
    expect(await keyCount(h)).toBe(before);
    // Roles it does hold, it may hand on: the rule, not a refusal of every service account.
    const allowed = await h.call("POST", "/v1/secrets/api/keys", {
      bearer: writer.bearer,
      body: { name: "ingest", service_account_id: ingestor },
    });
    expect(allowed.status).toBe(201);
    expect(allowed.body.roles).toEqual(["event_ingestor"]);
  });

  test("an all_writer's service account: refused (403, nothing made) with a role it does not hold", async () => {
    const h = await signInHarness();
    const writer = await personWith(h, "writer@example.com", "all_writer");
    const accounts = async () => Number(await h.context.db.value("SELECT count(*) FROM users"));
    const before = await accounts();
    for (const roles of [["super_admin"], ["key_verifier"], ["event_reader", "key_verifier"]]) {
      const res = await h.call("POST", "/v1/users", {
        bearer: writer.bearer,
        body: { type: "service_account", name: "escalation", roles },
      });
      expect({ roles, status: res.status }).toEqual({ roles, status: 403 });
      expect(errorOf(res).details).toEqual({ required: roles, roles: ["all_writer"] });
    }
    expect(await accounts()).toBe(before);
    const allowed = await h.call("POST", "/v1/users", {
      bearer: writer.bearer,
      body: { type: "service_account", name: "reader", roles: ["event_reader"] },
    });
    expect(allowed.status).toBe(201);
  });
});
