// The dashboard over HTTP (app.handle): its session cookie, the Origin and CSRF checks on every
// change, escaping, and the way back to sign-in. The browser suite (test/browser/dashboard.test.ts)
// drives the same pages in Chromium.
import { beforeEach, describe, expect, test } from "bun:test";
import { DASHBOARD_ORIGIN, DashboardClient } from "./support/dashboard-client";
import { addPerson, type SignInHarness, signInHarness } from "./support/sign-in";

const ORIGIN = DASHBOARD_ORIGIN;
const EMAIL = "ada@example.com";
const PASSWORD = "correct horse battery";

/**
 * The dashboard client of the other suites (test/support/dashboard-client.ts), comparing pages
 * with only their whitespace collapsed, plus the helpers these tests use.
 */
class Browser extends DashboardClient {
  protected override normalize(text: string): string {
    return text.replace(/\s+/g, " ");
  }

  post(path: string, form: Record<string, string | string[]>, origin: string | null = ORIGIN) {
    return this.request("POST", path, form, origin);
  }

  /** The CSRF token on a page (every form of a signed-in page carries it). */
  async csrf(path = "/dashboard/api-keys"): Promise<string> {
    const page = await this.get(path);
    const token = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1];
    if (!token) throw new Error(`no CSRF token on ${path}: ${page.status}`);
    return token;
  }

  async signIn(email = EMAIL, password = PASSWORD) {
    return this.post("/dashboard/sign-in", { email, password });
  }
}

