// API Keys in Chromium for daily work (issue 26, items 2, 4, 7, 10 and 11's search): the Create
// dialog says what the key will be able to do before it is made, and defaults to a service
// account; a rotated key is told apart from its replacement and offers no Rotate; a refused
// rotate is said once, at the page's own address; the key shown once is not closed away
// uncopied without a question; past dates are not offered; keys are found by name or prefix.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { describeInBrowser, horizontalOverflow, problemsOf, screenshots } from "../support/browser";
import { type ServerProcess, startServer } from "../support/process";

const SETUP_LINK = /http:\/\/127\.0\.0\.1:\d+\/dashboard\/setup\?token=tgp_[0-9a-f]{64}/;
const EMAIL = "ops@example.com";
const PASSWORD = "a long passphrase, really";
const FULL_ACCESS = "Full access: this key can do everything, including making keys and changing accounts.";

/** How Chromium reports a page answered with an error status (a refused form is one). */
const refused = (status: number, text: string) =>
  `console: Failed to load resource: the server responded with a status of ${status} (${text})`;

describeInBrowser("API Keys for daily work, in Chromium", (suite) => {
  let server: ServerProcess;
  let page: Page;
  let token = "";

  const url = (path: string) => `${server.baseUrl}${path}`;

  /** The API as the signed-in person (a §10 session token). */
  async function api(method: string, path: string, body?: unknown) {
    const res = await fetch(url(path), {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as any };
  }

  async function serviceAccount(name: string, roles: string[]): Promise<string> {
    const res = await api("POST", "/v1/users", { type: "service_account", name, roles });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  /** Each row of the keys table as its text, whitespace collapsed. */
  function rowsOf(p: Page): Promise<string[]> {
    return p
      .locator("main table > tbody > tr")
      .evaluateAll((rows) => rows.map((r) => (r.textContent ?? "").replace(/\s+/g, " ").trim()));
  }

  /** The one panel of "What this key can do" that shows, as text. */
  async function grantsShown(p: Page): Promise<string> {
    const shown = p.locator("#create-key [data-grants-panel]:visible");
    expect(await shown.count()).toBe(1);
    return (await shown.innerText()).replace(/\s+/g, " ").trim();
  }

  async function openCreate(p: Page) {
    await p.goto(url("/dashboard/api-keys"));
    await p.getByRole("link", { name: "Create", exact: true }).click();
    const dialog = p.getByRole("dialog", { name: "Create API key" });
    await dialog.waitFor();
    return dialog;
  }

  beforeAll(async () => {
    server = await startServer();
    let link: string | undefined;
    for (let i = 0; i < 100 && !link; i++) {
      link = SETUP_LINK.exec(server.stderrLines.join("\n"))?.[0];
      if (!link) await Bun.sleep(50);
    }
    if (!link) throw new Error(`no setup link printed:\n${server.lines.join("\n")}`);
    page = await suite.newPage();
    await page.goto(link);
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Name (optional)").fill("Ops");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Save and sign in" }).click();
    await page.waitForURL(url("/dashboard/api-keys"));
    const login = await fetch(url("/v1/auth/login"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    });
    token = ((await login.json()) as { token: string }).token;
  });

  afterAll(async () => {
    await server?.stop();
  });

  test("no service account yet: User Account, and the dialog says it is a full-access key before Create", async () => {
    const dialog = await openCreate(page);
    expect(await dialog.getByLabel("User Account").isChecked()).toBe(true);
    const shown = await grantsShown(page);
    expect(shown).toContain("A User Account key gets your roles:");
    expect(shown).toContain("Super Admin");
    expect(shown).toContain("root credential");
    expect(shown).toContain(FULL_ACCESS);
    await screenshots(page, "dashboard-keys-create-user");
    expect(problemsOf(page)).toEqual([]);
  });

  test("one service account: chosen by default; its roles in words, live as the choice changes", async () => {
    await serviceAccount("Ingest worker", ["event_ingestor"]);
    let dialog = await openCreate(page);
    expect(await dialog.getByLabel("Service Account").isChecked()).toBe(true);
    expect(await dialog.getByLabel("Mapped to Identity").inputValue()).toMatch(/^usr_/);
    let shown = await grantsShown(page);
    expect(shown).toContain("A key for Ingest worker gets these roles, fixed at creation:");
    expect(shown).toContain("Event Ingestor For services that send events.");
    expect(shown).not.toContain("Full access");

    await serviceAccount("Reader", ["event_reader"]);
    await serviceAccount("Root bot", ["super_admin"]);
    dialog = await openCreate(page);
    // Several: the person chooses; nothing is guessed.
    expect(await dialog.getByLabel("Service Account").isChecked()).toBe(true);
    expect(await dialog.getByLabel("Mapped to Identity").inputValue()).toBe("");
    expect(await grantsShown(page)).toContain("Choose a service account: the key gets its roles");
    await dialog.getByLabel("Mapped to Identity").selectOption({ label: "Reader" });
    shown = await grantsShown(page);
    expect(shown).toContain("A key for Reader gets these roles");
    expect(shown).toContain("Event Reader For services that read event data.");
    await dialog.getByLabel("Mapped to Identity").selectOption({ label: "Root bot" });
    shown = await grantsShown(page);
    expect(shown).toContain("Super Admin root credential");
    expect(shown).toContain(FULL_ACCESS);
    await screenshots(page, "dashboard-keys-create-root-bot");
    await dialog.getByLabel("User Account").check();
    expect(await grantsShown(page)).toContain("A User Account key gets your roles:");
    await dialog.getByLabel("Service Account").check();
    expect(await grantsShown(page)).toContain("A key for Root bot gets these roles");
    expect(problemsOf(page)).toEqual([]);
  });

  test("a refused Create names the fields as the form labels them; past dates are not offered, and refused", async () => {
    let dialog = await openCreate(page);
    await dialog.getByLabel("Name").fill("Unmapped");
    await dialog.getByRole("button", { name: "Create" }).click();
    await page.waitForLoadState();
    dialog = page.getByRole("dialog", { name: "Create API key" });
    expect(await dialog.getByRole("alert").innerText()).toBe("Mapped to Identity must not be empty");
    // The dialog's own address, not the form's: a reload reads the page again.
    expect(page.url()).toBe(url("/dashboard/api-keys?create=1"));

    await dialog.getByLabel("Mapped to Identity").selectOption({ label: "Reader" });
    await dialog.getByLabel("Expiration").selectOption({ label: "On a date" });
    const date = dialog.getByLabel("Expires on (UTC)");
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    expect(await date.getAttribute("min")).toBe(tomorrow);
    // The picker refuses an earlier date itself; one sent anyway is refused by the server.
    await date.fill("2020-01-01");
    expect(
      await date.evaluate(
        (input) => (input as unknown as { validity: { rangeUnderflow: boolean } }).validity.rangeUnderflow,
      ),
    ).toBe(true);
    await date.evaluate((input) => input.removeAttribute("min"));
    await dialog.getByRole("button", { name: "Create" }).click();
    await page.waitForLoadState();
    dialog = page.getByRole("dialog", { name: "Create API key" });
    expect(await dialog.getByRole("alert").innerText()).toBe(
      `Expires on must be a date after today: ${tomorrow} or later (UTC)`,
    );
    // Kept as chosen, to fix.
    expect(await dialog.getByLabel("Mapped to Identity").inputValue()).toMatch(/^usr_/);
    expect(await dialog.getByLabel("Expires on (UTC)").inputValue()).toBe("2020-01-01");
    await screenshots(page, "dashboard-keys-create-refused");
    expect(problemsOf(page)).toEqual([refused(400, "Bad Request"), refused(400, "Bad Request")]);
    problemsOf(page).length = 0;
  });

  test("the key shown once: Escape and × ask 'Have you copied it?'; after Copy, it closes at once", async () => {
    let dialog = await openCreate(page);
    await dialog.getByLabel("Name").fill("Reader key");
    await dialog.getByLabel("Mapped to Identity").selectOption({ label: "Reader" });
    await dialog.getByRole("button", { name: "Create" }).click();
    const shown = page.getByRole("dialog", { name: "API key created" });
    await shown.waitFor();
    const key = await shown.locator("#new-key").inputValue();
    const question = shown.getByText("Have you copied it?");

    await page.keyboard.press("Escape");
    await question.waitFor();
    await shown.waitFor();
    await screenshots(page, "dashboard-keys-copied-question");
    await shown.getByRole("button", { name: "No, back to the key" }).click();
    await question.waitFor({ state: "hidden" });
    expect(await shown.locator("#new-key").inputValue()).toBe(key);

    await shown.getByRole("link", { name: "Close" }).click();
    await question.waitFor();
    // Escape with the question open never closes the key away either.
    await page.keyboard.press("Escape");
    // (Closed by the browser, it is opened again at once: wait for it rather than look.)
    await shown.waitFor();
    expect(await shown.locator("#new-key").inputValue()).toBe(key);
    await shown.getByRole("link", { name: "Done" }).click();
    await question.waitFor();
    await shown.getByRole("button", { name: "Yes, close" }).click();
    await page.locator("#new-key").waitFor({ state: "detached" });

    // Copied with its button: Escape closes it without asking.
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.baseUrl });
    dialog = await openCreate(page);
    await dialog.getByLabel("Name").fill("Copied key");
    await dialog.getByLabel("Mapped to Identity").selectOption({ label: "Reader" });
    await dialog.getByRole("button", { name: "Create" }).click();
    const again = page.getByRole("dialog", { name: "API key created" });
    await again.waitFor();
    await again.getByRole("button", { name: "Copy" }).click();
    await again.getByText("Copied to the clipboard.").waitFor();
    await page.keyboard.press("Escape");
    await page.locator("#new-key").waitFor({ state: "detached" });
    expect(problemsOf(page)).toEqual([]);
  });

  let oldId = "";
  let oldDisplay = "";
  let newDisplay = "";

  test("after a rotation: the old key says when it stops and which key replaced it, and offers no Rotate", async () => {
    const created = await api("POST", "/v1/secrets/api/keys", { name: "Billing sync" });
    expect(created.status).toBe(201);
    oldId = created.body.id;
    oldDisplay = created.body.secret.display_id;
    await page.goto(url("/dashboard/api-keys"));
    await page
      .getByRole("row", { name: /Billing sync/ })
      .getByRole("link", { name: "Rotate" })
      .click();
    const rotate = page.getByRole("dialog", { name: "Rotate Billing sync" });
    await rotate.getByLabel("Keep the old key working for").selectOption({ label: "1 hour" });
    await rotate.getByRole("button", { name: "Rotate" }).click();
    const shown = page.getByRole("dialog", { name: "Key rotated: here is the new key" });
    await shown.waitFor();
    const newKey = await shown.locator("#new-key").inputValue();
    newDisplay = `${newKey.slice(0, 12)}***${newKey.slice(-4)}`;
    await shown.getByRole("link", { name: "Done" }).click();
    await shown.getByRole("button", { name: "Yes, close" }).click();

    const rows = (await rowsOf(page)).filter((row) => row.startsWith("Billing sync"));
    expect(rows).toHaveLength(2);
    const [newer, older] = rows as [string, string];
    expect(older).toContain(oldDisplay);
    expect(older).toMatch(
      new RegExp(`active\\s*expires in (59|60) min, replaced by ${newDisplay.replace(/\*/g, "\\*")}`),
    );
    expect(newer).toMatch(new RegExp(`active\\s*replaces ${oldDisplay.replace(/\*/g, "\\*")}`));
    // The row whose Key column is the key (the other row names it too, as the key it replaces).
    const rowOf = (display: string) =>
      page.locator("main tbody tr", { has: page.locator("td.mono", { hasText: display }) });
    const oldRow = rowOf(oldDisplay);
    expect(await oldRow.getByRole("link", { name: "Rotate" }).count()).toBe(0);
    // Revoking it now, instead of waiting, is still offered.
    expect(await oldRow.getByRole("link", { name: "Revoke" }).count()).toBe(1);
    const newRow = rowOf(newDisplay);
    expect(await newRow.getByRole("link", { name: "Rotate" }).count()).toBe(1);
    await screenshots(page, "dashboard-keys-rotated");
    expect(problemsOf(page)).toEqual([]);
  });

  test("a rotate refused (the key was replaced meanwhile) is said once, at the page's own address", async () => {
    // A page opened on the rotate dialog before the rotation: the form a person still has open.
    const stale = await page.context().newPage();
    const other = await api("POST", "/v1/secrets/api/keys", { name: "Stale tab" });
    await stale.goto(url(`/dashboard/api-keys?rotate=${other.body.id}`));
    const rotate = stale.getByRole("dialog", { name: "Rotate Stale tab" });
    await rotate.waitFor();
    expect(
      (await api("POST", `/v1/secrets/api/keys/${other.body.id}/rotate`, { grace_period_seconds: 600 })).status,
    ).toBe(201);
    await rotate.getByRole("button", { name: "Rotate" }).click();
    await stale.waitForLoadState();
    const message = "API key has already been rotated; rotate its replacement instead";
    expect(await stale.getByText(message).count()).toBe(1);
    expect(await stale.getByRole("alert").innerText()).toBe(message);
    expect(await stale.getByRole("dialog").count()).toBe(0);
    expect(stale.url()).toBe(url("/dashboard/api-keys"));
    await screenshots(stale, "dashboard-keys-rotate-refused");
    // A reload reads the list; nothing is sent again.
    await stale.reload();
    expect(await stale.getByText(message).count()).toBe(0);
    // Opening Rotate on the replaced key from an old link says why, instead of a dialog that can only fail.
    await stale.goto(url(`/dashboard/api-keys?rotate=${oldId}`));
    expect(await stale.getByRole("alert").innerText()).toBe(message);
    expect(await stale.getByRole("dialog").count()).toBe(0);
  });

  test("search by name or key prefix, kept with the status filter and across reloads", async () => {
    await page.goto(url("/dashboard/api-keys"));
    await page.getByLabel("Search").fill("billing");
    await page.getByLabel("Search").press("Enter");
    await page.waitForURL(/q=billing/);
    let rows = await rowsOf(page);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toStartWith("Billing sync");
    expect(await page.getByText("2 active keys matching “billing” in this environment").count()).toBe(1);
    await screenshots(page, "dashboard-keys-search");

    await page.getByLabel("Search").fill(newDisplay.slice(0, 12));
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/q=sk_test_/);
    rows = await rowsOf(page);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(newDisplay);

    await page.getByLabel("Search").fill("nothing like it");
    await page.getByLabel("Search").press("Enter");
    await page.waitForURL(/q=nothing/);
    expect(await rowsOf(page)).toEqual(["No active key matching “nothing like it”."]);

    // The status filter keeps the search; revoked keys are searched the same way.
    expect((await api("DELETE", `/v1/secrets/api/keys/${oldId}`)).status).toBe(204);
    await page.goto(url("/dashboard/api-keys?q=billing"));
    await page.getByLabel("Show").selectOption({ label: "Revoked keys" });
    await page.waitForURL(/status=deleted/);
    expect(new URL(page.url()).searchParams.get("q")).toBe("billing");
    rows = await rowsOf(page);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(new RegExp(`revoked\\s*replaced by ${newDisplay.replace(/\*/g, "\\*")}`));
    expect(problemsOf(page)).toEqual([]);
  });

  test("at 390 px: the dialog, the rotation notes and the search fit without sideways scrolling", async () => {
    const mobile = await suite.newPage("mobile");
    await mobile.goto(url("/dashboard/sign-in"));
    await mobile.getByLabel("Email").fill(EMAIL);
    await mobile.getByLabel("Password").fill(PASSWORD);
    await mobile.getByRole("button", { name: "Sign in" }).click();
    await mobile.waitForURL(url("/dashboard/api-keys"));
    expect(await horizontalOverflow(mobile)).toBe(0);
    await openCreate(mobile);
    await mobile.getByLabel("Mapped to Identity").selectOption({ label: "Root bot" });
    expect(await horizontalOverflow(mobile)).toBe(0);
    await screenshots(mobile, "dashboard-keys-create-mobile");
    expect(problemsOf(mobile)).toEqual([]);
  });

  test("without the script: every panel says whose it is, and the server's defaults make a key", async () => {
    const context = await suite.browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1280, height: 800 },
    });
    try {
      const plain = await context.newPage();
      await plain.goto(url("/dashboard/sign-in"));
      await plain.getByLabel("Email").fill(EMAIL);
      await plain.getByLabel("Password").fill(PASSWORD);
      await plain.getByRole("button", { name: "Sign in" }).click();
      await plain.waitForURL(url("/dashboard/api-keys"));
      await plain.goto(url("/dashboard/api-keys?create=1"));
      const dialog = plain.getByRole("dialog", { name: "Create API key" });
      const text = (await dialog.innerText()).replace(/\s+/g, " ");
      expect(text).toContain("A User Account key gets your roles: Super Admin");
      expect(text).toContain("A key for Ingest worker gets these roles");
      expect(text).toContain("A key for Root bot gets these roles");
      await dialog.getByLabel("Name").fill("No script key");
      await dialog.getByLabel("Mapped to Identity").selectOption({ label: "Ingest worker" });
      await dialog.getByRole("button", { name: "Create" }).click();
      await plain.getByRole("dialog", { name: "API key created" }).waitFor();
      expect(await plain.locator("#new-key").inputValue()).toMatch(/^sk_test_/);
    } finally {
      await context.close();
    }
  });
});
