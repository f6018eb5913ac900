// Issue 29 (dashboard): a key's and a service account's rate limits and credits, shown on the API
// Keys and Service Accounts pages and on a page of their own, set there with plain forms (CSRF +
// Origin), refused in the API's own words, read-only for an all_reader. Through app.handle.
import { beforeEach, describe, expect, test } from "bun:test";
import { DASHBOARD_ORIGIN, DashboardClient } from "./support/dashboard-client";
import { addPerson, type SignInHarness, signInHarness } from "./support/sign-in";

const EMAIL = "ada@example.com";
const PASSWORD = "correct horse battery";
const KEYS = "/v1/secrets/api/keys";

async function newKey(h: SignInHarness, body: Record<string, unknown> = {}) {
  const res = await h.call("POST", KEYS, { body: { name: "Billing key", ...body } });
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${res.text}`);
  return res.body.id as string;
}

async function keyLimits(h: SignInHarness, id: string) {
  const { ratelimits, credits } = (await h.call("GET", `${KEYS}/${id}`)).body;
  return { ratelimits, credits };
}

async function audited(h: SignInHarness, action: string) {
  return (await h.call("GET", `/v1/audit-logs?action=${action}`)).body.items as {
    resource_id: string;
    actor: { type: string; name: string };
    changes: { before: any; after: any };
  }[];
}

/** The rate limits form's fields for one row, as a browser sends them. */
function row(i: number, values: { name: string; limit: string; every?: string; unit?: string; applied?: string }) {
  return {
    [`name-${i}`]: values.name,
    [`limit-${i}`]: values.limit,
    [`every-${i}`]: values.every ?? "",
    [`unit-${i}`]: values.unit ?? "m",
    [`applied-${i}`]: values.applied ?? "auto",
  };
}

describe("limits in the dashboard", () => {
  let h: SignInHarness;
  let browser: DashboardClient;
  let personId: string;

  beforeEach(async () => {
    h = await signInHarness();
    personId = (await addPerson(h, EMAIL, PASSWORD, "Ada")).id;
    // A super_admin person sees and manages every key of the environment.
    browser = new DashboardClient(h);
    expect((await browser.signIn(EMAIL, PASSWORD)).status).toBe(303);
  });

  test("the API Keys list shows each key's limits in words and its credits, and links to its page", async () => {
    const id = await newKey(h, {
      ratelimits: [
        { name: "requests", limit: 100, duration_ms: 60_000, auto_apply: true },
        { name: "orders", limit: 5, duration_ms: 1000 },
      ],
      credits: { remaining: 950, refill: { interval: "daily", amount: 1000 } },
    });
    await newKey(h, { name: "Plain key" });
    const list = await browser.get("/dashboard/api-keys");
    expect(list.status).toBe(200);
    expect(list.text).toContain('<span class="mono">requests</span>: 100 per minute</span>');
    expect(list.text).toContain('<span class="mono">orders</span>: 5 per second (when named)</span>');
    expect(list.text).toContain("Credits: 950 left, refilled to 1000 daily at 00:00 UTC");
    // A key without limits says nothing of them under its name.
    expect(list.text).toMatch(/<th scope="row">Plain key<\/th>/);
    expect(list.text).toContain(`href="/dashboard/api-keys/${id}/limits"`);

    const page = await browser.get(`/dashboard/api-keys/${id}/limits`);
    expect(page.status).toBe(200);
    expect(page.text).toContain("<h1>Limits of Billing key</h1>");
    expect(page.text).toContain(
      '<th scope="row" class="mono">requests</th><td>100 per minute</td><td>on every request</td>',
    );
    expect(page.text).toContain('<th scope="row" class="mono">orders</th><td>5 per second</td><td>when named</td>');
    expect(page.text).toContain("Credits:<strong>950 left, refilled to 1000 daily at 00:00 UTC</strong>");
    // The form holds the limits as they are, and blank rows for new ones.
    expect(page.text).toContain('name="name-0" type="text"');
    expect(page.text).toContain('value="requests"');
    expect(page.text).toContain("<legend>New rate limit 3</legend>");
    expect(page.text).toContain('<label for="rl-name-2">Name</label>');
    expect((await browser.get("/dashboard/api-keys/sec_nope/limits")).status).toBe(404);
  });

  test("rate limits: a blank row adds one, Remove drops one, a changed one is saved; audited as the person", async () => {
    const id = await newKey(h, {
      ratelimits: [
        { name: "requests", limit: 100, duration_ms: 60_000, auto_apply: true },
        { name: "orders", limit: 5, duration_ms: 1000 },
      ],
    });
    const page = `/dashboard/api-keys/${id}/limits`;
    const saved = await browser.submit(page, page, {
      rows: "5",
      ...row(0, { name: "requests", limit: "120", every: "1", unit: "m" }),
      "existing-0": "1",
      ...row(1, { name: "orders", limit: "5", every: "1", unit: "s", applied: "named" }),
      "existing-1": "1",
      "remove-1": "1",
      ...row(2, { name: "search", limit: "10", every: "15", unit: "s", applied: "named" }),
      ...row(3, { name: "", limit: "" }),
      ...row(4, { name: "", limit: "" }),
    });
    expect(saved.status).toBe(303);
    expect(saved.location).toBe(`${page}?notice=ratelimits#main`);
    expect((await browser.get(saved.location as string)).text).toContain("Rate limits saved");
    expect(await keyLimits(h, id)).toEqual({
      ratelimits: [
        { name: "requests", limit: 120, duration_ms: 60_000, auto_apply: true },
        { name: "search", limit: 10, duration_ms: 15_000, auto_apply: false },
      ],
      credits: null,
    });
    const [entry] = await audited(h, "secret.limits_updated");
    expect(entry?.resource_id).toBe(id);
    expect(entry?.actor).toMatchObject({ type: "user", name: "Ada" });
    expect(entry?.changes.after.ratelimits).toHaveLength(2);
  });

  test("a refused change shows the API's own message in the form's words, keeps what was typed, and changes nothing", async () => {
    const id = await newKey(h, {
      ratelimits: [{ name: "requests", limit: 100, duration_ms: 60_000, auto_apply: true }],
    });
    const page = `/dashboard/api-keys/${id}/limits`;
    const twice = await browser.submit(page, page, {
      rows: "2",
      ...row(0, { name: "requests", limit: "100", every: "1" }),
      "existing-0": "1",
      ...row(1, { name: "requests", limit: "7", every: "1" }),
    });
    expect(twice.status).toBe(400);
    expect(twice.text).toContain(
      '<div class="banner error" role="alert">Rate limit &#39;requests&#39; is named twice</div>',
    );
    expect(twice.text).toContain('name="limit-1" type="number" min="1" step="1" value="7"');
    const badName = await browser.submit(page, page, { rows: "1", ...row(0, { name: "Orders!", limit: "3" }) });
    expect(badName.status).toBe(400);
    expect(badName.text).toContain("New rate limit 1: Name must be a lower-case name such as orders or api.read");
    const zero = await browser.submit(page, page, { rows: "1", ...row(0, { name: "orders", limit: "0" }) });
    expect(zero.status).toBe(400);
    expect(zero.text).toContain("New rate limit 1: Requests must be");
    const long = await browser.submit(page, page, {
      rows: "1",
      ...row(0, { name: "orders", limit: "3", every: "31", unit: "d" }),
    });
    expect(long.status).toBe(400);
    expect(long.text).toContain("New rate limit 1: the window must be from 1 second to 30 days");
    expect((await keyLimits(h, id)).ratelimits).toEqual([
      { name: "requests", limit: 100, duration_ms: 60_000, auto_apply: true },
    ]);
    expect(await audited(h, "secret.limits_updated")).toHaveLength(0);
  });

  test("credits: set with a refill, reset to the refill amount or a typed number, removed (unlimited)", async () => {
    const id = await newKey(h);
    const page = `/dashboard/api-keys/${id}/limits`;
    // Unlimited: no Reset credits form, as there is nothing to reset.
    expect((await browser.get(page)).text).not.toContain("Reset credits");
    const set = await browser.submit(page, `/dashboard/api-keys/${id}/credits`, {
      remaining: "40",
      refill: "monthly",
      amount: "500",
      refill_day: "31",
    });
    expect(set.status).toBe(303);
    expect((await keyLimits(h, id)).credits).toEqual({
      remaining: 40,
      refill: { interval: "monthly", amount: 500, refill_day: 31 },
    });
    const shown = await browser.get(page);
    expect(shown.text).toContain("Credits:<strong>40 left, refilled to 500 monthly on day 31</strong>");
    expect(shown.text).toContain("Empty: the refill amount, 500.");

    const reset = await browser.submit(page, `/dashboard/api-keys/${id}/credits/reset`, { to: "" });
    expect(reset.location).toBe(`${page}?notice=reset#main`);
    expect((await keyLimits(h, id)).credits).toEqual({
      remaining: 500,
      refill: { interval: "monthly", amount: 500, refill_day: 31 },
    });
    await browser.submit(page, `/dashboard/api-keys/${id}/credits/reset`, { to: "12" });
    expect((await keyLimits(h, id)).credits?.remaining).toBe(12);
    const negative = await browser.submit(page, `/dashboard/api-keys/${id}/credits/reset`, { to: "-3" });
    expect(negative.status).toBe(400);
    expect(negative.text).toContain(
      '<div class="banner error" role="alert">Reset to must be a whole number, 0 or more</div>',
    );
    expect((await keyLimits(h, id)).credits?.remaining).toBe(12);

    // A refill without a count: the API's own sentence; nothing changes.
    const refused = await browser.submit(page, `/dashboard/api-keys/${id}/credits`, {
      remaining: "",
      refill: "daily",
      amount: "10",
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("Credits with a refill need a remaining count");
    expect((await keyLimits(h, id)).credits?.remaining).toBe(12);

    const unlimited = await browser.submit(page, `/dashboard/api-keys/${id}/credits`, { remaining: "", refill: "" });
    expect(unlimited.status).toBe(303);
    expect((await keyLimits(h, id)).credits).toBeNull();
    const actions = (await audited(h, "secret.limits_updated")).map((entry) => entry.changes.after.credits);
    expect(actions).toHaveLength(4);
  });

  test("reset without a refill needs a number; a revoked key's limits are shown and cannot be changed", async () => {
    const id = await newKey(h, { credits: { remaining: 3 } });
    const page = `/dashboard/api-keys/${id}/limits`;
    const noRefill = await browser.submit(page, `/dashboard/api-keys/${id}/credits/reset`, { to: "" });
    expect(noRefill.status).toBe(400);
    expect(noRefill.text).toContain("These credits have no refill amount to reset to");
    expect((await h.call("DELETE", `${KEYS}/${id}`)).status).toBe(204);
    const revoked = await browser.get(page);
    expect(revoked.text).toContain("This key is revoked: its limits cannot be changed.");
    expect(revoked.text).not.toContain("Save rate limits");
    const posted = await browser.submit(`/dashboard/api-keys`, `/dashboard/api-keys/${id}/credits`, { remaining: "9" });
    expect(posted.status).toBe(400);
    expect(posted.text).toContain("Limits of an archived account or a revoked key cannot be changed");
  });

  test("a service account's limits: on Service Accounts, on its page, and on its keys' pages as shared", async () => {
    const account = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "Ingest worker", roles: ["event_ingestor"] },
    });
    const accountId = account.body.id as string;
    const keyId = await newKey(h, { service_account_id: accountId, name: "Ingest key" });
    const page = `/dashboard/service-accounts/${accountId}/limits`;
    const list = await browser.get("/dashboard/service-accounts");
    expect(list.text).toContain(`href="${page}"`);
    const saved = await browser.submit(page, page, {
      rows: "1",
      ...row(0, { name: "ingest", limit: "1000", every: "1", unit: "h" }),
    });
    expect(saved.status).toBe(303);
    await browser.submit(page, `/dashboard/service-accounts/${accountId}/credits`, { remaining: "7" });
    const got = (await h.call("GET", `/v1/users/${accountId}`)).body;
    expect(got.ratelimits).toEqual([{ name: "ingest", limit: 1000, duration_ms: 3_600_000, auto_apply: true }]);
    expect(got.credits).toEqual({ remaining: 7, refill: null });
    expect((await browser.get("/dashboard/service-accounts")).text).toContain(
      '<span class="mono">ingest</span>: 1000 per hour</span><span class="block small">Credits: 7 left</span>',
    );
    const keyPage = await browser.get(`/dashboard/api-keys/${keyId}/limits`);
    expect(keyPage.text).toContain("Shared by its service account, Ingest worker");
    expect(keyPage.text).toContain('<th scope="row" class="mono">ingest</th><td>1000 per hour</td>');
    const [entry] = await audited(h, "service_account.limits_updated");
    expect(entry?.resource_id).toBe(accountId);

    // A person's account has no limits page; the API's refusal stands behind it.
    expect((await browser.get(`/dashboard/service-accounts/${personId}/limits`)).status).toBe(404);
  });

  test("a form from another origin, or without the CSRF token, changes nothing", async () => {
    const id = await newKey(h);
    const csrf = /name="csrf" value="([^"]+)"/.exec((await browser.get("/dashboard/api-keys")).text)?.[1] as string;
    const foreign = await browser.request(
      "POST",
      `/dashboard/api-keys/${id}/credits`,
      { csrf, remaining: "1" },
      "https://evil.example",
    );
    expect(foreign.status).toBe(403);
    const noToken = await browser.request(
      "POST",
      `/dashboard/api-keys/${id}/credits`,
      { remaining: "1" },
      DASHBOARD_ORIGIN,
    );
    expect(noToken.status).toBe(403);
    expect((await keyLimits(h, id)).credits).toBeNull();
  });
});

