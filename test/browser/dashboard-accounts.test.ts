// Issue 26 (items 1, 6 and 11's setup form) in a real Chromium against a real server process:
// the first person's setup form offers no placeholder name; the only admin, having lost the
// password, gets back in with `tollgate users reset-password` run on the server's store; a person
// changes their password on their account page (reached from their name in the header); the
// Users page shows who is invited and offers a new link, a reset link, a role change (a refusal
// shown in the API's words, with the live keys) and archiving. Screenshots at 1280×800 and 390×844.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { describeInBrowser, horizontalOverflow, problemsOf, screenshots } from "../support/browser";
import { runToEnd, type ServerProcess, SOURCE_CLI, startServer, storeEnv } from "../support/process";

/** How Chromium reports a page answered with an error status (a refused form is one). */
const refused = (status: number) =>
  `console: Failed to load resource: the server responded with a status of ${status} (${
    { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden" }[status]
  })`;

const SETUP_LINK = /http:\/\/127\.0\.0\.1:\d+\/dashboard\/setup\?token=tgp_[0-9a-f]{64}/;
const RESET_LINK = /http:\/\/127\.0\.0\.1:\d+\/dashboard\/set-password\?token=tgp_[0-9a-f]{64}/;
const ADMIN = "founder@example.com";
const FIRST_PASSWORD = "the first passphrase";
const RECOVERED_PASSWORD = "recovered passphrase";
const CHANGED_PASSWORD = "changed passphrase";

