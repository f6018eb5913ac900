// Issue 9, item 17: only user accounts manage user accounts. A service account, super_admin
// included, cannot invite a person (SPEC §4), and so cannot rename or archive one either; it
// still manages service accounts.
import { describe, expect, test } from "bun:test";
import {
  type CallResult,
  createHarness,
  createTwoTenantHarness,
  DEFAULT_TENANT,
  errorOf,
  type Harness,
} from "./support/harness";

const USERS = "/v1/users";
const ONLY_USERS = "Only user accounts can manage user accounts";

async function superAdminKey(h: Harness): Promise<string> {
  const account = await h.call("POST", USERS, {
    body: { type: "service_account", name: "Root worker", roles: ["super_admin"] },
  });
  expect(account.status).toBe(201);
  const key = await h.call("POST", "/v1/secrets/api/keys", {
    body: { name: "root", service_account_id: account.body.id },
  });
  expect(key.status).toBe(201);
  return key.body.api_key;
}

async function invite(h: Harness, email: string) {
  const res = await h.call("POST", USERS, { body: { type: "user", name: "Person", email } });
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string; updated_at: string };
}

function expectOnlyUsers(res: CallResult) {
  expect(res.status).toBe(403);
  expect(errorOf(res)).toEqual({ message: ONLY_USERS, internal_error: "permission_denied" });
}

const auditRows = async (h: Harness, id: string) =>
  ((await h.context.db.get("SELECT count(*) AS n FROM audit_logs WHERE resource_id = ?", id)) as { n: number }).n;

describe("a super_admin service account and user accounts", () => {
  test("DELETE of a user account: 403, the person stays published and nothing is audited", async () => {
    const h = await createHarness();
    const root = await superAdminKey(h);
    const person = await invite(h, "person@example.com");
    const rowsBefore = await auditRows(h, person.id);
    expectOnlyUsers(await h.call("DELETE", `${USERS}/${person.id}`, { key: root }));
    // The default user (the development key's own account) as well.
    expectOnlyUsers(await h.call("DELETE", `${USERS}/${DEFAULT_TENANT}`, { key: root }));
    expect((await h.call("GET", `${USERS}/${person.id}`)).body.status).toBe("published");
    expect(await auditRows(h, person.id)).toBe(rowsBefore);
  });

  test("PUT of a user account: 403, the name stays", async () => {
    const h = await createHarness();
    const root = await superAdminKey(h);
    const person = await invite(h, "person@example.com");
    expectOnlyUsers(await h.call("PUT", `${USERS}/${person.id}`, { key: root, body: { name: "Renamed" } }));
    const after = (await h.call("GET", `${USERS}/${person.id}`)).body;
    expect(after.name).toBe(person.name);
    expect(after.updated_at).toBe(person.updated_at);
  });

  test("it still renames and archives service accounts", async () => {
    const h = await createHarness();
    const root = await superAdminKey(h);
    const worker = await h.call("POST", USERS, {
      key: root,
      body: { type: "service_account", name: "Worker", roles: ["event_ingestor"] },
    });
    expect(worker.status).toBe(201);
    const renamed = await h.call("PUT", `${USERS}/${worker.body.id}`, { key: root, body: { name: "Worker 2" } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe("Worker 2");
    expect((await h.call("DELETE", `${USERS}/${worker.body.id}`, { key: root })).status).toBe(204);
  });

  test("an unknown or another tenant's account is 404 for it, as for anyone", async () => {
    const h = await createTwoTenantHarness();
    const root = await superAdminKey(h);
    const res = await h.call("DELETE", `${USERS}/usr_01J00000000000000000000000`, { key: root });
    expect(res.status).toBe(404);
    const other = await h.call("PUT", `${USERS}/user-two`, { key: root, body: { name: "x" } });
    expect(other.status).toBe(404);
  });

  test("a user account renames and archives another user account", async () => {
    const h = await createHarness();
    const person = await invite(h, "person@example.com");
    const renamed = await h.call("PUT", `${USERS}/${person.id}`, { body: { name: "Renamed" } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe("Renamed");
    expect((await h.call("DELETE", `${USERS}/${person.id}`)).status).toBe(204);
    expect((await h.call("GET", `${USERS}/${person.id}`)).body.status).toBe("archived");
  });
});
