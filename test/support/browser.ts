// Real-browser tests: Debian's Chromium driven by playwright-core (no browser download).
//
//   describeInBrowser("the portal page", (suite) => {
//     test("…", async () => {
//       const page = await suite.newPage();            // 1280×800, or "mobile" for 390×844
//       await page.goto(url);
//       await screenshots(page, "portal");              // test-artifacts/screenshots/portal-{desktop,mobile}.png
//       expect(problemsOf(page)).toEqual([]);           // console errors, CSP violations, uncaught exceptions
//     });
//   });
//
// One Chromium per describeInBrowser block (so per file), launched before its tests and closed
// after them; each page gets a context of its own (no shared cookies or storage). Without
// Chromium the block is skipped, loudly, with the command that installs it; with CI set, a
// missing Chromium is a failing test, never a skip.
import { afterAll, beforeAll, describe, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's package (`chromium`); TOLLGATE_TEST_CHROMIUM points elsewhere (another OS, a local build). */
export const CHROMIUM_PATH = process.env.TOLLGATE_TEST_CHROMIUM || "/usr/bin/chromium";
export const CHROMIUM_INSTALL =
  "apt-get update && apt-get install -y --no-install-recommends chromium fonts-liberation";

/** Where screenshots go: not committed (.gitignore), kept after the run for a person to look at. */
export const SCREENSHOT_DIR = join(import.meta.dir, "..", "..", "test-artifacts", "screenshots");

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  mobile: { width: 390, height: 844 },
} as const;
export type ViewportName = keyof typeof VIEWPORTS;

/** CI=true (or any value but false/0): the browser suites must run. */
export function isCi(env: Record<string, string | undefined> = process.env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return !!value && value !== "false" && value !== "0";
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export interface BrowserSuite {
  /** The block's Chromium; there once its beforeAll has run. */
  readonly browser: Browser;
  /** A new page in a context of its own, at a viewport size, watched for problems (problemsOf). */
  newPage(viewport?: ViewportName): Promise<Page>;
}

/** Launches Debian's Chromium headless; as root (CI, containers) without its sandbox, which needs a user namespace. */
export function launchChromium(): Promise<Browser> {
  const args = ["--disable-dev-shm-usage"];
  if (process.getuid?.() === 0) args.push("--no-sandbox");
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args });
}

const problems = new WeakMap<Page, string[]>();

/**
 * What went wrong in a page so far: console errors (a CSP violation, a failed load, a blocked
 * cross-origin call are among them) and uncaught exceptions.
 */
export function problemsOf(page: Page): string[] {
  return problems.get(page) ?? [];
}

function watch(page: Page): Page {
  const seen: string[] = [];
  problems.set(page, seen);
  page.on("console", (message) => {
    if (message.type() === "error") seen.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => seen.push(`exception: ${error.message}`));
  return page;
}

/**
 * A describe block that runs in Chromium. Its tests share one browser (launched in the block's
 * first beforeAll, so before any beforeAll the body adds) and get pages from `suite.newPage`.
 */
export function describeInBrowser(name: string, body: (suite: BrowserSuite) => void): void {
  if (!chromiumAvailable()) {
    const problem = `No Chromium at ${CHROMIUM_PATH}: the browser suite "${name}"`;
    if (isCi()) {
      describe(name, () => {
        test("Chromium is installed (CI: a browser suite is never skipped)", () => {
          throw new Error(`${problem} cannot run. Install it: ${CHROMIUM_INSTALL}`);
        });
      });
      return;
    }
    console.warn(
      [
        "",
        "=".repeat(100),
        `WARNING: ${problem} is SKIPPED.`,
        `Install Chromium to run it (as root): ${CHROMIUM_INSTALL}`,
        "(or set TOLLGATE_TEST_CHROMIUM to a Chromium executable). With CI=true this is a failure.",
        "=".repeat(100),
        "",
      ].join("\n"),
    );
    describe.skip(name, () => body(unavailable));
    return;
  }

  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const suite: BrowserSuite = {
    get browser() {
      if (!browser) throw new Error("Chromium is not launched yet: use the suite from a test or a later beforeAll");
      return browser;
    },
    async newPage(viewport = "desktop") {
      const context = await suite.browser.newContext({ viewport: VIEWPORTS[viewport] });
      contexts.push(context);
      return watch(await context.newPage());
    },
  };
  // For the tests of the file that calls this (bun:test keeps one default per file).
  setDefaultTimeout(BROWSER_TEST_TIMEOUT_MS);
  describe(name, () => {
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(async () => {
      for (const context of contexts.splice(0)) await context.close().catch(() => {});
      await browser?.close();
      browser = undefined;
    });
    body(suite);
  });
}

/**
 * What one browser test may take. A test drives a dozen page loads and screenshots at two sizes;
 * on a CI machine shared with another suite that took 30 s once (the suite-wide timeout), so a
 * browser test waits for what it means (Playwright waits for each element and load) and only a
 * test that truly hangs meets this.
 */
export const BROWSER_TEST_TIMEOUT_MS = 120_000;

/** Stands in for the suite while a skipped block registers its tests, which never run. */
const unavailable: BrowserSuite = {
  get browser(): Browser {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}`);
  },
  newPage() {
    return Promise.reject(new Error(`No Chromium at ${CHROMIUM_PATH}`));
  },
};

/**
 * Screenshots of the whole page at 1280×800 and at 390×844, as
 * test-artifacts/screenshots/<name>-desktop.png and <name>-mobile.png; the page is put back at
 * its own size afterwards. Returns the two paths.
 */
export async function screenshots(page: Page, name: string): Promise<string[]> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const own = page.viewportSize();
  const paths: string[] = [];
  for (const [label, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    const path = join(SCREENSHOT_DIR, `${name}-${label}.png`);
    await page.screenshot({ path, fullPage: true, animations: "disabled" });
    paths.push(path);
  }
  if (own) await page.setViewportSize(own);
  return paths;
}

/** How many CSS pixels the page is wider than its viewport (0: no sideways scrolling). */
export function horizontalOverflow(page: Page): Promise<number> {
  // As text: the test code is type-checked without the DOM's types.
  return page.evaluate<number>("Math.max(0, document.documentElement.scrollWidth - window.innerWidth)");
}

/** The id of the element that has the keyboard focus ("" when it has none). */
export function focusedId(page: Page): Promise<string> {
  return page.evaluate<string>("document.activeElement ? document.activeElement.id : ''");
}

export interface OriginServer {
  /** `http://127.0.0.1:<port>`: an origin of its own, beside the server under test. */
  origin: string;
  stop(): Promise<void>;
}

/**
 * Another origin on this machine (a port of its own) serving one HTML page at every path: a
 * site that is not Tollgate, for cross-origin tests (CORS, a form posted from elsewhere).
 */
export function serveOrigin(html: string): OriginServer {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } }),
  });
  return {
    origin: `http://127.0.0.1:${server.port}`,
    stop: () => server.stop(true),
  };
}
