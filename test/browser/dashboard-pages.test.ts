// Issue 26's pages in Chromium against a real server process: every page fits 1280 px with
// realistic data (long key names, an audit diff with long values) and every table's last column
// is in view; at 390 px the page never scrolls sideways (tables scroll inside their frame).
// Plus relative times, the audit log's action list and folding filters, the production mark,
// Customers with a portal link, the API reference in the nav, the HTML 404 page and the
// Events chart's labels on a phone. Screenshots of every page at 1280×800 and 390×844.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { describeInBrowser, horizontalOverflow, problemsOf, screenshots } from "../support/browser";
import { DEV_KEY } from "../support/harness";
import { logEntries, type ServerProcess, startServer } from "../support/process";

const SETUP_LINK = /http:\/\/127\.0\.0\.1:\d+\/dashboard\/setup\?token=tgp_[0-9a-f]{64}/;
const EMAIL = "operator@example.com";
const PASSWORD = "a long passphrase, really";

const PAGES = [
  "/dashboard/api-keys",
  "/dashboard/service-accounts",
  "/dashboard/users",
  "/dashboard/customers",
  "/dashboard/audit",
  "/dashboard/events",
] as const;

/** What the layout says of each table on the page: whether it scrolls inside its frame, and whether its last column is in view. */
interface TableFit {
  name: string;
  scrolls: boolean;
  lastColumnRight: number;
  viewport: number;
}

function tableFits(page: Page): Promise<TableFit[]> {
  // As text: the test code is type-checked without the DOM's types.
  return page.evaluate<TableFit[]>(`[...document.querySelectorAll(".table-wrap")].map((wrap) => {
    const cells = wrap.querySelectorAll(":scope > table > thead > tr > th");
    const last = cells[cells.length - 1];
    return {
      name: wrap.getAttribute("aria-label"),
      scrolls: wrap.scrollWidth > wrap.clientWidth,
      lastColumnRight: Math.ceil(last.getBoundingClientRect().right),
      viewport: window.innerWidth,
    };
  })`);
}