describe("the dashboard over HTTP", () => {
  let h: SignInHarness;
  let browser: Browser;

  beforeEach(async () => {
    h = await signInHarness();
    await addPerson(h, EMAIL, PASSWORD, "Ada");
    browser = new Browser(h);
  });

  test("signed out, every page leads to sign-in and says where it was going", async () => {
    for (const path of [
      "/dashboard/api-keys",
      "/dashboard/service-accounts",
      "/dashboard/users",
      "/dashboard/audit",
      "/dashboard/events",
    ]) {
      const page = await browser.get(path);
      expect(page.status).toBe(303);
      expect(page.headers.get("location")).toBe(`/dashboard/sign-in?next=${encodeURIComponent(path)}`);
    }
    expect((await browser.get("/dashboard")).headers.get("location")).toBe("/dashboard/api-keys");
    const signIn = await browser.get("/dashboard/sign-in");
    expect(signIn.status).toBe(200);
    expect(signIn.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(signIn.text).toContain('<label for="email">Email</label>');
  });

  test("sign-in sets an HttpOnly, SameSite=Strict session cookie on /dashboard; a wrong password shows the API's message", async () => {
    const wrong = await browser.signIn(EMAIL, "not the password");
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain("Invalid email or password");
    expect(browser.cookies.size).toBe(0);

    const ok = await browser.signIn();
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/dashboard/api-keys");
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith("tollgate_session="));
    expect(cookie).toMatch(/^tollgate_session=tgs_[0-9a-f]{64}; Path=\/dashboard; HttpOnly; SameSite=Strict; Expires=/);
    expect(cookie).not.toContain("Secure");
    const page = await browser.get("/dashboard/api-keys");
    expect(page.status).toBe(200);
    expect(page.text).toContain("<h1>API Keys</h1>");
    // The cookie never opens the API: /v1 reads the Authorization header only.
    const api = await h.app.handle(
      new Request(`${ORIGIN}/v1/users/me`, {
        headers: { cookie: `tollgate_session=${browser.cookies.get("tollgate_session")}` },
      }),
    );
    expect(api.status).toBe(401);
  });

  test("a sign-in form posted from another origin is refused before any password is checked", async () => {
    const refused = await browser.post(
      "/dashboard/sign-in",
      { email: EMAIL, password: PASSWORD },
      "http://evil.example",
    );
    expect(refused.status).toBe(403);
    expect(refused.text).toContain("This form was sent from another site");
    expect(browser.cookies.size).toBe(0);
  });

  test("every change needs this dashboard's Origin and the session's CSRF token", async () => {
    await browser.signIn();
    const csrf = await browser.csrf();
    const form = { csrf, name: "Worker", roles: "event_ingestor" };
    const foreign = await browser.post("/dashboard/service-accounts", form, "http://evil.example");
    expect(foreign.status).toBe(403);
    expect(foreign.text).toContain("This form was sent from another site");
    const noOrigin = await browser.post("/dashboard/service-accounts", form, null);
    expect(noOrigin.status).toBe(403);
    const noToken = await browser.post("/dashboard/service-accounts", { name: "Worker", roles: "event_ingestor" });
    expect(noToken.status).toBe(403);
    expect(noToken.text).toContain("This form has expired or was not sent by this dashboard");
    const otherToken = await browser.post("/dashboard/service-accounts", { ...form, csrf: `${csrf.slice(0, -2)}xx` });
    expect(otherToken.status).toBe(403);
    const search = await h.call("POST", "/v1/users/search", { body: { type: "service_account" } });
    expect(search.body.items).toEqual([]);

    const done = await browser.post("/dashboard/service-accounts", form);
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe("/dashboard/service-accounts?notice=created");
    const after = await h.call("POST", "/v1/users/search", { body: { type: "service_account" } });
    expect(after.body.items.map((a: { name: string; roles: string[] }) => [a.name, a.roles])).toEqual([
      ["Worker", ["event_ingestor"]],
    ]);
    // Another session's token is not this one's.
    const other = new Browser(h);
    await other.signIn();
    const stolen = await other.post("/dashboard/service-accounts", { ...form, csrf });
    expect(stolen.status).toBe(403);
  });

  test("every value is escaped: a service account named like markup shows as text", async () => {
    await browser.signIn();
    const name = `<img src=x onerror=alert(1)>"'&`;
    const created = await browser.post("/dashboard/service-accounts", {
      csrf: await browser.csrf(),
      name,
      roles: "event_reader",
    });
    expect(created.status).toBe(303);
    const page = await browser.get("/dashboard/service-accounts");
    expect(page.text).not.toContain("<img src=x");
    expect(page.text).toContain("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;");
    const audit = await browser.get("/dashboard/audit");
    expect(audit.text).not.toContain("<img src=x");
  });

  test("a refused action shows the API's own words", async () => {
    await browser.signIn();
    const none = await browser.post("/dashboard/service-accounts", { csrf: await browser.csrf(), name: "No roles" });
    expect(none.status).toBe(400);
    expect(none.text).toContain("Service accounts must have at least one role assigned");
    expect(none.text).toContain('<dialog id="create-account"');
    const key = await browser.post("/dashboard/api-keys", {
      csrf: await browser.csrf(),
      name: "k",
      account_type: "service_account",
      service_account_id: "usr_nobody",
      expiration: "never",
    });
    expect(key.status).toBe(404);
    expect(key.text).toContain("Service account not found");
  });

  test("the service-account table counts each account's live keys in this environment", async () => {
    await browser.signIn();
    const account = async (name: string) => {
      const res = await h.call("POST", "/v1/users", {
        body: { type: "service_account", name, roles: ["event_reader"] },
      });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const busy = await account("Busy worker");
    const idle = await account("Idle worker");
    const key = async (id: string) => {
      const res = await h.call("POST", "/v1/secrets/api/keys", { body: { name: "k", service_account_id: id } });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    await key(busy);
    await key(busy);
    expect((await h.call("DELETE", `/v1/secrets/api/keys/${await key(busy)}`)).status).toBe(204);
    await key(idle);
    expect((await h.call("DELETE", `/v1/secrets/api/keys/${await key(idle)}`)).status).toBe(204);
    const page = await browser.get("/dashboard/service-accounts");
    expect(page.status).toBe(200);
    const countOf = (name: string) =>
      new RegExp(`${name}<span[^>]*>[^<]*</span></th>[\\s\\S]*?<td class="num">(\\d+)</td>`).exec(page.text)?.[1];
    expect(countOf("Busy worker")).toBe("2");
    expect(countOf("Idle worker")).toBe("1");
  });

  test("'On a date' with no date is refused, never a key that does not expire", async () => {
    await browser.signIn();
    const keysBefore = (await h.call("GET", "/v1/secrets/api/keys")).body.pagination.total;
    const res = await browser.post("/dashboard/api-keys", {
      csrf: await browser.csrf(),
      name: "dated",
      account_type: "user",
      expiration: "date",
      expires_on: "",
    });
    expect(res.status).toBe(400);
    // In the form's words: the form has no field called expires_at.
    expect(res.text).toContain("Choose a date for Expires on, or another Expiration");
    expect((await h.call("GET", "/v1/secrets/api/keys")).body.pagination.total).toBe(keysBefore);
  });

  test("signing out, or the session ending elsewhere, leads back to sign-in", async () => {
    await browser.signIn();
    const csrf = await browser.csrf();
    const out = await browser.post("/dashboard/sign-out", { csrf });
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/dashboard/sign-in?reason=signed-out");
    expect(browser.cookies.has("tollgate_session")).toBe(false);

    await browser.signIn();
    const token = browser.cookies.get("tollgate_session") as string;
    const logout = await h.call("POST", "/v1/auth/logout", { bearer: token });
    expect(logout.status).toBe(204);
    const page = await browser.get("/dashboard/users");
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/dashboard/sign-in?reason=ended&next=%2Fdashboard%2Fusers");
    expect(browser.cookies.has("tollgate_session")).toBe(false);
    expect((await browser.get("/dashboard/sign-in?reason=ended")).text).toContain("Your session has ended");
  });

  test("a service account cannot sign in", async () => {
    const sa = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "svc", roles: ["event_ingestor"] },
    });
    expect(sa.status).toBe(201);
    const tried = await browser.signIn("svc", PASSWORD);
    expect(tried.status).toBe(401);
    expect(tried.text).toContain("Invalid email or password");
  });

  test("the environment switcher changes what the lists show", async () => {
    await browser.signIn();
    const envs = await h.call("GET", "/v1/environments");
    const production = envs.body.items.find((e: { type: string }) => e.type === "production");
    await browser.post("/dashboard/api-keys", {
      csrf: await browser.csrf(),
      name: "dev key",
      account_type: "user",
      expiration: "never",
    });
    const switched = await browser.post("/dashboard/environment", {
      csrf: await browser.csrf(),
      environment_id: production.id,
      return_to: "/dashboard/api-keys",
    });
    expect(switched.status).toBe(303);
    const prod = await browser.get("/dashboard/api-keys");
    expect(prod.text).not.toContain("dev key");
    expect(prod.text).toMatch(new RegExp(`<option value="${production.id}" selected> ?Production ?</option>`));
  });

  test("the Events chart counts every event of the environment per day, whatever its name", async () => {
    await browser.signIn();
    const today = new Date().toISOString();
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    // Twelve names (more than a few most recent ones), on two days; one in another environment.
    const events = Array.from({ length: 12 }, (_, i) => ({
      event_name: `name_${i}`,
      external_customer_id: "c",
      timestamp: i < 9 ? today : twoDaysAgo,
    }));
    expect((await h.call("POST", "/v1/events/bulk", { body: { events } })).status).toBe(202);
    const envs = await h.call("GET", "/v1/environments");
    const production = envs.body.items.find((e: { type: string }) => e.type === "production");
    const elsewhere = await h.call("POST", "/v1/events", {
      body: { event_name: "name_0", external_customer_id: "c" },
      headers: { "x-environment-id": production.id },
    });
    expect(elsewhere.status).toBe(202);
    const page = await browser.get("/dashboard/events");
    expect(page.status).toBe(200);
    expect(page.text).toContain("12 events in the last 30 days");
    // Each bar's tooltip: the day and its count.
    expect(page.text).toContain(`<title>${today.slice(0, 10)}: 9</title>`);
    expect(page.text).toContain(`<title>${twoDaysAgo.slice(0, 10)}: 3</title>`);
  });

  test("the lists page by 50: 60 service accounts show 50, then the other 10, with Previous and Next", async () => {
    for (let i = 0; i < 60; i++) {
      const name = `svc-${String(i).padStart(2, "0")}`;
      expect(
        (await h.call("POST", "/v1/users", { body: { type: "service_account", name, roles: ["event_reader"] } }))
          .status,
      ).toBe(201);
    }
    await browser.signIn();
    const rowsOf = (text: string) => text.match(/<th scope="row">svc-\d\d/g)?.length ?? 0;
    const first = await browser.get("/dashboard/service-accounts");
    expect(rowsOf(first.text)).toBe(50);
    expect(first.text).toContain("1–50 of 60");
    expect(first.text).toContain('<a href="/dashboard/service-accounts?offset=50">Next</a>');
    expect(first.text).not.toContain(">Previous</a>");
    const second = await browser.get("/dashboard/service-accounts?offset=50");
    expect(rowsOf(second.text)).toBe(10);
    expect(second.text).toContain("51–60 of 60");
    expect(second.text).toContain('<a href="/dashboard/service-accounts?offset=0">Previous</a>');
    expect(second.text).not.toContain(">Next</a>");
    // A row's dialog opens on the page that lists it (newest first: svc-00 is on page 2).
    const id = /<th scope="row">svc-00<span class="muted small block mono">([^<]+)</.exec(second.text)?.[1];
    const rename = await browser.get(`/dashboard/service-accounts?offset=50&rename=${id}`);
    expect(rename.text).toContain('<dialog id="rename-account"');
    // Users page the same way.
    const users = await browser.get("/dashboard/users");
    expect(users.text).toContain("1–2 of 2"); // Ada and the default user
  });

  test("the API Keys status filter survives paging", async () => {
    for (let i = 0; i < 52; i++) {
      const key = await h.call("POST", "/v1/secrets/api/keys", { body: { name: `gone-${i}` } });
      expect(key.status).toBe(201);
      expect((await h.call("DELETE", `/v1/secrets/api/keys/${key.body.id}`)).status).toBeLessThan(300);
    }
    await browser.signIn();
    const rowsOf = (text: string) => text.match(/<th scope="row">gone-\d+/g)?.length ?? 0;
    const first = await browser.get("/dashboard/api-keys?status=deleted");
    expect(rowsOf(first.text)).toBe(50);
    expect(first.text).toContain("1–50 of 52");
    expect(first.text).toContain('<a href="/dashboard/api-keys?status=deleted&amp;offset=50">Next</a>');
    const second = await browser.get("/dashboard/api-keys?status=deleted&offset=50");
    expect(rowsOf(second.text)).toBe(2);
    expect(second.text).toContain('<a href="/dashboard/api-keys?status=deleted&amp;offset=0">Previous</a>');
    expect(second.text).toContain('<option value="deleted" selected');
  });

  test("after 5 failed sign-ins the page says to wait, in the API's words, with Retry-After", async () => {
    for (let i = 0; i < 5; i++) expect((await browser.signIn(EMAIL, `wrong ${i}`)).status).toBe(401);
    const limited = await browser.signIn();
    expect(limited.status).toBe(429);
    expect(limited.text).toContain("Too many sign-in attempts; try again later");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(browser.cookies.size).toBe(0);
  });
});

