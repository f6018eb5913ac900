import type { SignInHarness } from "./sign-in";

export const DASHBOARD_ORIGIN = "http://localhost";

/**
 * A browser's worth of the dashboard over app.handle: a cookie jar, and forms posted from the
 * dashboard's own origin with the page's CSRF token. Pages come back with their whitespace
 * collapsed, and none beside a tag, to be compared as text.
 */
export class DashboardClient {
  cookies = new Map<string, string>();
  constructor(
    readonly h: SignInHarness,
    readonly address = "10.0.0.9",
  ) {}

  /** `origin`: the Origin header a form is sent with (null: none, as some clients send). */
  async request(
    method: string,
    path: string,
    form?: Record<string, string | string[]>,
    origin: string | null = DASHBOARD_ORIGIN,
  ) {
    const headers = new Headers({ "x-test-client": this.address });
    if (this.cookies.size) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    let body: string | undefined;
    if (form) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) params.append(k, one);
      body = params.toString();
      headers.set("content-type", "application/x-www-form-urlencoded");
      if (origin !== null) headers.set("origin", origin);
    }
    const response = await this.h.app.handle(new Request(`${DASHBOARD_ORIGIN}${path}`, { method, headers, body }));
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const [name, value] = (pair as string).split("=") as [string, string];
      if (/Expires=Thu, 01 Jan 1970/.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return {
      status: response.status,
      headers: response.headers,
      location: response.headers.get("location"),
      text: this.normalize(await response.text()),
    };
  }

  /** A page as the tests compare it: whitespace collapsed, and none beside a tag. */
  protected normalize(text: string): string {
    return text
      .replace(/\s+/g, " ")
      .replace(/\s*>\s*/g, ">")
      .replace(/\s+</g, "<");
  }

  get(path: string) {
    return this.request("GET", path);
  }

  /** Posts a form of `page` (its CSRF token is read from that page first). */
  async submit(page: string, action: string, form: Record<string, string | string[]> = {}) {
    const token = /name="csrf" value="([^"]+)"/.exec((await this.get(page)).text)?.[1];
    if (!token) throw new Error(`no CSRF token on ${page}`);
    return this.request("POST", action, { csrf: token, ...form });
  }

  signIn(email: string, password: string) {
    return this.request("POST", "/dashboard/sign-in", { email, password });
  }
}
