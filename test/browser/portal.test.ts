// The customer portal page in a real Chromium, against a real server process: a portal link
// opens that one customer's details and usage; an expired or garbage token, or none, says so;
// and the portal API answers a page on an allowed origin while the browser blocks any other.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import {
  describeInBrowser,
  focusedId,
  horizontalOverflow,
  type OriginServer,
  problemsOf,
  screenshots,
  serveOrigin,
} from "../support/browser";
import { DEV_KEY } from "../support/harness";
import { logEntries, type ServerProcess, startServer } from "../support/process";

/**
 * A page of another site that calls the portal API the way a customer's own portal page would:
 * the API address and the token come in its fragment; what fetch gave it is written to #result.
 */
const CALLER_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another site</title></head>
<body><pre id="result">pending</pre><script>
  const params = new URLSearchParams(location.hash.slice(1));
  fetch(params.get("api"), { headers: { "X-Session-Token": params.get("token") } })
    .then(async (response) => ({ status: response.status, body: await response.json() }))
    .catch((error) => ({ blocked: String(error) }))
    .then((result) => {
      const out = document.getElementById("result");
      out.textContent = JSON.stringify(result);
      out.dataset.done = "yes";
    });
</script></body></html>`;

const EXPIRED = "This portal link has expired";

describeInBrowser("the customer portal page, in Chromium", (suite) => {
  let server: ServerProcess;
  let allowedSite: OriginServer;
  let otherSite: OriginServer;
  let customerId: string;

  async function api(method: string, path: string, body?: unknown) {
    const response = await fetch(`${server.baseUrl}${path}`, {
      method,
      headers: { "X-API-Key": DEV_KEY, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  async function sendEvents(customer: string, counts: Record<string, number>) {
    const events = Object.entries(counts).flatMap(([event_name, n]) =>
      Array.from({ length: n }, () => ({ event_name, external_customer_id: customer })),
    );
    await api("POST", "/v1/events/bulk", { events });
  }

  /** A new portal link for acme, as GET /v1/customers/portal/{external_id} hands it out. */
  async function portalLink(): Promise<{ url: string; token: string }> {
    return api("GET", "/v1/customers/portal/acme");
  }

  async function usageRows(page: Page): Promise<string[][]> {
    return page
      .getByRole("table")
      .locator("tbody tr")
      .evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll("td")].map((cell) => cell.textContent ?? "")));
  }

  async function notice(page: Page): Promise<{ title: string; text: string }> {
    const alert = page.getByRole("alert");
    await alert.waitFor();
    return { title: await alert.getByRole("heading").innerText(), text: await alert.locator("p").innerText() };
  }

  beforeAll(async () => {
    allowedSite = serveOrigin(CALLER_PAGE);
    otherSite = serveOrigin(CALLER_PAGE);
    server = await startServer({ env: { TOLLGATE_CUSTOMER_PORTAL_ALLOWED_ORIGINS: allowedSite.origin } });
    const customer = await api("POST", "/v1/customers", {
      external_id: "acme",
      name: "Acme Corporation",
      email: "billing@acme.example",
      address_line1: "1 Rue de Rivoli",
      address_city: "Paris",
      address_postal_code: "75001",
      address_country: "FR",
    });
    customerId = customer.id;
    await api("POST", "/v1/customers", { external_id: "globex", name: "Globex" });
    await sendEvents("acme", { api_call: 5, "storage.gb_hours": 2, export_finished: 1 });
    await sendEvents("globex", { api_call: 40, globex_only: 3 });
  });

  afterAll(async () => {
    await server?.stop();
    await allowedSite?.stop();
    await otherSite?.stop();
  });

  test("a portal link shows that customer, and only that customer's usage; the token leaves the address bar", async () => {
    const { url, token } = await portalLink();
    // The default link: this server's own page.
    expect(url).toBe(`${server.baseUrl}/portal?token=${token}`);
    const page = await suite.newPage();
    await page.goto(url);
    await page.getByRole("table").waitFor();

    expect(await page.getByRole("heading", { level: 1 }).innerText()).toBe("Acme Corporation");
    expect(await page.title()).toBe("Acme Corporation · Customer portal");
    const details = await page.locator("#details").innerText();
    expect(details).toContain("acme");
    expect(details).toContain("billing@acme.example");
    expect(details).toContain("1 Rue de Rivoli\n75001 Paris\nFrance");
    expect(await usageRows(page)).toEqual([
      ["api_call", "5"],
      ["storage.gb_hours", "2"],
      ["export_finished", "1"],
    ]);
    expect(await page.locator("tfoot").innerText()).toMatch(/Total\s+8/);
    expect(await page.locator("body").innerText()).not.toContain("globex");

    // Out of the address (and so of history and bookmarks) as soon as the page has it.
    expect(page.url()).toBe(`${server.baseUrl}/portal`);
    expect(await page.evaluate<string>("location.href")).not.toContain(token);
    // A reload keeps working: the token stays with this tab only.
    await page.reload();
    await page.getByRole("table").waitFor();
    expect(await usageRows(page)).toHaveLength(3);
    expect(problemsOf(page)).toEqual([]);
    await screenshots(page, "portal");
  });

  test("Refresh works from the keyboard and reads the usage again", async () => {
    const page = await suite.newPage();
    await page.goto((await portalLink()).url);
    await page.getByRole("table").waitFor();
    await sendEvents("acme", { api_call: 2 });

    await page.keyboard.press("Tab");
    expect(await page.getByRole("button", { name: "Refresh" }).isVisible()).toBe(true);
    expect(await focusedId(page)).toBe("refresh");
    await page.keyboard.press("Enter");
    await page.getByRole("status").getByText("Usage updated").waitFor();
    expect((await usageRows(page))[0]).toEqual(["api_call", "7"]);
    expect(await page.locator("tfoot").innerText()).toMatch(/Total\s+10/);
    // Focus stays where the person left it.
    expect(await focusedId(page)).toBe("refresh");
    expect(problemsOf(page)).toEqual([]);
  });

  test("at 390 px wide: everything readable, nothing wider than the screen", async () => {
    const page = await suite.newPage("mobile");
    await page.goto((await portalLink()).url);
    await page.getByRole("table").waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    for (const text of ["Acme Corporation", "billing@acme.example", "storage.gb_hours"]) {
      expect(await page.getByText(text).first().isVisible()).toBe(true);
    }
    expect(problemsOf(page)).toEqual([]);
  });

  test("a garbage token says the link has expired, and to ask for a new one", async () => {
    const page = await suite.newPage();
    await page.goto(`${server.baseUrl}/portal?token=garbage`);
    const shown = await notice(page);
    expect(shown.title).toBe(EXPIRED);
    expect(shown.text).toContain("Ask for a new one");
    expect(page.url()).toBe(`${server.baseUrl}/portal`);
    expect(await page.getByRole("table").isVisible()).toBe(false);
    await screenshots(page, "portal-expired");
  });

  test("a session signed out since: the open page says it has expired on its next load", async () => {
    const page = await suite.newPage();
    await page.goto((await portalLink()).url);
    await page.getByRole("table").waitFor();
    await api("DELETE", `/v1/customers/${customerId}/portal-sessions`);
    await page.reload();
    expect((await notice(page)).title).toBe(EXPIRED);
    // The dead token is forgotten: another reload has no link at all.
    await page.reload();
    expect((await notice(page)).title).toBe("No portal link");
  });

  test("no token: says the page opens from a portal link", async () => {
    const page = await suite.newPage("mobile");
    await page.goto(`${server.baseUrl}/portal`);
    const shown = await notice(page);
    expect(shown.title).toBe("No portal link");
    expect(shown.text).toContain("portal link you were sent");
    expect(problemsOf(page)).toEqual([]);
    await screenshots(page, "portal-no-link");
  });

  test("a page on an allowed origin reads the portal API; the browser blocks one on another origin", async () => {
    const { token } = await portalLink();
    const call = async (site: OriginServer) => {
      const page = await suite.newPage();
      const fragment = new URLSearchParams({ api: `${server.baseUrl}/v1/customer/portal/info`, token });
      await page.goto(`${site.origin}/#${fragment}`);
      const result = page.locator("#result[data-done]");
      await result.waitFor();
      return { result: JSON.parse(await result.innerText()), problems: problemsOf(page) };
    };

    const allowed = await call(allowedSite);
    expect(allowed.result.status).toBe(200);
    expect(allowed.result.body).toMatchObject({ external_id: "acme", name: "Acme Corporation" });
    expect(allowed.problems).toEqual([]);

    const other = await call(otherSite);
    expect(other.result).toEqual({ blocked: "TypeError: Failed to fetch" });
    expect(other.problems.join("\n")).toContain("blocked by CORS policy");

    // Both asked first (X-Session-Token makes the call non-simple); only the allowed one went on.
    const portalLines = logEntries(server.lines).filter(
      (entry) => entry.msg === "request" && entry.method === "OPTIONS",
    );
    expect(portalLines.length).toBeGreaterThanOrEqual(2);
  });
});