describe("an all_reader person sees limits read-only", () => {
  test("no forms, and a change posted anyway is refused", async () => {
    const h = await signInHarness();
    const reader = await addPerson(h, "reader@example.com", PASSWORD, "Reader");
    expect((await h.call("PUT", `/v1/users/${reader.id}/roles`, { body: { roles: ["all_reader"] } })).status).toBe(200);
    const account = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "svc", roles: ["event_reader"] },
    });
    const accountId = account.body.id as string;
    expect((await h.call("PUT", `/v1/users/${accountId}/limits`, { body: { credits: { remaining: 5 } } })).status).toBe(
      200,
    );
    const browser = new DashboardClient(h);
    expect((await browser.signIn("reader@example.com", PASSWORD)).status).toBe(303);
    const page = await browser.get(`/dashboard/service-accounts/${accountId}/limits`);
    expect(page.status).toBe(200);
    expect(page.text).toContain("Credits:<strong>5 left</strong>");
    for (const control of ["Save rate limits", "Save credits", "Reset credits"])
      expect(page.text).not.toContain(control);
    const refused = await browser.submit(
      `/dashboard/service-accounts/${accountId}/limits`,
      `/dashboard/service-accounts/${accountId}/credits/reset`,
      { to: "100" },
    );
    expect(refused.status).toBe(403);
    expect(refused.text).toContain("Insufficient permissions");
    expect((await h.call("GET", `/v1/users/${accountId}`)).body.credits).toEqual({ remaining: 5, refill: null });
  });
});
