// The dashboard in a real Chromium against a real server process (SPEC §11, issue 11's
// scenario): the first person sets up through the printed link, signs in, creates a service
// account and a key for it in the dialogs, uses the key, revokes it, and finds it all in the
// audit log. Plus sign-out, a wrong password, a service account's credentials, and a form
// posted from another site. Screenshots of every page at 1280×800 and 390×844.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import {
  describeInBrowser,
  horizontalOverflow,
  type OriginServer,
  problemsOf,
  screenshots,
  serveOrigin,
} from "../support/browser";
import { type ServerProcess, startServer } from "../support/process";

/** How Chromium reports a page answered with an error status (a refused form is one). */
const refused = (status: number) =>
  `Failed to load resource: the server responded with a status of ${status} (${
    { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden" }[status]
  })`;

const SETUP_LINK = /http:\/\/127\.0\.0\.1:\d+\/dashboard\/setup\?token=tgp_[0-9a-f]{64}/;
const EMAIL = "founder@example.com";
const PASSWORD = "a long passphrase, really";

/** Another site whose page posts a dashboard form to the address in its fragment, at once. */
const FOREIGN_FORM = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another site</title></head>
<body><form id="f" method="post"><input name="name" value="Planted"><input name="roles" value="super_admin">
<input name="csrf" value="guessed"></form><script>
  const form = document.getElementById("f");
  form.action = decodeURIComponent(location.hash.slice(1));
  form.submit();