describe("links the dashboard hands out", () => {
  // The Host header is the client's to choose: a link built from it could send an invited
  // person's one-time token to another host. Links come from server.public_url, as the API's do.
  test("an invite's set-password link is on server.public_url, whatever Host the request carried", async () => {
    const h = await signInHarness({ server: { public_url: "https://tollgate.example.com" } });
    await addPerson(h, EMAIL, PASSWORD, "Ada");
    const browser = new Browser(h);
    await browser.signIn();
    const csrf = await browser.csrf("/dashboard/users");
    const invited = await browser.request("POST", "/dashboard/users", { csrf, email: "grace@example.com" });
    expect(invited.status).toBe(303);
    const page = await browser.get(invited.headers.get("location") as string);
    expect(page.text).toMatch(/https:\/\/tollgate\.example\.com\/dashboard\/set-password\?token=tgp_/);
    expect(page.text).not.toContain("http://localhost/dashboard/set-password");
  });
});

describe("roles of the operator's and 'Verify a key' (SPEC §13)", () => {
  const ROLES = {
    orders_reader: { name: "Orders Reader", description: "Reads orders", permissions: { orders: ["read"] } },
  };

  async function signedIn() {
    const h = await signInHarness({ rbac: { roles: ROLES } } as never);
    await addPerson(h, EMAIL, PASSWORD, "Ada");
    const browser = new Browser(h);
    await browser.signIn();
    return { h, browser };
  }

  test("the service-account dialog offers the config's roles, with their descriptions; one can be given", async () => {
    const { h, browser } = await signedIn();
    const dialog = await browser.get("/dashboard/service-accounts?create=1");
    expect(dialog.text).toContain('value="orders_reader"');
    expect(dialog.text).toContain("<strong>Orders Reader</strong");
    expect(dialog.text).toContain("Reads orders");
    const csrf = await browser.csrf("/dashboard/service-accounts");
    const created = await browser.post("/dashboard/service-accounts", { csrf, name: "Orders", roles: "orders_reader" });
    expect(created.status).toBe(303);
    const list = await browser.get("/dashboard/service-accounts");
    expect(list.text).toContain('<span class="role">Orders Reader</span>');
    const accounts = await h.call("POST", "/v1/users/search", { body: { type: "service_account" } });
    expect(accounts.body.items[0].roles).toEqual(["orders_reader"]);
  });

  test("Verify a key answers as the API does, never shows the key back, and is audited as secret.verified", async () => {
    const { h, browser } = await signedIn();
    const account = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "orders", roles: ["orders_reader"] },
    });
    const key = await h.call("POST", "/v1/secrets/api/keys", {
      body: { name: "k", service_account_id: account.body.id },
    });
    const apiKey = key.body.api_key as string;
    const csrf = await browser.csrf();
    const valid = await browser.post("/dashboard/api-keys/verify", { csrf, key: apiKey, permissions: "orders:read" });
    expect(valid.status).toBe(200);
    expect(valid.text).toContain('<span class="badge ok">VALID</span>');
    expect(valid.text).toContain(key.body.id);
    expect(valid.text).not.toContain(apiKey);
    const lacking = await browser.post("/dashboard/api-keys/verify", {
      csrf,
      key: apiKey,
      permissions: "orders:write",
    });
    expect(lacking.text).toContain('<span class="badge bad">INSUFFICIENT_PERMISSIONS</span>');
    const unknown = await browser.post("/dashboard/api-keys/verify", { csrf, key: "sk_test_nothing" });
    expect(unknown.text).toContain('<span class="badge bad">NOT_FOUND</span>');
    const bad = await browser.post("/dashboard/api-keys/verify", {
      csrf,
      key: apiKey,
      permissions: "not a permission",
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("banner");
    const audit = await h.call("GET", "/v1/audit-logs?action=secret.verified");
    expect(
      audit.body.items.map((row: { resource_id: string; changes: { after: { code: string } } }) => [
        row.resource_id,
        row.changes.after.code,
      ]),
    ).toEqual([
      ["unknown", "NOT_FOUND"],
      [key.body.id, "INSUFFICIENT_PERMISSIONS"],
      [key.body.id, "VALID"],
    ]);
    expect(JSON.stringify(audit.body)).not.toContain(apiKey);
    // Without the Origin of this dashboard, nothing is verified.
    const foreign = await browser.post("/dashboard/api-keys/verify", { csrf, key: apiKey }, "https://attacker.example");
    expect(foreign.status).toBe(403);
  });
});