describeInBrowser("people's accounts in the dashboard, in Chromium", (suite) => {
  let server: ServerProcess;
  let admin: Page;

  const url = (path: string) => `${server.baseUrl}${path}`;

  async function signIn(p: Page, email: string, password: string) {
    await p.goto(url("/dashboard/sign-in"));
    await p.getByLabel("Email").fill(email);
    await p.getByLabel("Password").fill(password);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.waitForLoadState();
  }

  async function api(method: string, path: string, options: { body?: unknown; bearer?: string } = {}) {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
    const res = await fetch(url(path), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /** The operator's shell: the CLI on the server's own store and config. */
  async function cli(...args: string[]) {
    return runToEnd([...SOURCE_CLI, ...args], {
      cwd: server.dir,
      env: {
        ...process.env,
        ...(await storeEnv(server.dir)),
        TOLLGATE_SERVER_PORT: String(server.port),
      },
      timeoutMs: 30_000,
    });
  }

  /** The one-time link shown in the dialog that just opened. */
  async function shownLink(p: Page): Promise<string> {
    return p.locator("#invite-link").inputValue();
  }

  beforeAll(async () => {
    server = await startServer();
  });

  afterAll(async () => {
    await server?.stop();
  });

  test("first-person setup: the Name field is empty, not 'Default User'; left so, the name is the email", async () => {
    let link: string | undefined;
    for (let i = 0; i < 100 && !link; i++) {
      link = SETUP_LINK.exec(server.stderrLines.join("\n"))?.[0];
      if (!link) await Bun.sleep(50);
    }
    if (!link) throw new Error(`no setup link printed:\n${server.lines.join("\n")}`);
    admin = await suite.newPage();
    await admin.goto(link);
    expect(await admin.getByLabel("Name (optional)").inputValue()).toBe("");
    expect(await admin.content()).not.toContain("Default User");
    await screenshots(admin, "accounts-setup");
    await admin.getByLabel("Email").fill(ADMIN);
    await admin.getByLabel("Password").fill(FIRST_PASSWORD);
    await admin.getByRole("button", { name: "Save and sign in" }).click();
    await admin.waitForURL(url("/dashboard/api-keys"));
    // The header names the person by their email, as a link to their account.
    expect(await admin.locator("header .who").innerText()).toBe(ADMIN);
    expect(await admin.locator("header .who").getAttribute("href")).toBe("/dashboard/account");
    expect(problemsOf(admin)).toEqual([]);
  });

  test("the only admin lost the password: `tollgate users reset-password` on the server's store, the link, a new password; the old session ends", async () => {
    const reset = await cli("users", "reset-password", "--email", ADMIN);
    expect(reset.code).toBe(0);
    const link = RESET_LINK.exec(reset.stdout)?.[0];
    expect(link).toBeDefined();

    const recovering = await suite.newPage("mobile");
    await recovering.goto(link as string);
    expect(await recovering.getByRole("heading", { level: 1 }).innerText()).toBe("Choose a new password");
    expect(await recovering.getByText(ADMIN).count()).toBe(1);
    await screenshots(recovering, "accounts-reset-link");
    await recovering.getByLabel("Password").fill(RECOVERED_PASSWORD);
    await recovering.getByRole("button", { name: "Save and sign in" }).click();
    await recovering.waitForURL(url("/dashboard/api-keys"));

    // The browser signed in before the reset is signed out at its next step.
    await admin.goto(url("/dashboard/users"));
    expect(new URL(admin.url()).pathname).toBe("/dashboard/sign-in");
    expect(await admin.getByRole("status").innerText()).toBe("Your session has ended. Sign in again.");
    await signIn(admin, ADMIN, FIRST_PASSWORD);
    expect(await admin.getByRole("alert").innerText()).toBe("Invalid email or password");
    await signIn(admin, ADMIN, RECOVERED_PASSWORD);
    await admin.waitForURL(url("/dashboard/api-keys"));
    // The link works once.
    const again = await suite.newPage();
    await again.goto(link as string);
    expect(await again.getByRole("alert").innerText()).toBe("Invalid or expired set-password link");
    expect(problemsOf(admin)).toEqual([refused(401)]);
    problemsOf(admin).length = 0;
    expect(problemsOf(recovering)).toEqual([]);
  });

  test("change password from the account page: a wrong current one in the API's words; then this browser stays signed in, the others end", async () => {
    const elsewhere = await suite.newPage();
    await signIn(elsewhere, ADMIN, RECOVERED_PASSWORD);
    await elsewhere.waitForURL(url("/dashboard/api-keys"));

    await admin.getByRole("link", { name: ADMIN }).click();
    await admin.waitForURL(url("/dashboard/account"));
    expect(await admin.getByRole("heading", { level: 1 }).innerText()).toBe("Your account");
    await screenshots(admin, "accounts-account");
    await admin.getByLabel("Current password").fill("not the passphrase");
    await admin.getByLabel("New password", { exact: true }).fill(CHANGED_PASSWORD);
    await admin.getByLabel("New password, again").fill(CHANGED_PASSWORD);
    await admin.getByRole("button", { name: "Change password" }).click();
    await admin.waitForLoadState();
    expect(await admin.getByRole("alert").innerText()).toBe("Current password is incorrect");
    expect(problemsOf(admin)).toEqual([refused(403)]);
    problemsOf(admin).length = 0;

    await admin.getByLabel("Current password").fill(RECOVERED_PASSWORD);
    await admin.getByLabel("New password", { exact: true }).fill(CHANGED_PASSWORD);
    await admin.getByLabel("New password, again").fill(CHANGED_PASSWORD);
    await admin.getByRole("button", { name: "Change password" }).click();
    await admin.waitForURL(url("/dashboard/account?notice=password-changed"));
    expect(await admin.getByRole("status").innerText()).toContain("Password changed.");
    await screenshots(admin, "accounts-password-changed");
    // This browser goes on; the other is signed out.
    await admin.goto(url("/dashboard/users"));
    expect(new URL(admin.url()).pathname).toBe("/dashboard/users");
    await elsewhere.goto(url("/dashboard/users"));
    expect(new URL(elsewhere.url()).pathname).toBe("/dashboard/sign-in");
    expect(problemsOf(admin)).toEqual([]);
  });

  let bob = { id: "", token: "" };

  test("Users: an invited person shows 'invited'; inviting again offers a new link, which replaces the first", async () => {
    await admin.goto(url("/dashboard/users"));
    await admin.getByRole("link", { name: "Invite user" }).click();
    const invite = admin.getByRole("dialog", { name: "Invite a user" });
    await invite.getByLabel("Email").fill("grace@example.com");
    await invite.getByRole("button", { name: "Invite" }).click();
    const first = await shownLink(admin);
    await admin.getByRole("link", { name: "Done" }).click();
    await admin.goto(url("/dashboard/users"));
    const grace = admin.getByRole("row", { name: /grace@example\.com/ });
    expect(await grace.locator(".badge.invited").innerText()).toBe("invited");
    expect(await grace.getByRole("link", { name: "New link" }).count()).toBe(1);
    await screenshots(admin, "accounts-users-invited");

    // Again: the offer of a new link, not "email exists".
    await admin.getByRole("link", { name: "Invite user" }).click();
    await admin.getByRole("dialog", { name: "Invite a user" }).getByLabel("Email").fill("grace@example.com");
    await admin.getByRole("dialog", { name: "Invite a user" }).getByRole("button", { name: "Invite" }).click();
    await admin.waitForLoadState();
    const offer = admin.getByRole("dialog", { name: "Invite a user" });
    expect(await offer.getByRole("status").innerText()).toContain("is invited already");
    await screenshots(admin, "accounts-reinvite");
    await offer.getByRole("button", { name: "Make a new link" }).click();
    const shown = admin.getByRole("dialog", { name: "New invite link for grace@example.com" });
    await shown.waitFor();
    const second = await shownLink(admin);
    expect(second).not.toBe(first);
    await shown.getByRole("link", { name: "Done" }).click();

    const graceUsesOld = await suite.newPage("mobile");
    await graceUsesOld.goto(first);
    expect(await graceUsesOld.getByRole("alert").innerText()).toBe("Invalid or expired set-password link");
    await graceUsesOld.goto(second);
    await graceUsesOld.getByLabel("Password").fill("grace's passphrase");
    await graceUsesOld.getByRole("button", { name: "Save and sign in" }).click();
    await graceUsesOld.waitForURL(url("/dashboard/api-keys"));

    // And a person who signs in, with a key of their own, for the role change below.
    const invited = await api("POST", "/v1/users", {
      bearer: (await api("POST", "/v1/auth/login", { body: { email: ADMIN, password: CHANGED_PASSWORD } })).body.token,
      body: { type: "user", email: "bob@example.com", name: "Bob" },
    });
    const token = new URL(invited.body.set_password_url).searchParams.get("token");
    const set = await api("POST", "/v1/auth/set-password", { body: { token, password: "bob's passphrase" } });
    expect(set.status).toBe(200);
    bob = { id: invited.body.id, token: set.body.token };
    expect(
      (await api("POST", "/v1/secrets/api/keys", { bearer: bob.token, body: { name: "Bob's laptop" } })).status,
    ).toBe(201);
    await admin.goto(url("/dashboard/users"));
    expect(
      await admin
        .getByRole("row", { name: /grace@example\.com/ })
        .locator(".badge")
        .innerText(),
    ).toBe("active");
    await screenshots(admin, "accounts-users");
    expect(problemsOf(admin)).toEqual([]);
  });

  test("Role: refused while Bob has a live key (the API's words, the key listed); the choice kept", async () => {
    await admin.goto(url("/dashboard/users"));
    await admin
      .getByRole("row", { name: /bob@example\.com/ })
      .getByRole("link", { name: "Role" })
      .click();
    const dialog = admin.getByRole("dialog", { name: "Role of Bob" });
    await dialog.getByLabel("All Reader").check();
    await dialog.getByRole("button", { name: "Change role" }).click();
    await admin.waitForLoadState();
    const refusal = admin.getByRole("dialog", { name: "Role of Bob" });
    expect(await refusal.getByRole("alert").innerText()).toBe(
      "Expire this user's existing API keys before changing their role",
    );
    expect(await refusal.locator(".key-list").innerText()).toContain("Bob's laptop");
    expect(await refusal.getByLabel("All Reader").isChecked()).toBe(true);
    await screenshots(admin, "accounts-role-refused");
    expect(problemsOf(admin)).toEqual([refused(400)]);
    problemsOf(admin).length = 0;
  });

  test("Reset link for Bob: shown once; used, it ends Bob's sessions", async () => {
    await admin.goto(url("/dashboard/users"));
    await admin
      .getByRole("row", { name: /bob@example\.com/ })
      .getByRole("link", { name: "Reset link" })
      .click();
    const confirm = admin.getByRole("dialog", { name: "Reset Bob's password?" });
    expect(await confirm.innerText()).toContain("Their password keeps working until the link is used");
    await confirm.getByRole("button", { name: "Make the link" }).click();
    const shown = admin.getByRole("dialog", { name: "Password reset link for bob@example.com" });
    await shown.waitFor();
    expect(await shown.getByRole("alert").innerText()).toContain("It works once, for 24 hours.");
    const link = await shownLink(admin);
    await screenshots(admin, "accounts-reset-shown");
    await shown.getByRole("link", { name: "Done" }).click();
    await admin.reload();
    expect(await admin.content()).not.toContain(link);

    expect((await api("GET", "/v1/users/me", { bearer: bob.token })).status).toBe(200);
    const bobsPage = await suite.newPage();
    await bobsPage.goto(link);
    await bobsPage.getByLabel("Password").fill("bob's new passphrase");
    await bobsPage.getByRole("button", { name: "Save and sign in" }).click();
    await bobsPage.waitForURL(url("/dashboard/api-keys"));
    expect((await api("GET", "/v1/users/me", { bearer: bob.token })).status).toBe(401);
    expect(problemsOf(admin)).toEqual([]);
  });

  test("Archive Bob, with confirmation: signed out at once; yourself, no Archive", async () => {
    const bobSignedIn = await suite.newPage();
    await signIn(bobSignedIn, "bob@example.com", "bob's new passphrase");
    await bobSignedIn.waitForURL(url("/dashboard/api-keys"));
    await admin.goto(url("/dashboard/users"));
    expect(
      await admin
        .getByRole("row", { name: /founder@example\.com/ })
        .getByRole("link", { name: "Archive" })
        .count(),
    ).toBe(0);
    await admin
      .getByRole("row", { name: /bob@example\.com/ })
      .getByRole("link", { name: "Archive" })
      .click();
    const confirm = admin.getByRole("dialog", { name: "Archive Bob?" });
    expect(await confirm.innerText()).toContain("They are signed out at once and cannot sign in again.");
    // Focus on Cancel, not on Archive: a key pressed on opening does not archive anyone.
    expect(await admin.evaluate<string>("document.activeElement.textContent.trim()")).toBe("Cancel");
    await screenshots(admin, "accounts-archive");
    await confirm.getByRole("button", { name: "Archive" }).click();
    await admin.waitForURL(/notice=archived/);
    expect(
      await admin
        .getByRole("row", { name: /bob@example\.com/ })
        .locator(".badge")
        .innerText(),
    ).toBe("archived");
    await bobSignedIn.goto(url("/dashboard/api-keys"));
    expect(new URL(bobSignedIn.url()).pathname).toBe("/dashboard/sign-in");
    expect(problemsOf(admin)).toEqual([]);
  });

  test("at 390 px wide: the account link is there, and no page scrolls sideways", async () => {
    const mobile = await suite.newPage("mobile");
    await signIn(mobile, ADMIN, CHANGED_PASSWORD);
    await mobile.waitForURL(url("/dashboard/api-keys"));
    expect(await mobile.getByRole("link", { name: ADMIN }).isVisible()).toBe(true);
    for (const path of ["/dashboard/account", "/dashboard/users", `/dashboard/users?role=${bob.id}`]) {
      await mobile.goto(url(path));
      expect([path, await horizontalOverflow(mobile)]).toEqual([path, 0]);
    }
    expect(problemsOf(mobile)).toEqual([]);
  });
});
