import type { AppContext } from "../../../context";
import { html } from "../html";
import { cardPage, htmlResponse, signedInPage } from "../layout";
import { SIGN_IN_PATH, visitIfSignedIn } from "../session";
import { HOME_PATH } from "./sign-in";

/**
 * A dashboard address that is no page: a page saying so (404), in the signed-in layout for a
 * signed-in person (the nav leads on), else a card with the way to sign in. Never the API's JSON.
 */
export async function notFoundPage(app: AppContext, request: Request): Promise<Response> {
  const path = new URL(request.url).pathname;
  const visit = await visitIfSignedIn(app, request);
  const said = html`<p>There is no page at <code class="mono">${path}</code>.</p>`;
  const page = visit
    ? await signedInPage(
        app,
        visit,
        null,
        "Page not found",
        html`${said}
          <p><a href="${HOME_PATH}">Go to API Keys</a> or choose a section.</p>`,
        { returnTo: HOME_PATH },
      )
    : cardPage(
        "Page not found",
        html`${said}
          <p><a href="${SIGN_IN_PATH}">Sign in to the dashboard</a></p>`,
      );
  return htmlResponse(page, { status: 404 });
}