describe("an all_reader person sees the dashboard read-only (SPEC §2)", () => {
  test("no Create, Rotate, Revoke, Verify, Rename, Archive or Invite; a change posted anyway is refused", async () => {
    const h = await signInHarness();
    const reader = await addPerson(h, "reader@example.com", PASSWORD, "Reader");
    expect((await h.call("PUT", `/v1/users/${reader.id}/roles`, { body: { roles: ["all_reader"] } })).status).toBe(200);
    await h.call("POST", "/v1/users", { body: { type: "service_account", name: "svc", roles: ["event_reader"] } });
    await h.call("POST", "/v1/secrets/api/keys", { body: { name: "some key" } });
    const browser = new Browser(h);
    expect((await browser.signIn("reader@example.com")).status).toBe(303);
    const keys = await browser.get("/dashboard/api-keys");
    expect(keys.status).toBe(200);
    // Only a super_admin sees every key of the environment; the reader has none of its own.
    expect(keys.text).not.toContain("some key");
    expect(keys.text).toContain("All Reader · read-only");
    for (const control of ['data-dialog="create-key"', ">Rotate<", ">Revoke<", "Verify a key"])
      expect(keys.text).not.toContain(control);
    const accounts = await browser.get("/dashboard/service-accounts");
    for (const control of ["Create service account", ">Rename<", ">Archive<"])
      expect(accounts.text).not.toContain(control);
    expect((await browser.get("/dashboard/users")).text).not.toContain("Invite user");
    const csrf = await browser.csrf();
    const refused = await browser.post("/dashboard/api-keys", {
      csrf,
      name: "sneaky",
      account_type: "user",
      expiration: "never",
    });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain("Insufficient permissions");
    const list = await h.call("GET", "/v1/secrets/api/keys");
    expect(list.body.items.map((k: { name: string }) => k.name)).not.toContain("sneaky");
  });
});
