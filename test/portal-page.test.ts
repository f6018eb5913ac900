// The customer portal page at /portal (SPEC §7, issue 11): served by Tollgate itself, from the
// executable, with a strict Content-Security-Policy. What the page does in a browser is tested
// in test/browser/portal.test.ts; here, what it is on the wire.
import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../src/config";
import { type CallResult, createHarness, type Harness } from "./support/harness";
import { tempDir } from "./support/temp";

/** `default-src 'self'; …` as a map of directive to its sources. */
function parseCsp(header: string | null): Record<string, string[]> {
  expect(header).not.toBeNull();
  return Object.fromEntries(
    (header as string)
      .split(";")
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...sources]) => [name as string, sources]),
  );
}

/** The paths the page loads: every src and href in it. */
function assetPaths(html: string): string[] {
  return [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((match) => match[1] as string);
}

async function page(h: Harness, query = ""): Promise<CallResult> {
  return h.call("GET", `/portal${query}`, { key: null });
}

describe("GET /portal: the page", () => {
  test("is HTML, needs no key, and is never cached (its address carries a token)", async () => {
    const h = await createHarness();
    const res = await page(h, "?token=not-even-a-token");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    // The token never leaves in a Referer, and is not written into the page.
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.text).not.toContain("not-even-a-token");
    expect(res.text).toStartWith("<!doctype html>");
    expect(res.text).toContain('<html lang="en">');
    expect(res.text).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"');
  });

  test("a strict Content-Security-Policy: this server only, no inline code, no framing", async () => {
    const res = await page(await createHarness());
    const csp = parseCsp(res.headers.get("content-security-policy"));
    expect(csp["default-src"]).toEqual(["'self'"]);
    expect(csp["script-src"]).toEqual(["'self'"]);
    expect(csp["style-src"]).toEqual(["'self'"]);
    expect(csp["connect-src"]).toEqual(["'self'"]);
    expect(csp["object-src"]).toEqual(["'none'"]);
    expect(csp["base-uri"]).toEqual(["'none'"]);
    expect(csp["form-action"]).toEqual(["'none'"]);
    expect(csp["frame-ancestors"]).toEqual(["'none'"]);
    const sources = Object.values(csp).flat();
    expect(sources.filter((s) => s !== "'self'" && s !== "'none'")).toEqual([]);
  });

  test("holds no inline script or style, and loads nothing from anywhere else", async () => {
    const { text } = await page(await createHarness());
    expect(text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(text).not.toMatch(/<style/i);
    expect(text).not.toMatch(/\sstyle=/i);
    expect(text).not.toMatch(/\son[a-z]+=/i);
    const paths = assetPaths(text);
    expect(paths.length).toBeGreaterThanOrEqual(3);
    for (const path of paths) expect(path).toMatch(/^\/portal\/assets\/[a-z-]+\.(js|css|svg)$/);
  });

  test("every asset it names is served with its type, revalidated by ETag, never sniffed", async () => {
    const h = await createHarness();
    const types: Record<string, string> = {
      js: "text/javascript; charset=utf-8",
      css: "text/css; charset=utf-8",
      svg: "image/svg+xml",
    };
    const paths = assetPaths((await page(h)).text);
    expect(paths.length).toBeGreaterThanOrEqual(3);
    for (const path of paths) {
      const res = await h.call("GET", path, { key: null });
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect(res.headers.get("content-type")).toBe(types[path.split(".").pop() as string] as string);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      // Asked again each time, answered 304 while unchanged: a new version is never stale.
      expect(res.headers.get("cache-control")).toBe("no-cache");
      const etag = res.headers.get("etag");
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{16,}"$/);
      expect(res.text.length).toBeGreaterThan(100);
      const again = await h.call("GET", path, { key: null, headers: { "If-None-Match": etag as string } });
      expect({ path, status: again.status, body: again.text }).toEqual({ path, status: 304, body: "" });
      expect(again.headers.get("etag")).toBe(etag);
      const stale = await h.call("GET", path, { key: null, headers: { "If-None-Match": '"something-else"' } });
      expect(stale.status).toBe(200);
    }
  });

  test("the script calls the portal API with X-Session-Token and takes the token out of the address", async () => {
    const h = await createHarness();
    const script = (await h.call("GET", "/portal/assets/portal.js", { key: null })).text;
    expect(script).toContain("/v1/customer/portal/info");
    expect(script).toContain("/v1/customer/portal/usage");
    expect(script).toContain("X-Session-Token");
    expect(script).toContain("history.replaceState");
    // Text is written as text: a customer's name can never become markup.
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  test("an unknown asset is the API's 404, not a page", async () => {
    const res = await (await createHarness()).call("GET", "/portal/assets/nope.js", { key: null });
    expect(res.status).toBe(404);
    expect(res.body.error.message).toBe("Route not found");
  });

  test("the request log names the route, never the address with its token", async () => {
    const h = await createHarness();
    const token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    await page(h, `?token=${token}`);
    // Request lines are written just after the response (Elysia's afterResponse).
    await new Promise((resolve) => setImmediate(resolve));
    const line = h.logs.find((entry) => entry.msg === "request" && entry.route === "/portal");
    expect(line).toMatchObject({ method: "GET", status: 200 });
    expect(JSON.stringify(h.logs)).not.toContain(token);
  });

  test("is not part of the API document", async () => {
    const res = await (await createHarness()).call("GET", "/swagger/json", { key: null });
    expect(Object.keys(res.body.paths).filter((path) => path.startsWith("/portal"))).toEqual([]);
  });
});

describe("portal links point at this page unless customer_portal.url says otherwise", () => {
  async function portalLink(h: Harness): Promise<{ url: string; token: string }> {
    const created = await h.call("POST", "/v1/customers", { body: { external_id: "acme" } });
    expect(created.status).toBe(201);
    const res = await h.call("GET", "/v1/customers/portal/acme");
    expect(res.status).toBe(200);
    return res.body;
  }

  test("by default: Tollgate's own /portal on server.host and port", async () => {
    const { url, token } = await portalLink(await createHarness());
    expect(url).toBe(`http://127.0.0.1:8080/portal?token=${token}`);
  });

  test("on every interface: the link goes through loopback; an IPv6 host is bracketed", async () => {
    const any = await portalLink(await createHarness({ server: { host: "0.0.0.0", port: 9090 } }));
    expect(any.url).toBe(`http://127.0.0.1:9090/portal?token=${any.token}`);
    const v6 = await portalLink(await createHarness({ server: { host: "::1", port: 9090 } }));
    expect(v6.url).toBe(`http://[::1]:9090/portal?token=${v6.token}`);
    const named = await portalLink(await createHarness({ server: { host: "tollgate.internal", port: 80 } }));
    expect(named.url).toBe(`http://tollgate.internal/portal?token=${named.token}`);
  });

  test("with server.public_url: Tollgate's own /portal on that address", async () => {
    const { url, token } = await portalLink(
      await createHarness({ server: { public_url: "https://tollgate.example.test" } }),
    );
    expect(url).toBe(`https://tollgate.example.test/portal?token=${token}`);
  });

  test("a configured url is used as it is", async () => {
    const { url, token } = await portalLink(
      await createHarness({ customer_portal: { url: "https://billing.example.test/account?tab=usage" } }),
    );
    expect(url).toBe(`https://billing.example.test/account?tab=usage&token=${token}`);
  });

  test("a configured url must be an absolute http(s) address (empty: this page)", () => {
    for (const url of ["/portal", "billing.example.test/portal", "ftp://billing.example.test/portal", "https://"]) {
      expect(() => loadConfig({ env: { TOLLGATE_CUSTOMER_PORTAL_URL: url }, cwd: tempDir("config-") })).toThrow(
        new ConfigError(
          `Invalid config: customer_portal.url: "${url}" is not an absolute http(s) address such as https://billing.example.com/portal; leave it empty for Tollgate's own page at /portal`,
        ),
      );
    }
    expect(loadConfig({ env: {}, cwd: tempDir("config-") }).customer_portal.url).toBe("");
  });
});
