// Issue 26, items 1, 6 and 11 (the setup form): a lost password can be recovered (a reset link
// made by a super_admin, POST /v1/users/{id}/set-password-link or the Users page; the CLI's in
// accounts-cli.test.ts), a person changes their own password on their account page, and the
// Users page shows who is invited and offers a new link, a role change and archiving. The
// browser suite (test/browser/dashboard-accounts.test.ts) drives the same pages in Chromium.
import { describe, expect, test } from "bun:test";
import { DEFAULT_CONFIG } from "../src/config";
import { sha256Hex } from "../src/modules/auth/hash";
import { issueSetupLink } from "../src/modules/sign-in/setup";
import { DashboardClient } from "./support/dashboard-client";
import { DEFAULT_TENANT, errorOf, OTHER_TENANT_KEY } from "./support/harness";
import { addPerson, login, type SignInHarness, signInHarness, tokenOf } from "./support/sign-in";

const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "a brand new passphrase";

/** A person with `role`, signed in with a bearer session. */
async function personWith(h: SignInHarness, email: string, role = "super_admin") {
  const person = await addPerson(h, email, PASSWORD, email.split("@")[0]);
  if (role !== "super_admin") {
    expect((await h.call("PUT", `/v1/users/${person.id}/roles`, { body: { roles: [role] } })).status).toBe(200);
  }
  const session = await login(h, email, PASSWORD);
  expect(session.status).toBe(200);
  return { id: person.id, bearer: session.body.token as string };
}

async function auditRows(h: SignInHarness, action: string): Promise<any[]> {
  return (
    (await h.context.db.all("SELECT * FROM audit_logs WHERE action = ? ORDER BY created_at, id", action)) as any[]
  ).map((row) => ({ ...row, changes: JSON.parse(row.changes) }));
}

function linkRequest(h: SignInHarness, id: string, bearer: string) {
  return h.call("POST", `/v1/users/${id}/set-password-link`, { bearer });
}

