// Leaked keys in Chromium (issue 30, SPEC §16): a key reported leaked is named in a banner on
// API Keys, saying when, who reported it, where it was found and whether it still works, until
// the owner acknowledges it (a form, from the keyboard too); leaks of another environment are
// counted by name. At 1280 and 390 px wide, without sideways scrolling.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { generateKeyPairSync, sign } from "node:crypto";
import type { Page } from "playwright-core";
import { describeInBrowser, horizontalOverflow, problemsOf, screenshots } from "../support/browser";
import { type ServerProcess, startServer } from "../support/process";

const SETUP_LINK = /http:\/\/127\.0\.0\.1:\d+\/dashboard\/setup\?token=tgp_[0-9a-f]{64}/;
const EMAIL = "ops@example.com";
const PASSWORD = "a long passphrase, really";
const FOUND_AT = "https://github.com/octocat/billing/blob/9f2c1e0/deploy/.env.production";

describeInBrowser("leaked keys on API Keys, in Chromium", (suite) => {
  let server: ServerProcess;
  let page: Page;
  let token = "";
  const github = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const GITHUB_KEY_ID = "6a7b9c1d";

  const url = (path: string) => `${server.baseUrl}${path}`;

  async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(url(path), {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as any };
  }

  async function newKey(name: string, headers: Record<string, string> = {}): Promise<string> {
    const res = await api("POST", "/v1/secrets/api/keys", { name }, headers);
    expect(res.status).toBe(201);
    return res.body.api_key;
  }

  /** The banner's entries, each as its text, whitespace collapsed. */
  function leaksOf(p: Page): Promise<string[]> {
    return p
      .locator(".banner.leak li")
      .evaluateAll((items) => items.map((i) => (i.textContent ?? "").replace(/\s+/g, " ").trim()));
  }

  beforeAll(async () => {
    server = await startServer({
      env: {
        TOLLGATE_LEAKED_KEYS_GITHUB_PUBLIC_KEYS: JSON.stringify([
          { key_identifier: GITHUB_KEY_ID, key: github.publicKey.export({ type: "spki", format: "pem" }) },
        ]),
        // GitHub's finds only reported: the banner's "still works" case.
        TOLLGATE_LEAKED_KEYS_GITHUB_REVOKE: "false",
      },
    });
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

  test("the banner names each leak, how it was found and whether it still works; leaks elsewhere are counted", async () => {
    const reported = await newKey("Nightly reconciliation");
    const scanned = await newKey("Checkout service (eu-west-1)");
    await newKey("Ingest worker");
    const environments = (await api("GET", "/v1/environments")).body.items as { id: string; type: string }[];
    const production = environments.find((e) => e.type === "production")?.id as string;
    const live = await newKey("Payments (live)", { "x-environment-id": production });

    const report = await fetch(url("/v1/secrets/leaked"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ keys: [reported, live] }),
    });
    expect(report.status).toBe(202);
    const body = JSON.stringify([{ token: scanned, type: "tollgate_api_key", url: FOUND_AT, source: "content" }]);
    const delivered = await fetch(url("/v1/webhooks/github/secret-scanning"), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "github-public-key-identifier": GITHUB_KEY_ID,
        "github-public-key-signature": sign("sha256", Buffer.from(body), {
          key: github.privateKey,
          dsaEncoding: "der",
        }).toString("base64"),
      },
      body,
    });
    expect(delivered.status).toBe(200);

    await page.goto(url("/dashboard/api-keys"));
    const banner = page.getByRole("region", { name: "2 keys were reported leaked" });
    await banner.waitFor();
    const [newest, oldest] = await leaksOf(page);
    expect(newest).toContain("Checkout service (eu-west-1)");
    expect(newest).toContain(`by GitHub secret scanning, found at ${FOUND_AT}.`);
    expect(newest).toContain("It still works: revoke it, or rotate it and revoke the old one.");
    expect(oldest).toContain("Nightly reconciliation");
    expect(oldest).toContain("by someone who found it.");
    expect(oldest).toContain("It was revoked at once: it no longer works.");
    expect(await banner.innerText()).toContain("Production: 1 leaked key to acknowledge.");
    // The one that still works offers Revoke there; a revoked one does not.
    expect(await banner.getByRole("link", { name: "Revoke" }).count()).toBe(1);
    expect(await banner.getByRole("link", { name: FOUND_AT }).getAttribute("rel")).toBe("noopener noreferrer");
    await screenshots(page, "dashboard-leaked-banner");
    for (const width of ["desktop", "mobile"] as const) {
      const sized = await suite.newPage(width);
      await sized.context().addCookies(await page.context().cookies());
      await sized.goto(url("/dashboard/api-keys"));
      expect({ width, overflow: await horizontalOverflow(sized) }).toEqual({ width, overflow: 0 });
      expect(problemsOf(sized)).toEqual([]);
    }
    expect(problemsOf(page)).toEqual([]);
  });

  test("Acknowledge from the keyboard: that leak leaves the banner, the others stay, the audit log says who", async () => {
    await page.goto(url("/dashboard/api-keys"));
    const acknowledge = page.getByRole("button", { name: "Acknowledge the leak of Nightly reconciliation" });
    await acknowledge.focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(url("/dashboard/api-keys?notice=acknowledged"));
    expect(await page.getByRole("status").innerText()).toContain("Leak acknowledged");
    const banner = page.getByRole("region", { name: "A key was reported leaked" });
    await banner.waitFor();
    const left = await leaksOf(page);
    expect(left).toHaveLength(1);
    expect(left[0]).toContain("Checkout service (eu-west-1)");

    await page.getByRole("button", { name: "Acknowledge the leak of Checkout service (eu-west-1)" }).click();
    await page.waitForURL(url("/dashboard/api-keys?notice=acknowledged"));
    // This environment has none left; Production's is still counted.
    const elsewhere = page.getByRole("region", { name: "Leaked keys in another environment" });
    expect(await elsewhere.innerText()).toContain("Production: 1 leaked key to acknowledge.");
    await screenshots(page, "dashboard-leaked-elsewhere");

    await page.goto(url("/dashboard/audit?action=secret.leak_acknowledged"));
    const rows = page.locator("main table > tbody > tr.entry");
    expect(await rows.count()).toBe(2);
    expect(await rows.first().innerText()).toContain("Leaked API key acknowledged");
    expect(problemsOf(page)).toEqual([]);
  });
});
