// Issue 29 (dashboard) in Chromium: a key's rate limits and credits are read on API Keys and set on
// the key's Limits page with the keyboard alone (add a limit in a blank row, remove one, set and
// reset credits), without sideways scrolling at 1280 and at 390 px; a service account's the same.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { describeInBrowser, focusedId, horizontalOverflow, problemsOf, screenshots } from "../support/browser";
import { type ServerProcess, startServer } from "../support/process";

const SETUP_LINK = /http:\/\/127\.0\.0\.1:\d+\/dashboard\/setup\?token=tgp_[0-9a-f]{64}/;
const EMAIL = "ops@example.com";
const PASSWORD = "a long passphrase, really";

/** How Chromium reports a page answered with an error status (a refused form is one). */
const refused = (status: number, text: string) =>
  `console: Failed to load resource: the server responded with a status of ${status} (${text})`;

describeInBrowser("rate limits and credits in the dashboard, in Chromium", (suite) => {
  let server: ServerProcess;
  let page: Page;
  let token = "";
  let keyId = "";
  let accountId = "";

  const url = (path: string) => `${server.baseUrl}${path}`;

  async function api(method: string, path: string, body?: unknown) {
    const res = await fetch(url(path), {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as any };
  }

  /** Presses Tab until the element with `id` has the focus (at most `max` times). */
  async function tabTo(p: Page, id: string, max = 60) {
    for (let i = 0; i < max; i++) {
      if ((await focusedId(p)) === id) return;
      await p.keyboard.press("Tab");
    }
    throw new Error(`Tab never reached #${id}`);
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
    const account = await api("POST", "/v1/users", {
      type: "service_account",
      name: "Billing worker",
      roles: ["event_ingestor"],
    });
    accountId = account.body.id;
    const key = await api("POST", "/v1/secrets/api/keys", {
      name: "Billing production key",
      service_account_id: accountId,
      ratelimits: [
        { name: "requests", limit: 100, duration_ms: 60_000, auto_apply: true },
        { name: "orders.write", limit: 5, duration_ms: 1000 },
      ],
      credits: { remaining: 950, refill: { interval: "monthly", amount: 1000, refill_day: 31 } },
    });
    expect(key.status).toBe(201);
    keyId = key.body.id;
  });

  afterAll(async () => {
    await server?.stop();
  });

  test("API Keys shows each key's limits in words and its credits, and fits at both widths", async () => {
    await page.goto(url("/dashboard/api-keys"));
    const row = page.locator("main table > tbody > tr", { hasText: "Billing production key" });
    const text = (await row.innerText()).replace(/\s+/g, " ");
    expect(text).toContain("requests: 100 per minute");
    expect(text).toContain("orders.write: 5 per second (when named)");
    expect(text).toContain("Credits: 950 left, refilled to 1000 monthly on day 31");
    expect(await horizontalOverflow(page)).toBe(0);
    await screenshots(page, "dashboard-limits-keys-list");
    const mobile = await suite.newPage("mobile");
    await mobile.goto(url("/dashboard/sign-in"));
    await mobile.getByLabel("Email").fill(EMAIL);
    await mobile.getByLabel("Password").fill(PASSWORD);
    await mobile.getByRole("button", { name: "Sign in" }).click();
    await mobile.waitForURL(url("/dashboard/api-keys"));
    expect(await horizontalOverflow(mobile)).toBe(0);
    await mobile.goto(url(`/dashboard/api-keys/${keyId}/limits`));
    expect(await horizontalOverflow(mobile)).toBe(0);
    await screenshots(mobile, "dashboard-limits-key-page-mobile");
    expect(problemsOf(page)).toEqual([]);
    expect(problemsOf(mobile)).toEqual([]);
  });

  test("with the keyboard alone: add a limit in a blank row, remove one, save; the page shows the change", async () => {
    await page.goto(url("/dashboard/api-keys"));
    await page.getByRole("link", { name: "Limits of Billing production key" }).click();
    await page.waitForURL(url(`/dashboard/api-keys/${keyId}/limits`));
    expect(await page.getByRole("heading", { level: 1 }).innerText()).toBe("Limits of Billing production key");
    // The account's shared limits are named on the key's page.
    expect(await page.getByRole("heading", { name: "Shared by its service account, Billing worker" }).count()).toBe(1);

    await tabTo(page, "rl-name-2");
    await page.keyboard.type("search");
    await page.keyboard.press("Tab");
    await page.keyboard.type("10");
    await page.keyboard.press("Tab");
    await page.keyboard.type("15");
    await page.keyboard.press("Tab");
    expect(await focusedId(page)).toBe("rl-unit-2");
    await page.locator("#rl-unit-2").selectOption("s");
    await page.keyboard.press("Tab");
    expect(await focusedId(page)).toBe("rl-applied-2");
    await page.locator("#rl-applied-2").selectOption("named");
    await tabTo(page, "rl-remove-1");
    await page.keyboard.press("Space");
    await screenshots(page, "dashboard-limits-key-form");
    await page.getByRole("button", { name: "Save rate limits" }).focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(url(`/dashboard/api-keys/${keyId}/limits?notice=ratelimits#main`));
    expect(await page.getByRole("status").innerText()).toContain("Rate limits saved");
    const now = (await page.locator("section.limits-now").first().innerText()).replace(/\s+/g, " ");
    expect(now).toContain("requests 100 per minute on every request");
    expect(now).toContain("search 10 per 15 seconds when named");
    expect(now).not.toContain("orders.write");
    expect((await api("GET", `/v1/secrets/api/keys/${keyId}`)).body.ratelimits).toEqual([
      { name: "requests", limit: 100, duration_ms: 60_000, auto_apply: true },
      { name: "search", limit: 10, duration_ms: 15_000, auto_apply: false },
    ]);
    expect(await horizontalOverflow(page)).toBe(0);
    expect(problemsOf(page)).toEqual([]);
  });

  test("credits: a refusal in the API's words at the page's own address; then set and reset", async () => {
    await page.goto(url(`/dashboard/api-keys/${keyId}/limits`));
    await page.getByLabel("Remaining credits").fill("");
    await page.getByRole("button", { name: "Save credits" }).click();
    const alert = page.locator("#credits-title ~ form [role=alert]");
    await alert.waitFor();
    expect(await alert.innerText()).toContain("Credits with a refill need a remaining count");
    expect(page.url()).toBe(url(`/dashboard/api-keys/${keyId}/limits`));
    await screenshots(page, "dashboard-limits-key-refused");

    await page.getByLabel("Remaining credits").fill("12");
    await page.getByLabel("Refill", { exact: true }).selectOption("daily");
    await page.getByLabel("Refill amount").fill("300");
    await page.getByRole("button", { name: "Save credits" }).click();
    await page.waitForURL(url(`/dashboard/api-keys/${keyId}/limits?notice=credits#main`));
    expect(await page.locator("section.limits-now").first().innerText()).toContain(
      "Credits: 12 left, refilled to 300 daily at 00:00 UTC",
    );
    await page.getByLabel("Reset to").focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(url(`/dashboard/api-keys/${keyId}/limits?notice=reset#main`));
    expect((await api("GET", `/v1/secrets/api/keys/${keyId}`)).body.credits).toEqual({
      remaining: 300,
      refill: { interval: "daily", amount: 300, refill_day: null },
    });
    expect(problemsOf(page)).toEqual([refused(400, "Bad Request")]);
  });

  test("a service account's limits: on Service Accounts and on its own page, at both widths", async () => {
    await page.goto(url("/dashboard/service-accounts"));
    await page.getByRole("link", { name: "Limits of Billing worker" }).click();
    await page.waitForURL(url(`/dashboard/service-accounts/${accountId}/limits`));
    await page.locator("#rl-name-0").fill("ingest");
    await page.locator("#rl-limit-0").fill("1000");
    await page.locator("#rl-every-0").fill("1");
    await page.locator("#rl-unit-0").selectOption("h");
    await page.getByRole("button", { name: "Save rate limits" }).click();
    await page.waitForURL(url(`/dashboard/service-accounts/${accountId}/limits?notice=ratelimits#main`));
    await screenshots(page, "dashboard-limits-account-page");
    await page.goto(url("/dashboard/service-accounts"));
    const row = page.locator("main table > tbody > tr", { hasText: "Billing worker" });
    expect((await row.innerText()).replace(/\s+/g, " ")).toContain("ingest: 1000 per hour");
    expect(await horizontalOverflow(page)).toBe(0);
    await screenshots(page, "dashboard-limits-accounts-list");
    // The one problem the page has had: the refused credits form of the test before.
    expect(problemsOf(page)).toEqual([refused(400, "Bad Request")]);
  });
});