describe("POST /v1/users/{id}/set-password-link: a super_admin's reset link for another person", () => {
  test("the link sets a new password once; the old one works until then; every session of theirs ends; audited without the token", async () => {
    const h = await signInHarness({ server: { public_url: "https://tollgate.example.com" } });
    const admin = await personWith(h, "admin@example.com");
    const lost = await personWith(h, "lost@example.com");
    const before = h.clock.t;

    const made = await linkRequest(h, lost.id, admin.bearer);
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ user_id: lost.id, kind: "reset" });
    expect(made.body.set_password_url).toMatch(
      /^https:\/\/tollgate\.example\.com\/dashboard\/set-password\?token=tgp_[0-9a-f]{64}$/,
    );
    const lasts = Date.parse(made.body.set_password_expires_at) - before;
    expect(lasts).toBeGreaterThanOrEqual(24 * 3600 * 1000 - 60_000);
    expect(lasts).toBeLessThanOrEqual(24 * 3600 * 1000 + 60_000);
    // Nothing changed yet: the old password and the person's session still work.
    expect((await login(h, "lost@example.com", PASSWORD)).status).toBe(200);
    expect((await h.call("GET", "/v1/users/me", { bearer: lost.bearer })).status).toBe(200);

    const token = tokenOf(made.body.set_password_url);
    const used = await h.call("POST", "/v1/auth/set-password", { key: null, body: { token, password: NEW_PASSWORD } });
    expect(used.status).toBe(200);
    expect(used.body.user_id).toBe(lost.id);
    expect((await h.call("GET", "/v1/users/me", { bearer: lost.bearer })).status).toBe(401);
    expect((await h.call("GET", "/v1/users/me", { bearer: used.body.token })).status).toBe(200);
    expect((await login(h, "lost@example.com", PASSWORD, "10.0.0.2")).status).toBe(401);
    expect((await login(h, "lost@example.com", NEW_PASSWORD)).status).toBe(200);
    // Once.
    const again = await h.call("POST", "/v1/auth/set-password", { key: null, body: { token, password: PASSWORD } });
    expect(again.status).toBe(401);
    expect(errorOf(again).message).toBe("Invalid or expired set-password link");

    const [created] = await auditRows(h, "user.password_reset_link_created");
    expect(created).toMatchObject({ actor_type: "user", actor_id: admin.id, resource_id: lost.id });
    expect(created.changes.after).toMatchObject({
      email: "lost@example.com",
      expires_at: made.body.set_password_expires_at,
    });
    const set = (await auditRows(h, "user.password_set")).at(-1);
    expect(set.changes.after).toMatchObject({ via: "password_reset_link", sessions_revoked: 3 });
    expect(set.credential_id).toBe(created.changes.after.link_id);
    const everything = JSON.stringify([await h.context.db.all("SELECT * FROM audit_logs"), h.logs]);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.slice(4));
    expect(everything).not.toContain(NEW_PASSWORD);
  });

  test("a newer link replaces the one before; for someone never signed in it is a new invite link (7 days)", async () => {
    const h = await signInHarness();
    const admin = await personWith(h, "admin@example.com");
    const invite = await h.call("POST", "/v1/users", {
      bearer: admin.bearer,
      body: { type: "user", email: "new@example.com" },
    });
    const first = await linkRequest(h, invite.body.id, admin.bearer);
    expect(first.status).toBe(201);
    expect(first.body.kind).toBe("invite");
    const lasts = Date.parse(first.body.set_password_expires_at) - Date.now();
    expect(lasts).toBeGreaterThan(6 * 24 * 3600 * 1000);
    const second = await linkRequest(h, invite.body.id, admin.bearer);
    for (const old of [invite.body.set_password_url, first.body.set_password_url]) {
      const res = await h.call("POST", "/v1/auth/set-password", {
        key: null,
        body: { token: tokenOf(old), password: PASSWORD },
      });
      expect(res.status).toBe(401);
    }
    const used = await h.call("POST", "/v1/auth/set-password", {
      key: null,
      body: { token: tokenOf(second.body.set_password_url), password: PASSWORD },
    });
    expect(used.status).toBe(200);
    expect(await auditRows(h, "user.invite_link_created")).toHaveLength(2);
    expect((await auditRows(h, "user.password_set")).at(-1).changes.after.via).toBe("set_password_link");
  });

  test("refused, nothing made: an all_writer, a service account's key, yourself, a service account, an archived person, another tenant's", async () => {
    const h = await signInHarness({
      auth: {
        api_key: {
          keys: {
            ...DEFAULT_CONFIG.auth.api_key.keys,
            [sha256Hex(OTHER_TENANT_KEY)]: {
              tenant_id: "tenant-two",
              user_id: "user-two",
              name: "other",
              is_active: true,
            },
          },
        },
      },
    });
    const admin = await personWith(h, "admin@example.com");
    const writer = await personWith(h, "writer@example.com", "all_writer");
    const target = await personWith(h, "target@example.com");
    const refusal = async (res: Promise<any>) => {
      const r = await res;
      return { status: r.status, message: errorOf(r).message };
    };
    expect(await refusal(linkRequest(h, target.id, writer.bearer))).toEqual({
      status: 403,
      message: "Only a user account with super_admin can make set-password links for people",
    });
    const root = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "root", roles: ["super_admin"] },
    });
    const rootKey = await h.call("POST", "/v1/secrets/api/keys", {
      body: { name: "k", service_account_id: root.body.id },
    });
    expect(
      await refusal(h.call("POST", `/v1/users/${target.id}/set-password-link`, { key: rootKey.body.api_key })),
    ).toEqual({ status: 403, message: "Only user accounts can manage user accounts" });
    expect(await refusal(linkRequest(h, admin.id, admin.bearer))).toEqual({
      status: 400,
      message: "Change your own password with your current one (POST /v1/auth/password, or Account in the dashboard)",
    });
    expect(await refusal(linkRequest(h, root.body.id, admin.bearer))).toEqual({
      status: 400,
      message: "Service accounts have no password: they use API keys",
    });
    expect((await h.call("DELETE", `/v1/users/${target.id}`, { bearer: admin.bearer })).status).toBe(204);
    expect(await refusal(linkRequest(h, target.id, admin.bearer))).toEqual({
      status: 400,
      message: "Archived accounts cannot be changed",
    });
    const other = await h.call("GET", "/v1/users/me", { key: OTHER_TENANT_KEY });
    expect(other.status).toBe(200);
    expect((await linkRequest(h, other.body.id, admin.bearer)).status).toBe(404);
    expect((await linkRequest(h, "usr_nope", admin.bearer)).status).toBe(404);
    expect(await auditRows(h, "user.password_reset_link_created")).toEqual([]);
    expect(await h.context.db.value("SELECT count(*) FROM password_tokens WHERE used_at IS NULL")).toBe(0);
  });
});