</script></body></html>`;

describeInBrowser("the dashboard, in Chromium", (suite) => {
  let server: ServerProcess;
  let otherSite: OriginServer;
  let page: Page;
  let setupLink: string;

  const url = (path: string) => `${server.baseUrl}${path}`;

  async function setupLinkPrinted(): Promise<string> {
    for (let i = 0; i < 100; i++) {
      const found = SETUP_LINK.exec(server.stderrLines.join("\n"));
      if (found) return found[0];
      await Bun.sleep(50);
    }
    throw new Error(`no setup link printed:\n${server.lines.join("\n")}`);
  }

  async function signIn(p: Page, email: string, password: string) {
    await p.goto(url("/dashboard/sign-in"));
    await p.getByLabel("Email").fill(email);
    await p.getByLabel("Password").fill(password);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.waitForLoadState();
  }

  async function rowsOf(p: Page): Promise<string[]> {
    return p
      .locator("main table > tbody > tr")
      .evaluateAll((rows) => rows.map((r) => (r.textContent ?? "").replace(/\s+/g, " ").trim()));
  }

  beforeAll(async () => {
    otherSite = serveOrigin(FOREIGN_FORM);
    server = await startServer();
    setupLink = await setupLinkPrinted();
  });

  afterAll(async () => {
    await server?.stop();
    await otherSite?.stop();
  });

  test("first-person setup through the printed link, then sign-out, a wrong password, and sign-in", async () => {
    page = await suite.newPage();
    await page.goto(setupLink);
    await screenshots(page, "dashboard-setup");
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Name (optional)").fill("Founder");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Save and sign in" }).click();
    await page.waitForURL(url("/dashboard/api-keys"));
    expect(await page.getByRole("heading", { level: 1 }).innerText()).toBe("API Keys");

    // The link was used: it opens nothing now.
    const again = await suite.newPage();
    await again.goto(setupLink);
    expect(await again.getByRole("alert").innerText()).toContain("Invalid or expired setup link");

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/dashboard\/sign-in\?reason=signed-out$/);
    expect(await page.getByRole("status").innerText()).toBe("You have signed out.");
    // Signed out: the pages lead back to sign-in.
    await page.goto(url("/dashboard/service-accounts"));
    expect(new URL(page.url()).pathname).toBe("/dashboard/sign-in");

    await signIn(page, EMAIL, "not the passphrase");
    expect(await page.getByRole("alert").innerText()).toBe("Invalid email or password");
    await screenshots(page, "dashboard-sign-in");

    // Back where it was going.
    await page.goto(url("/dashboard/service-accounts"));
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(url("/dashboard/service-accounts"));
    // The one refused sign-in was answered 401, which Chromium reports; nothing else went wrong.
    expect(problemsOf(page)).toEqual([`console: ${refused(401)}`]);
    problemsOf(page).length = 0;
  });

  let apiKey = "";

  test("create a service account with Event Ingestor, and a 30-day key for it in the dialog; the key is shown once", async () => {
    await page.goto(url("/dashboard/service-accounts"));
    await page.getByRole("link", { name: "Create service account" }).click();
    const dialog = page.getByRole("dialog", { name: "Create service account" });
    await dialog.waitFor();
    // Nothing chosen: the API's words.
    await dialog.getByLabel("Name").fill("Event Ingestion Worker");
    await dialog.getByRole("button", { name: "Create Service Account" }).click();
    await page.waitForLoadState();
    expect(await page.getByRole("dialog").getByRole("alert").innerText()).toBe(
      "Service accounts must have at least one role assigned",
    );
    expect(problemsOf(page)).toEqual([`console: ${refused(400)}`]);
    problemsOf(page).length = 0;
    await page.getByRole("dialog").getByLabel("Event Ingestor").check();
    expect(await page.getByRole("dialog").getByText("root credential", { exact: true }).count()).toBe(1);
    await page.getByRole("dialog").getByRole("button", { name: "Create Service Account" }).click();
    await page.waitForURL(/notice=created/);
    const rows = await rowsOf(page);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain("Event Ingestion Worker");
    expect(rows[0]).toContain("Event Ingestor");

    await page.getByRole("link", { name: "API Keys" }).click();
    await page.getByRole("link", { name: "Create", exact: true }).click();
    const create = page.getByRole("dialog", { name: "Create API key" });
    await create.waitFor();
    // A service account by default (issue 26): its one account chosen, Mapped to Identity shown.
    expect(await create.getByLabel("Service Account").isChecked()).toBe(true);
    expect(await create.getByLabel("Mapped to Identity").isVisible()).toBe(true);
    await create.getByLabel("Name").fill("Ingestion key");
    await create.getByLabel("Mapped to Identity").selectOption({ label: "Event Ingestion Worker" });
    await create.getByLabel("Expiration").selectOption({ label: "30 days" });
    await screenshots(page, "dashboard-create-key");
    await create.getByRole("button", { name: "Create" }).click();
    const shown = page.getByRole("dialog", { name: "API key created" });
    await shown.waitFor();
    expect(await shown.getByRole("alert").innerText()).toBe("Copy this key now: it cannot be shown again.");
    apiKey = await shown.locator("#new-key").inputValue();
    expect(apiKey).toMatch(/^sk_test_/);
    await shown.getByRole("button", { name: "Copy" }).click();
    await screenshots(page, "dashboard-key-created");
    await shown.getByRole("link", { name: "Done" }).click();
    await page.locator("#new-key").waitFor({ state: "detached" });
    // Once: the page read again does not have it.
    await page.reload();
    expect(await page.content()).not.toContain(apiKey);
    const keyRows = await rowsOf(page);
    expect(keyRows).toHaveLength(1);
    expect(keyRows[0]).toContain("Ingestion key");
    expect(keyRows[0]).toContain("Service Account");
    expect(keyRows[0]).toContain(apiKey.slice(0, 12));
    await screenshots(page, "dashboard-api-keys");
    expect(problemsOf(page)).toEqual([]);
  });

  test("Verify a key: the new key is VALID for event:write, INSUFFICIENT_PERMISSIONS for event:read; the key never shown back", async () => {
    await page.goto(url("/dashboard/api-keys"));
    const box = page.getByRole("region", { name: "Verify a key" });
    await box.getByLabel("Key").fill(apiKey);
    await box.getByLabel(/Permissions it must hold/).fill("event:write");
    await box.getByRole("button", { name: "Verify" }).click();
    await page.waitForLoadState();
    expect(await page.locator(".verdict .badge").innerText()).toBe("VALID");
    expect(await page.content()).not.toContain(apiKey);
    await page.locator(".verify").scrollIntoViewIfNeeded();
    await screenshots(page, "dashboard-verify-key");
    await page.getByRole("region", { name: "Verify a key" }).getByLabel("Key").fill(apiKey);
    await page
      .getByRole("region", { name: "Verify a key" })
      .getByLabel(/Permissions it must hold/)
      .fill("event:read");
    await page.getByRole("region", { name: "Verify a key" }).getByRole("button", { name: "Verify" }).click();
    await page.waitForLoadState();
    expect(await page.locator(".verdict .badge").innerText()).toBe("INSUFFICIENT_PERMISSIONS");
    expect(await horizontalOverflow(page)).toBe(0);
    expect(problemsOf(page)).toEqual([]);
  });

  test("the key ingests (202) but cannot read (403); revoked in the table, it fails on the next request (401)", async () => {
    const headers = { "X-API-Key": apiKey, "Content-Type": "application/json" };
    const ingest = await fetch(url("/v1/events"), {
      method: "POST",
      headers,
      body: JSON.stringify({ event_name: "api_call", external_customer_id: "cus_1" }),
    });
    expect(ingest.status).toBe(202);
    expect((await fetch(url("/v1/events"), { headers })).status).toBe(403);

    await page.goto(url("/dashboard/api-keys"));
    await page
      .getByRole("row", { name: /Ingestion key/ })
      .getByRole("link", { name: "Revoke" })
      .click();
    const confirm = page.getByRole("dialog", { name: "Revoke Ingestion key?" });
    await confirm.waitFor();
    await confirm.getByRole("button", { name: "Revoke" }).click();
    await page.waitForURL(/notice=revoked/);
    expect(await page.getByRole("status").innerText()).toContain("API key revoked");
    const after = await fetch(url("/v1/events"), {
      method: "POST",
      headers,
      body: JSON.stringify({ event_name: "api_call", external_customer_id: "cus_1" }),
    });
    expect(after.status).toBe(401);
  });

  test("the audit page shows those rows, newest first, with a diff; filters narrow it", async () => {
    await page.goto(url("/dashboard/audit"));
    const actions = await page.locator(".table-wrap > table > tbody > tr.entry > th .mono").allInnerTexts();
    // The two verifications above are audited too (as reads), between the key's creation and its revocation.
    expect(actions.slice(0, 5)).toEqual([
      "secret.revoked",
      "secret.verified",
      "secret.verified",
      "secret.created",
      "service_account.created",
    ]);
    expect(actions).toContain("user.password_set");
    await page.locator(".table-wrap > table > tbody > tr.changes").first().getByText("Before / after").click();
    expect(await page.locator("table.diff").first().innerText()).toContain("status");
    await screenshots(page, "dashboard-audit");
    await page.getByLabel("Action").selectOption("secret.created");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/action=secret\.created/);
    expect(await page.locator(".table-wrap > table > tbody > tr.entry > th .mono").allInnerTexts()).toEqual([
      "secret.created",
    ]);
    expect(problemsOf(page)).toEqual([]);
  });

  test("a service account's credentials cannot sign in", async () => {
    const other = await suite.newPage();
    await signIn(other, "Event Ingestion Worker", apiKey);
    expect(await other.getByRole("alert").innerText()).toBe("Invalid email or password");
    expect(new URL(other.url()).pathname).toBe("/dashboard/sign-in");
  });

  test("a form posted from another site is refused, and changes nothing", async () => {
    // The signed-in page's own context: its cookie is there (SameSite keeps it home anyway).
    const foreign = await page.context().newPage();
    await foreign.goto(`${otherSite.origin}/#${encodeURIComponent(url("/dashboard/service-accounts"))}`);
    await foreign.waitForURL(url("/dashboard/service-accounts"));
    expect(await foreign.getByRole("alert").innerText()).toContain("This form was sent from another site");
    await page.goto(url("/dashboard/service-accounts"));
    expect((await rowsOf(page)).join("\n")).not.toContain("Planted");
  });

  test("Users (invite → one-time link), Events (chart and latest), Service Accounts: each page at both sizes", async () => {
    await page.goto(url("/dashboard/users"));
    await page.getByRole("link", { name: "Invite user" }).click();
    const invite = page.getByRole("dialog", { name: "Invite a user" });
    await invite.getByLabel("Email").fill("colleague@example.com");
    await invite.getByRole("button", { name: "Invite" }).click();
    const link = await page.locator("#invite-link").inputValue();
    expect(link).toStartWith(url("/dashboard/set-password?token=tgp_"));
    await screenshots(page, "dashboard-users-invited");

    const invited = await suite.newPage("mobile");
    await invited.goto(link);
    await screenshots(invited, "dashboard-set-password");
    await invited.getByLabel("Password").fill("colleague passphrase");
    await invited.getByRole("button", { name: "Save and sign in" }).click();
    await invited.waitForURL(url("/dashboard/api-keys"));

    for (const [path, name] of [
      ["/dashboard/events", "dashboard-events"],
      ["/dashboard/service-accounts", "dashboard-service-accounts"],
      ["/dashboard/users", "dashboard-users"],
    ] as const) {
      await page.goto(url(path));
      await screenshots(page, name);
    }
    expect(await page.locator(".table-wrap > table > tbody > tr").count()).toBe(2);
    await page.goto(url("/dashboard/events"));
    expect(await page.locator("svg rect.bar").count()).toBe(30);
    expect(await page.locator(".table-wrap > table > tbody > tr").first().innerText()).toContain("api_call");
    expect(problemsOf(page)).toEqual([]);
    expect(problemsOf(invited)).toEqual([]);
  });

  test("every page at 390 px wide: no sideways scroll", async () => {
    const mobile = await suite.newPage("mobile");
    await signIn(mobile, EMAIL, PASSWORD);
    for (const path of [
      "/dashboard/api-keys",
      "/dashboard/service-accounts",
      "/dashboard/users",
      "/dashboard/audit",
      "/dashboard/events",
    ]) {
      await mobile.goto(url(path));
      expect([path, await horizontalOverflow(mobile)]).toEqual([path, 0]);
    }
    expect(problemsOf(mobile)).toEqual([]);
  });

  test("keyboard: the create dialog opens, takes focus, and closes with Escape", async () => {
    await page.goto(url("/dashboard/service-accounts"));
    await page.getByRole("link", { name: "Create service account" }).focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Create service account" });
    await dialog.waitFor();
    expect(await page.evaluate<string>("document.activeElement.id")).toBe("account-name");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });
});