describeInBrowser("the dashboard's pages, in Chromium", (suite) => {
  let server: ServerProcess;
  let desktop: Page;

  const url = (path: string) => `${server.baseUrl}${path}`;

  async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(url(path), {
      method,
      headers: { "X-API-Key": DEV_KEY, "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async function signIn(page: Page) {
    await page.goto(url("/dashboard/sign-in"));
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(url("/dashboard/api-keys"));
  }

  /** Every table of the page fits the 1280 px window: no sideways scroll, the last column in view. */
  async function fitsDesktop(page: Page, path: string) {
    expect([path, await horizontalOverflow(page)]).toEqual([path, 0]);
    for (const fit of await tableFits(page)) {
      expect([path, fit.name, fit.scrolls]).toEqual([path, fit.name, false]);
      expect(fit.lastColumnRight).toBeLessThanOrEqual(fit.viewport);
    }
  }

  beforeAll(async () => {
    server = await startServer();
    let link: RegExpExecArray | null = null;
    for (let i = 0; i < 100 && !link; i++) {
      link = SETUP_LINK.exec(server.stderrLines.join("\n"));
      if (!link) await Bun.sleep(50);
    }
    if (!link) throw new Error(`no setup link printed:\n${server.lines.join("\n")}`);
    desktop = await suite.newPage();
    await desktop.goto(link[0]);
    await desktop.getByLabel("Email").fill(EMAIL);
    await desktop.getByLabel("Name (optional)").fill("Operator");
    await desktop.getByLabel("Password").fill(PASSWORD);
    await desktop.getByRole("button", { name: "Save and sign in" }).click();
    await desktop.waitForURL(url("/dashboard/api-keys"));
  });

  afterAll(async () => {
    await server?.stop();
  });

  test("API Keys with one key: every column, Actions included, is in view at 1280; the times are relative, exact on hover", async () => {
    const worker = await api("POST", "/v1/users", {
      type: "service_account",
      name: "Event Ingestion Worker",
      roles: ["event_ingestor"],
    });
    const expires = new Date(Date.now() + 30 * 86_400_000 + 3_600_000).toISOString();
    await api("POST", "/v1/secrets/api/keys", {
      name: "Ingestion key",
      service_account_id: worker.id,
      expires_at: expires,
    });
    await desktop.goto(url("/dashboard/api-keys"));
    await screenshots(desktop, "pages-api-keys-one");
    await fitsDesktop(desktop, "/dashboard/api-keys");
    const row = desktop.locator("main table > tbody > tr").first();
    expect(await row.getByRole("link", { name: "Revoke" }).isVisible()).toBe(true);
    const times = await row
      .locator("time")
      .evaluateAll((nodes) => nodes.map((n) => [n.textContent?.trim(), n.getAttribute("title")]));
    // Created, and Expires (Last used is an em dash: never used).
    expect(times).toHaveLength(2);
    expect(times[0]?.[0]).toBe("just now");
    expect(times[1]?.[0]).toBe("in 30 days");
    expect(times[1]?.[1]).toBe(`${expires.slice(0, 10)} ${expires.slice(11, 19)} UTC`);
    await screenshots(desktop, "pages-api-keys-one");
    expect(problemsOf(desktop)).toEqual([]);
  });

  test("API Keys with several long-named keys (one rotated), Service Accounts and Users: still in view at 1280", async () => {
    const billing = await api("POST", "/v1/users", {
      type: "service_account",
      name: "Billing Reconciliation Service for the EU region (nightly batch)",
      roles: ["event_reader", "event_ingestor"],
    });
    const keys: { id: string }[] = [];
    for (const name of [
      "Event Service Production Key for the eu-west-1 ingestion pipeline",
      "checkout-service-primary-ingestion-key-with-a-very-long-unbroken-name-0001",
      "Nightly reconciliation",
    ]) {
      keys.push(await api("POST", "/v1/secrets/api/keys", { name, service_account_id: billing.id }));
    }
    // A rotated key within its grace period: its row and its replacement's carry the rotation
    // note ("expires in …, replaced by …"), the widest Status cell there is.
    await api("POST", `/v1/secrets/api/keys/${keys[1]?.id}/rotate`, { grace_period_seconds: 3600 });
    await api("POST", "/v1/secrets/api/keys", {
      name: "Operator's own key for local debugging and one-off scripts",
      expires_at: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    });
    await api("POST", "/v1/users", {
      type: "user",
      email: "a.very.long.email.address.for.testing@subsidiary.example.com",
    });
    for (const [path, name] of [
      ["/dashboard/api-keys", "pages-api-keys-several"],
      ["/dashboard/service-accounts", "pages-service-accounts"],
      ["/dashboard/users", "pages-users"],
    ] as const) {
      await desktop.goto(url(path));
      await fitsDesktop(desktop, path);
      await screenshots(desktop, name);
    }
    await desktop.goto(url("/dashboard/api-keys"));
    expect(await desktop.locator("main table > tbody > tr").count()).toBe(6);
    expect(await desktop.locator("main table").innerText()).toMatch(/expires in \d+ min, replaced by /);
    expect(problemsOf(desktop)).toEqual([]);
  });

  test("Customers: listed, searched, and a portal link opened through the portal-session service (audited)", async () => {
    await api("POST", "/v1/customers", {
      external_id: "cus_acme_corporation_eu_0001",
      name: "Acme Corporation (Europe) Holdings",
      email: "billing-department-europe@acme-corporation.example.com",
    });
    await api("POST", "/v1/customers", { external_id: "cus_2", name: "Globex", email: "ap@globex.example" });
    await api("POST", "/v1/customers", { external_id: "cus_3", name: "Initech" });
    await desktop.goto(url("/dashboard/customers"));
    await fitsDesktop(desktop, "/dashboard/customers");
    expect(await desktop.locator("main table > tbody > tr").count()).toBe(3);
    await desktop.getByRole("searchbox", { name: "Search" }).fill("GLOBEX.example");
    await desktop.getByRole("button", { name: "Search", exact: true }).click();
    await desktop.waitForURL(/q=GLOBEX/);
    const found = await desktop.locator("main table > tbody > tr > th").allInnerTexts();
    expect(found).toEqual(["Globex"]);
    await desktop.getByRole("link", { name: "Clear" }).click();
    await desktop.getByRole("button", { name: "Portal link for Acme Corporation (Europe) Holdings" }).click();
    const dialog = desktop.getByRole("dialog", { name: "Portal link for Acme Corporation (Europe) Holdings" });
    await dialog.waitFor();
    const link = await dialog.getByLabel("Link").inputValue();
    expect(link).toStartWith(url("/portal?token="));
    expect(await dialog.getByRole("link", { name: "Open portal" }).getAttribute("href")).toBe(link);
    await screenshots(desktop, "pages-customers-portal-link");
    // The link works: the portal page shows that customer.
    const portal = await suite.newPage();
    await portal.goto(link);
    await portal.getByText("Acme Corporation (Europe) Holdings").first().waitFor();
    // Shown once: gone once the page is read again.
    await desktop.reload();
    expect(await desktop.content()).not.toContain(link);
    const audited = await api("GET", "/v1/audit-logs?action=customer.portal_session_created");
    expect(audited.items).toHaveLength(1);
    await screenshots(desktop, "pages-customers");
    expect(problemsOf(desktop)).toEqual([]);
  });

  test("Audit log: actions from the catalogue, grouped; names beside ids; a long diff keeps its After column in view", async () => {
    const long = `https://hooks.example.com/${"segment-".repeat(20)}end?signature=${"0123456789abcdef".repeat(6)}`;
    const customer = await api("GET", "/v1/customers/external/cus_3");
    await api("PUT", `/v1/customers/${customer.id}`, { name: "Initech Software", metadata: { callback: long } });
    const keys = await api("GET", "/v1/secrets/api/keys?limit=100");
    const nightly = keys.items.find((k: { name: string }) => k.name === "Nightly reconciliation");
    await api("DELETE", `/v1/secrets/api/keys/${nightly.id}`);

    await desktop.goto(url("/dashboard/audit"));
    // The action list: grouped by resource, "Any … action" first in each group.
    const groups = await desktop
      .locator("#f-action optgroup")
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute("label")));
    expect(groups).toEqual([
      "API keys",
      "Service accounts",
      "Users",
      "Customers",
      "Environments",
      "Tenant",
      "Integration secrets",
    ]);
    const keyActions = (await desktop.locator(`#f-action optgroup[label="API keys"] option`).allTextContents()).map(
      (t) => t.trim(),
    );
    expect(keyActions).toEqual([
      "Any API key action",
      "API key created",
      "API key rotated",
      "API key revoked",
      "API key verified",
      "API key reported leaked",
      "Leaked API key acknowledged",
      "API key's limits changed",
    ]);
    // The newest row: the revocation, with the key's name beside its id.
    const newest = desktop.locator("main table > tbody > tr.entry").first();
    expect(await newest.locator("th").innerText()).toContain("API key revoked");
    expect(await newest.locator("td.resource").innerText()).toContain("Nightly reconciliation");
    expect(await newest.locator("td.resource").innerText()).toContain(nightly.id);
    // The customer update's diff, opened: the long value wraps inside its row.
    const update = desktop.locator("main table > tbody > tr.entry", { hasText: "Customer updated" });
    expect(await update.locator("td.resource").innerText()).toContain("Initech Software");
    const changes = update.locator("xpath=following-sibling::tr[1]");
    await changes.locator("summary").click();
    expect(await changes.locator("table.diff").innerText()).toContain("metadata.callback");
    await fitsDesktop(desktop, "/dashboard/audit");
    const diffFit = await changes.locator("table.diff").evaluate((diff: any) => ({
      right: diff.getBoundingClientRect().right as number,
      wrapRight: diff.closest(".table-wrap").getBoundingClientRect().right as number,
    }));
    expect(diffFit.right).toBeLessThanOrEqual(diffFit.wrapRight);
    await screenshots(desktop, "pages-audit");

    // "Any API key action": every key row, and only those.
    await desktop.getByLabel("Action").selectOption("secret.*");
    await desktop.getByRole("button", { name: "Filter" }).click();
    await desktop.waitForURL(/action=secret\.\*/);
    const actions = await desktop.locator("main table > tbody > tr.entry > th .mono").allInnerTexts();
    expect(actions.length).toBeGreaterThan(5);
    expect(actions.every((a) => a.startsWith("secret."))).toBe(true);
    expect(await desktop.locator(".filter-panel > summary").innerText()).toContain("Action: any API key action");
    await desktop.getByLabel("Action").selectOption({ label: "API key revoked" });
    await desktop.getByRole("button", { name: "Filter" }).click();
    await desktop.waitForURL(/action=secret\.revoked/);
    expect(await desktop.locator("main table > tbody > tr.entry > th .mono").allInnerTexts()).toEqual([
      "secret.revoked",
    ]);
    // The other forms the API takes select the option that means the same.
    await desktop.goto(url("/dashboard/audit?action=secret"));
    expect(await desktop.getByLabel("Action").inputValue()).toBe("secret.*");
    await desktop.goto(url("/dashboard/audit?action=secret.deleted"));
    expect(await desktop.getByLabel("Action").inputValue()).toBe("secret.revoked");
    expect(await desktop.locator("main table > tbody > tr.entry > th .mono").allInnerTexts()).toEqual([
      "secret.revoked",
    ]);
    expect(problemsOf(desktop)).toEqual([]);
  });

  /** Chooses an environment in the switcher, which applies itself (a form post, then the page again). */
  async function switchTo(page: Page, environment: string) {
    const loaded = page.waitForEvent("load");
    await page.getByLabel("Environment").selectOption({ label: environment });
    await loaded;
  }

  test("Production is marked on every page; Development is not", async () => {
    await desktop.goto(url("/dashboard/api-keys"));
    expect(await desktop.getByRole("note").count()).toBe(0);
    await switchTo(desktop, "Production");
    for (const path of PAGES) {
      await desktop.goto(url(path));
      expect([path, await desktop.locator("header").getByRole("note").innerText()]).toEqual([
        path,
        "Production — live keys",
      ]);
    }
    await desktop.goto(url("/dashboard/api-keys"));
    await screenshots(desktop, "pages-production");
    await switchTo(desktop, "Development");
    expect(await desktop.getByRole("note").count()).toBe(0);
    expect(problemsOf(desktop)).toEqual([]);
  });

  test("the nav links to the API reference; an unknown dashboard page is an HTML 404, logged with its path and no query", async () => {
    await desktop.goto(url("/dashboard/events"));
    await desktop.getByRole("link", { name: "API reference" }).click();
    await desktop.waitForURL(url("/swagger"));
    const missing = await desktop.goto(url("/dashboard/no-such-page?token=tgp_should_never_be_logged"));
    expect(missing?.status()).toBe(404);
    expect(await desktop.getByRole("heading", { level: 1 }).innerText()).toBe("Page not found");
    // The signed-in layout: the nav leads on.
    expect(await desktop.getByRole("navigation", { name: "Sections" }).isVisible()).toBe(true);
    await screenshots(desktop, "pages-not-found");
    const signedOut = await suite.newPage("mobile");
    const anonymous = await signedOut.goto(url("/dashboard/no-such-page"));
    expect(anonymous?.status()).toBe(404);
    expect(await signedOut.getByRole("link", { name: "Sign in to the dashboard" }).isVisible()).toBe(true);
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !line; i++) {
      line = logEntries(server.lines).find((e) => e.msg === "request" && e.path === "/dashboard/no-such-page");
      if (!line) await Bun.sleep(50);
    }
    expect(line).toMatchObject({ method: "GET", status: 404, path: "/dashboard/no-such-page" });
    expect(server.lines.join("\n")).not.toContain("tgp_should_never_be_logged");
    // The 404 page itself: the console reports the status, and nothing else went wrong.
    expect(problemsOf(desktop).filter((p) => !p.includes("404"))).toEqual([]);
    problemsOf(desktop).length = 0;
  });

  test("at 390 px: no page scrolls sideways, the audit filters start folded, and the chart's labels are readable", async () => {
    await api("POST", "/v1/events/bulk", {
      events: Array.from({ length: 14 }, (_, i) => ({
        event_name: i % 2 ? "api_call" : "storage_gb",
        external_customer_id: "cus_acme_corporation_eu_0001",
        timestamp: new Date(Date.now() - (i % 7) * 86_400_000).toISOString(),
        properties: { region: "eu-west-1", path: `/v1/${"resource/".repeat(8)}${i}` },
      })),
    });
    const mobile = await suite.newPage("mobile");
    await signIn(mobile);
    for (const path of PAGES) {
      await mobile.goto(url(path));
      expect([path, await horizontalOverflow(mobile)]).toEqual([path, 0]);
    }
    await mobile.goto(url("/dashboard/audit"));
    expect(await mobile.locator(".filter-panel").getAttribute("open")).toBeNull();
    await screenshots(mobile, "pages-audit-phone");
    await mobile.locator(".filter-panel > summary").click();
    expect(await mobile.getByLabel("Action").isVisible()).toBe(true);
    // With a filter in force the panel stays open, so it shows what is applied.
    await mobile.goto(url("/dashboard/audit?action=secret.*"));
    expect(await mobile.locator(".filter-panel").getAttribute("open")).toBe("");

    await mobile.goto(url("/dashboard/events"));
    const sizes = await mobile.evaluate<number[]>(
      `[...document.querySelectorAll(".chart-days span, .chart-peak")].map((n) => parseFloat(getComputedStyle(n).fontSize))`,
    );
    expect(sizes).toHaveLength(4);
    for (const size of sizes) expect(size).toBeGreaterThanOrEqual(12);
    await screenshots(mobile, "pages-events");
    await desktop.goto(url("/dashboard/events"));
    await fitsDesktop(desktop, "/dashboard/events");
    expect(problemsOf(mobile)).toEqual([]);
  });
});