describe("your account page: change your password", () => {
  test("wrong current password and differing new ones are refused; a change keeps this browser signed in and ends every other session", async () => {
    const h = await signInHarness();
    const me = await personWith(h, "ada@example.com");
    const browser = new DashboardClient(h);
    expect((await browser.signIn("ada@example.com", PASSWORD)).status).toBe(303);
    const oldCookie = browser.cookies.get("tollgate_session") as string;

    // The name in the header leads here.
    const keys = await browser.get("/dashboard/api-keys");
    expect(keys.text).toMatch(/<a class="who" href="\/dashboard\/account"[^>]*>ada<\/a>/);
    const page = await browser.get("/dashboard/account");
    expect(page.status).toBe(200);
    expect(page.text).toContain("ada@example.com");
    expect(page.text).toContain('<label for="current-password">Current password</label>');

    const change = (current: string, next: string, again = next) =>
      browser.submit("/dashboard/account", "/dashboard/account/password", {
        current_password: current,
        new_password: next,
        new_password_again: again,
      });
    const wrong = await change("not my password", NEW_PASSWORD);
    expect(wrong.status).toBe(403);
    expect(wrong.text).toContain('role="alert">Current password is incorrect<');
    const differ = await change(PASSWORD, NEW_PASSWORD, `${NEW_PASSWORD}!`);
    expect(differ.status).toBe(400);
    expect(differ.text).toContain("The two new passwords differ; nothing was changed");
    const short = await change(PASSWORD, "short");
    expect(short.status).toBe(400);
    expect(short.text).toContain("must be 8 to 256 characters");
    expect((await login(h, "ada@example.com", PASSWORD)).status).toBe(200);

    const done = await change(PASSWORD, NEW_PASSWORD);
    expect(done.status).toBe(303);
    expect(done.location).toBe("/dashboard/account?notice=password-changed");
    expect(browser.cookies.get("tollgate_session")).not.toBe(oldCookie);
    const after = await browser.get("/dashboard/account?notice=password-changed");
    expect(after.status).toBe(200);
    expect(after.text).toContain("Password changed. Every other session of your account has ended; this one goes on.");
    // Every other session ended: the bearer one, and the cookie this browser had before.
    expect((await h.call("GET", "/v1/users/me", { bearer: me.bearer })).status).toBe(401);
    const stale = new DashboardClient(h);
    stale.cookies.set("tollgate_session", oldCookie);
    expect((await stale.get("/dashboard/account")).location).toStartWith("/dashboard/sign-in?reason=ended");
    expect((await login(h, "ada@example.com", PASSWORD, "10.0.0.3")).status).toBe(401);
    expect((await login(h, "ada@example.com", NEW_PASSWORD)).status).toBe(200);
    const [row] = await auditRows(h, "user.password_changed");
    // The link's, the bearer one, this browser's and the check after the refusals.
    expect(row.changes.after).toEqual({ sessions_revoked: 4 });
    expect(JSON.stringify(await h.context.db.all("SELECT * FROM audit_logs"))).not.toContain(NEW_PASSWORD);
  });

  test("an all_reader changes their own password too", async () => {
    const h = await signInHarness();
    await personWith(h, "reader@example.com", "all_reader");
    const browser = new DashboardClient(h);
    await browser.signIn("reader@example.com", PASSWORD);
    const done = await browser.submit("/dashboard/account", "/dashboard/account/password", {
      current_password: PASSWORD,
      new_password: NEW_PASSWORD,
      new_password_again: NEW_PASSWORD,
    });
    expect(done.status).toBe(303);
    expect((await login(h, "reader@example.com", NEW_PASSWORD)).status).toBe(200);
  });
});

