import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { authPlugin } from "../auth";
import { PORTAL_PAGE_PATH } from "./link";
import { assetResponse, loadStatic } from "./static-files";
// Imported as files so `bun build --compile` carries them inside the executable.
import iconSvg from "./static/icon.svg" with { type: "file" };
import portalCss from "./static/portal.css" with { type: "file" };
import portalHtmlImport from "./static/portal.html" with { type: "file" };
import portalJs from "./static/portal.js" with { type: "file" };

/**
 * A page may run this server's script and style and call this server, nothing else: no inline
 * code, no other origin, no plugin, no <base>, no framing; forms post where `formAction` says.
 */
export function pageCsp(formAction: "'none'" | "'self'"): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
  ].join("; ");
}

/** The portal page posts no forms. */
export const PORTAL_PAGE_CSP = pageCsp("'none'");

// bun-types gives every .html import the type of an HTML bundle; imported as a file, it is a path.
const portalHtml = portalHtmlImport as unknown as string;

const ASSETS_PATH = `${PORTAL_PAGE_PATH}/assets`;

/** What the page loads, by the name it uses under /portal/assets/. */
const ASSETS: Record<string, { path: string; type: string }> = {
  "portal.js": { path: portalJs, type: "text/javascript; charset=utf-8" },
  "portal.css": { path: portalCss, type: "text/css; charset=utf-8" },
  "icon.svg": { path: iconSvg, type: "image/svg+xml" },
};

/**
 * The customer portal page (SPEC §7): what a portal link opens by default. Static HTML, CSS and
 * a small script that reads the token from the link and calls /v1/customer/portal/*; public, as
 * the page itself holds nothing: the data comes only with the token. Kept out of the API document.
 */
export function portalPageController(app: AppContext) {
  const hidden = { public: true, detail: { hide: true } } as const;
  const controller = new Elysia({ name: "portal-page" }).use(authPlugin(app)).get(
    PORTAL_PAGE_PATH,
    async () =>
      new Response((await loadStatic(portalHtml)).body, {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": PORTAL_PAGE_CSP,
          // The address carries a session token: nothing keeps it, nothing sends it on.
          "cache-control": "no-store",
          "referrer-policy": "no-referrer",
          "x-content-type-options": "nosniff",
          "x-frame-options": "DENY",
        },
      }),
    hidden,
  );
  for (const [name, { path, type }] of Object.entries(ASSETS)) {
    controller.get(
      `${ASSETS_PATH}/${name}`,
      async ({ request }) => assetResponse(request, await loadStatic(path), type),
      hidden,
    );
  }
  return controller;
}
