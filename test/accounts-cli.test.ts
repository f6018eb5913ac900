// Issue 26, item 1, on real processes: the only admin lost their password, and the operator of
// the machine gets them back in with `tollgate users reset-password`, beside the running server
// on the same store; the link sets a new password and every old session of theirs ends.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { withStoreOf, runToEnd, type ServerProcess, SOURCE_CLI, startServer, storeEnv } from "./support/process";

const EMAIL = "admin@example.com";
const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "a brand new passphrase";
const SETUP_LINK = /\/dashboard\/setup\?token=(tgp_[0-9a-f]{64})/;
const RESET_LINK = /^ {2}(http:\/\/127\.0\.0\.1:(\d+)\/dashboard\/set-password\?token=(tgp_[0-9a-f]{64}))$/m;

describe("tollgate users reset-password, beside a running server", () => {
  let server: ServerProcess;

  async function call(method: string, path: string, options: { body?: unknown; bearer?: string } = {}) {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
    const res = await fetch(`${server.baseUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  const login = (email: string, password: string) => call("POST", "/v1/auth/login", { body: { email, password } });

  /** The CLI on the server's store and config (its port: where the printed link points). */
  const cli = async (...args: string[]) =>
    runToEnd([...SOURCE_CLI, ...args], {
      cwd: server.dir,
      env: {
        ...process.env,
        ...(await storeEnv(server.dir)),
        TOLLGATE_SERVER_PORT: String(server.port),
      },
      timeoutMs: 30_000,
    });

  const unusedLinks = () =>
    withStoreOf(server.dir, async (store) =>
      Number(await store.value("SELECT count(*) FROM password_tokens WHERE used_at IS NULL")),
    );

  beforeAll(async () => {
    server = await startServer();
    const token = SETUP_LINK.exec(server.stderrLines.join("\n"))?.[1];
    if (!token) throw new Error(`no setup link:\n${server.lines.join("\n")}`);
    const setup = await call("POST", "/v1/auth/setup", { body: { token, email: EMAIL, password: PASSWORD } });
    expect(setup.status).toBe(200);
  });

  afterAll(async () => {
    await server?.stop();
  });

  test("prints a one-time link; the old password works until it is used; then every old session ends; audited as system", async () => {
    const first = await login(EMAIL, PASSWORD);
    const second = await login(EMAIL, PASSWORD);
    expect(first.status).toBe(200);

    const reset = await cli("users", "reset-password", "--email", "Admin@Example.com");
    expect(reset.stderr).toBe("");
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(/^A password reset link for user account \S+ \(admin@example\.com\) in tenant 0{8}-/);
    expect(reset.stdout).toContain("it works once, for 24 hours");
    const found = RESET_LINK.exec(reset.stdout);
    expect(found).not.toBeNull();
    expect(Number(found?.[2])).toBe(server.port);
    const token = found?.[3] as string;

    // Nothing changed until the link is used.
    expect((await call("GET", "/v1/users/me", { bearer: first.body.token })).status).toBe(200);
    expect((await login(EMAIL, PASSWORD)).status).toBe(200);

    const set = await call("POST", "/v1/auth/set-password", { body: { token, password: NEW_PASSWORD } });
    expect(set.status).toBe(200);
    for (const old of [first, second]) {
      expect((await call("GET", "/v1/users/me", { bearer: old.body.token })).status).toBe(401);
    }
    expect((await login(EMAIL, PASSWORD)).status).toBe(401);
    const fresh = await login(EMAIL, NEW_PASSWORD);
    expect(fresh.status).toBe(200);
    // Once.
    expect((await call("POST", "/v1/auth/set-password", { body: { token, password: PASSWORD } })).status).toBe(401);

    const audit = await call("GET", "/v1/audit-logs?action=user.password_reset_link_created", {
      bearer: fresh.body.token,
    });
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0].actor).toEqual({ type: "system", id: null, name: "tollgate users reset-password" });
    const all = await call("GET", "/v1/audit-logs?limit=1000", { bearer: fresh.body.token });
    expect(JSON.stringify(all.body)).not.toContain(token.slice(4));
    expect(server.lines.join("\n")).not.toContain(token.slice(4));
  });

  test("an unknown email, another tenant, an archived person: a clear refusal, exit 1, nothing made", async () => {
    const admin = await login(EMAIL, NEW_PASSWORD);
    const before = await unusedLinks();
    const unknown = await cli("users", "reset-password", "--email", "nobody@example.com");
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr.trim()).toBe("No user account has this email (nobody@example.com). Nothing was changed.");
    const elsewhere = await cli("users", "reset-password", "--email", EMAIL, "--tenant", "tenant-two");
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr.trim()).toBe(
      "No user account has this email in tenant tenant-two (admin@example.com). Nothing was changed.",
    );

    const invited = await call("POST", "/v1/users", {
      bearer: admin.body.token,
      body: { type: "user", email: "gone@example.com" },
    });
    expect(invited.status).toBe(201);
    expect((await call("DELETE", `/v1/users/${invited.body.id}`, { bearer: admin.body.token })).status).toBe(204);
    const archived = await cli("users", "reset-password", "--email", "gone@example.com");
    expect(archived.code).toBe(1);
    expect(archived.stderr.trim()).toBe(
      `This account is archived (user account ${invited.body.id}, gone@example.com). Nothing was changed.`,
    );
    expect(await unusedLinks()).toBe(before);

    const missing = await cli("users", "reset-password");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--email is required.");
  });

  test("someone invited who never chose a password gets a new invite link, which replaces the first", async () => {
    const admin = await login(EMAIL, NEW_PASSWORD);
    const invited = await call("POST", "/v1/users", {
      bearer: admin.body.token,
      body: { type: "user", email: "late@example.com" },
    });
    const again = await cli("users", "reset-password", "--email", "late@example.com");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("A new invite link for user account");
    expect(again.stdout).toContain("it works once, for 7 days");
    const token = RESET_LINK.exec(again.stdout)?.[3] as string;
    const old = new URL(invited.body.set_password_url).searchParams.get("token");
    expect((await call("POST", "/v1/auth/set-password", { body: { token: old, password: PASSWORD } })).status).toBe(
      401,
    );
    expect((await call("POST", "/v1/auth/set-password", { body: { token, password: PASSWORD } })).status).toBe(200);
  });

  test("`users create` for an account that has a password names the way: reset-password", async () => {
    const proc = Bun.spawn([...SOURCE_CLI, "users", "create", "--email", EMAIL], {
      cwd: server.dir,
      env: { ...process.env, ...(await storeEnv(server.dir)) },
      stdin: new Blob([`${PASSWORD}\n`]),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(1);
    expect(stderr).toContain("This account already has a password; it signs in with it");
    expect(stderr).toContain(`To give it a new password: tollgate users reset-password --email ${EMAIL}`);
  });
});