describe("the Users page's actions", () => {
  async function adminBrowser(h: SignInHarness) {
    const admin = await personWith(h, "admin@example.com");
    const browser = new DashboardClient(h);
    expect((await browser.signIn("admin@example.com", PASSWORD)).status).toBe(303);
    return { admin, browser };
  }

  /** The row of a person on the Users page, as text. */
  function rowOf(page: string, email: string): string {
    const row = page
      .slice(page.indexOf("<tbody>"))
      .split("<tr>")
      .find((r) => r.includes(email));
    if (!row) throw new Error(`no row for ${email}`);
    return row;
  }

  test("an invited person shows 'invited' until they choose a password; re-inviting offers a new link, which replaces the old one", async () => {
    const h = await signInHarness();
    const { browser } = await adminBrowser(h);
    const invited = await browser.submit("/dashboard/users", "/dashboard/users", { email: "grace@example.com" });
    expect(invited.status).toBe(303);
    const firstLink = /value="(http:\/\/[^"]+set-password\?token=tgp_[0-9a-f]+)"/.exec(
      (await browser.get(invited.location as string)).text,
    )?.[1] as string;
    expect(firstLink).toBeDefined();
    const users = (await browser.get("/dashboard/users")).text;
    expect(rowOf(users, "grace@example.com")).toContain('<span class="badge invited">invited</span>');
    expect(rowOf(users, "grace@example.com")).toContain(">New link<");
    expect(rowOf(users, "admin@example.com")).toContain(">active<");

    // Invited again: not "email exists", but the offer of a new link.
    const again = await browser.submit("/dashboard/users", "/dashboard/users", { email: "Grace@example.com" });
    expect(again.status).toBe(200);
    expect(again.text).not.toContain("A user with this email already exists");
    expect(again.text).toContain("is invited already and has not chosen a password yet");
    const action = /<form method="post" action="(\/dashboard\/users\/usr_[0-9A-Z]+\/link)"/.exec(again.text)?.[1];
    expect(action).toBeDefined();
    const made = await browser.submit("/dashboard/users", action as string);
    expect(made.status).toBe(303);
    const shown = (await browser.get(made.location as string)).text;
    expect(shown).toContain("New invite link for grace@example.com");
    expect(shown).toContain("It works once, for 7 days.");
    const secondLink = /value="(http:\/\/[^"]+set-password\?token=tgp_[0-9a-f]+)"/.exec(shown)?.[1] as string;
    // Shown once.
    expect((await browser.get(made.location as string)).text).not.toContain(secondLink);
    const use = (link: string) =>
      h.call("POST", "/v1/auth/set-password", { key: null, body: { token: tokenOf(link), password: PASSWORD } });
    expect((await use(firstLink)).status).toBe(401);
    expect((await use(secondLink)).status).toBe(200);
    expect(rowOf((await browser.get("/dashboard/users")).text, "grace@example.com")).toContain(">active<");

    // Someone who signs in: the API's words, as before.
    const taken = await browser.submit("/dashboard/users", "/dashboard/users", { email: "grace@example.com" });
    expect(taken.status).toBe(409);
    expect(taken.text).toContain("A user with this email already exists");
  });

  test("Reset link: shown once, for 24 hours; the person's sessions end when it is used", async () => {
    const h = await signInHarness();
    const { browser } = await adminBrowser(h);
    const lost = await personWith(h, "lost@example.com");
    const users = (await browser.get("/dashboard/users")).text;
    expect(rowOf(users, "lost@example.com")).toContain(`href="/dashboard/users?link=${lost.id}">Reset link<`);
    const confirm = await browser.get(`/dashboard/users?link=${lost.id}`);
    expect(confirm.text).toContain("Reset lost&#39;s password?");
    expect(confirm.text).toContain(
      "Their password keeps working until the link is used; then every session of theirs ends.",
    );
    const made = await browser.submit("/dashboard/users", `/dashboard/users/${lost.id}/link`);
    expect(made.status).toBe(303);
    const shown = (await browser.get(made.location as string)).text;
    expect(shown).toContain("Password reset link for lost@example.com");
    expect(shown).toContain("It works once, for 24 hours.");
    const link = /value="(http:\/\/[^"]+)"/.exec(shown.slice(shown.indexOf('id="invite-link"') - 200))?.[1] as string;
    expect(link).toMatch(/\/dashboard\/set-password\?token=tgp_/);

    // The link's page says it replaces a password.
    const person = new DashboardClient(h, "10.0.0.7");
    const page = await person.get(new URL(link).pathname + new URL(link).search);
    expect(page.text).toContain("Choose a new password");
    expect(page.text).toContain("Every session of this account ends");
    const set = await person.request("POST", "/dashboard/set-password", {
      token: tokenOf(link),
      password: NEW_PASSWORD,
    });
    expect(set.status).toBe(303);
    expect((await h.call("GET", "/v1/users/me", { bearer: lost.bearer })).status).toBe(401);
    expect((await login(h, "lost@example.com", NEW_PASSWORD)).status).toBe(200);
  });

  test("Archive (not yourself): the person's sessions end at once; the row says archived", async () => {
    const h = await signInHarness();
    const { admin, browser } = await adminBrowser(h);
    const leaving = await personWith(h, "leaving@example.com");
    const own = (await browser.get("/dashboard/users")).text;
    expect(rowOf(own, "admin@example.com")).not.toContain(">Archive<");
    expect(rowOf(own, "admin@example.com")).toContain(">Change password<");
    const self = await browser.submit("/dashboard/users", `/dashboard/users/${admin.id}/archive`);
    expect(self.status).toBe(400);
    expect(self.text).toContain("You cannot delete your own account");

    const confirm = await browser.get(`/dashboard/users?archive=${leaving.id}`);
    expect(confirm.text).toContain("Archive leaving?");
    expect(confirm.text).toContain("They are signed out at once and cannot sign in again.");
    const done = await browser.submit("/dashboard/users", `/dashboard/users/${leaving.id}/archive`);
    expect(done.status).toBe(303);
    expect(done.location).toBe("/dashboard/users?notice=archived");
    expect((await h.call("GET", "/v1/users/me", { bearer: leaving.bearer })).status).toBe(401);
    const row = rowOf((await browser.get("/dashboard/users")).text, "leaving@example.com");
    expect(row).toContain(">archived<");
    expect(row).not.toContain(">Archive<");
  });

  test("Role: changed in the dialog; refused with the API's words and the live keys listed", async () => {
    const h = await signInHarness();
    const { browser } = await adminBrowser(h);
    const person = await personWith(h, "person@example.com");
    const key = await h.call("POST", "/v1/secrets/api/keys", { bearer: person.bearer, body: { name: "laptop key" } });
    const dialog = await browser.get(`/dashboard/users?role=${person.id}`);
    expect(dialog.text).toContain("Role of person");
    for (const name of ["Super Admin", "All Writer", "All Reader"])
      expect(dialog.text).toContain(`<strong>${name}</strong>`);
    const refused = await browser.submit("/dashboard/users", `/dashboard/users/${person.id}/role`, {
      role: "all_reader",
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("Expire this user&#39;s existing API keys before changing their role");
    expect(refused.text).toContain("<strong>laptop key</strong>");
    expect(refused.text).toContain(key.body.id);
    // The choice survives the refusal.
    expect(refused.text).toMatch(/value="all_reader"\s+checked/);
    expect((await h.call("DELETE", `/v1/secrets/api/keys/${key.body.id}`)).status).toBe(204);
    const done = await browser.submit("/dashboard/users", `/dashboard/users/${person.id}/role`, { role: "all_reader" });
    expect(done.status).toBe(303);
    expect(rowOf((await browser.get("/dashboard/users")).text, "person@example.com")).toContain("All Reader");
    expect((await h.call("POST", "/v1/customers", { bearer: person.bearer, body: { external_id: "x" } })).status).toBe(
      403,
    );
  });

  test("an all_writer sees Archive only, and is refused a link in the API's words; an all_reader sees no action but their own", async () => {
    const h = await signInHarness();
    await personWith(h, "writer@example.com", "all_writer");
    await personWith(h, "reader@example.com", "all_reader");
    const other = await personWith(h, "other@example.com");
    for (const [email, shown, hidden] of [
      ["writer@example.com", ["Archive"], ["Reset link", "Role", "Invite user"]],
      ["reader@example.com", [], ["Archive", "Reset link", "Role", "Invite user"]],
    ] as const) {
      const browser = new DashboardClient(h);
      await browser.signIn(email, PASSWORD);
      const page = (await browser.get("/dashboard/users")).text;
      for (const control of shown)
        expect([email, rowOf(page, "other@example.com").includes(`>${control}</a>`)]).toEqual([email, true]);
      for (const control of hidden)
        expect([email, rowOf(page, "other@example.com").includes(control) || page.includes(`>${control}</a>`)]).toEqual(
          [email, false],
        );
      expect(rowOf(page, email)).toContain(">Change password<");
    }
    const writer = new DashboardClient(h);
    await writer.signIn("writer@example.com", PASSWORD);
    const refused = await writer.submit("/dashboard/users", `/dashboard/users/${other.id}/link`);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain("Only a user account with super_admin can make set-password links for people");
  });
});

describe("first-person setup: no placeholder name", () => {
  test("the form leaves Name empty rather than offer 'Default User'; left empty, the name is the email", async () => {
    const h = await signInHarness();
    const link = await issueSetupLink(h.context.db, { baseUrl: "http://localhost" });
    if (!link) throw new Error("no setup link");
    const browser = new DashboardClient(h);
    const page = await browser.get(new URL(link.url).pathname + new URL(link.url).search);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain("Default User");
    expect(page.text).toMatch(/<input id="name" name="name" type="text" autocomplete="name" maxlength="255" value=""/);
    const done = await browser.request("POST", "/dashboard/setup", {
      token: tokenOf(link.url),
      email: "owner@example.com",
      name: "",
      password: PASSWORD,
    });
    expect(done.status).toBe(303);
    const name = await h.context.db.value("SELECT name FROM users WHERE id = ?", DEFAULT_TENANT);
    expect(name).toBe("owner@example.com");
    expect((await browser.get("/dashboard/api-keys")).text).toContain(">owner@example.com</a");
  });
});
