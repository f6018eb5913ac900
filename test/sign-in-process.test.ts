// SPEC.md §10 on a real process: the setup link `tollgate serve` prints on its console for the
// first person, and `tollgate users create`, whose password comes from stdin, never an argument.
import { describe, expect, test } from "bun:test";
import { logEntries, withStoreOf, SOURCE_CLI, startServer, storeEnv } from "./support/process";
import { tempDir } from "./support/temp";

const PASSWORD = "correct horse battery";
const SETUP_LINK = /http:\/\/127\.0\.0\.1:(\d+)\/dashboard\/setup\?token=(tgp_[0-9a-f]{64})/;

async function post(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** `tollgate <args>` with `input` on its stdin. */
async function cliWithInput(args: string[], input: string, dir: string) {
  const proc = Bun.spawn([...SOURCE_CLI, ...args], {
    cwd: dir,
    env: { ...process.env, ...(await storeEnv(dir)) },
    stdin: new Blob([input]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}

describe("tollgate serve: the first person", () => {
  test("an empty store prints a setup link on stderr; setup, login, bearer, logout work end to end", async () => {
    // evil.example is served (allowed_hosts), so the invite below shows links ignore a served Host too.
    const server = await startServer({ env: { TOLLGATE_SERVER_ALLOWED_HOSTS: "evil.example" } });
    try {
      const printed = server.stderrLines.join("\n");
      const match = SETUP_LINK.exec(printed);
      expect(match).not.toBeNull();
      expect(Number(match?.[1])).toBe(server.port);
      const token = match?.[2] as string;
      // The console, never the request log on stdout.
      const stdout = server.lines.filter((line) => !server.stderrLines.includes(line));
      expect(stdout.join("\n")).not.toContain(token);
      expect(printed).toContain("tollgate users create --email");

      const setup = await post(server.baseUrl, "/v1/auth/setup", {
        token,
        email: "owner@example.com",
        password: PASSWORD,
      });
      expect(setup.status).toBe(200);
      const login = await post(server.baseUrl, "/v1/auth/login", { email: "owner@example.com", password: PASSWORD });
      expect(login.status).toBe(200);
      const bearer = { authorization: `Bearer ${login.body.token}` };
      const me = await fetch(`${server.baseUrl}/v1/users/me`, { headers: bearer });
      expect(me.status).toBe(200);
      expect(((await me.json()) as any).credential.kind).toBe("session");
      // An invite's link is on the address the server listens on, whatever (served) Host the request named.
      const invite = await post(
        server.baseUrl,
        "/v1/users",
        { type: "user", email: "invited@example.com" },
        { ...bearer, host: "evil.example" },
      );
      expect(invite.status).toBe(201);
      expect(invite.body.set_password_url).toStartWith(`${server.baseUrl}/dashboard/set-password?token=tgp_`);
      expect((await post(server.baseUrl, "/v1/auth/logout", {}, bearer)).status).toBe(204);
      expect((await fetch(`${server.baseUrl}/v1/users/me`, { headers: bearer })).status).toBe(401);

      // Nothing secret reached the log.
      const log = JSON.stringify(logEntries(server.lines));
      for (const secret of [token, login.body.token, setup.body.token, PASSWORD]) expect(log).not.toContain(secret);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    // Once someone has a password, no link is printed.
    const again = await startServer({ dir: server.dir });
    try {
      expect(again.stderrLines.join("\n")).not.toMatch(SETUP_LINK);
    } finally {
      await again.stop();
    }
  });
});

describe("tollgate serve: server.public_url", () => {
  test("the setup link, invites' links and portal links are on the public address", async () => {
    const server = await startServer({ env: { TOLLGATE_SERVER_PUBLIC_URL: "https://tollgate.example.test/" } });
    try {
      const printed = server.stderrLines.join("\n");
      const match = /https:\/\/tollgate\.example\.test\/dashboard\/setup\?token=(tgp_[0-9a-f]{64})/.exec(printed);
      expect(match).not.toBeNull();
      const setup = await post(server.baseUrl, "/v1/auth/setup", {
        token: match?.[1],
        email: "owner@example.com",
        password: PASSWORD,
      });
      expect(setup.status).toBe(200);
      const bearer = { authorization: `Bearer ${setup.body.token}` };
      const invite = await post(server.baseUrl, "/v1/users", { type: "user", email: "invited@example.com" }, bearer);
      expect(invite.body.set_password_url).toStartWith("https://tollgate.example.test/dashboard/set-password?token=");
      expect((await post(server.baseUrl, "/v1/customers", { external_id: "acme" }, bearer)).status).toBe(201);
      const portal = await fetch(`${server.baseUrl}/v1/customers/portal/acme`, { headers: bearer });
      const link = (await portal.json()) as { url: string; token: string };
      expect(link.url).toBe(`https://tollgate.example.test/portal?token=${link.token}`);
    } finally {
      await server.stop();
    }
  });
});

describe("tollgate users create", () => {
  test("reads the password from stdin, creates the account, audited; the person signs in", async () => {
    const dir = tempDir("users-create-");
    const created = await cliWithInput(["users", "create", "--email", "ops@example.com"], `${PASSWORD}\n`, dir);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^Created user account usr_[0-9A-Z]{26} \(ops@example\.com\) in tenant 0{8}-/);
    expect(created.stdout).not.toContain(PASSWORD);

    await withStoreOf(dir, async (store) => {
      const row = (await store.get("SELECT * FROM users WHERE email = ?", "ops@example.com")) as any;
      expect(row).toMatchObject({ type: "user", tenant_id: "00000000-0000-0000-0000-000000000000" });
      expect(row.password_hash).toStartWith("$argon2id$");
      const audit = await store.all("SELECT action, actor_type, actor_name FROM audit_logs ORDER BY created_at, id");
      expect(audit).toEqual([
        { action: "user.created", actor_type: "system", actor_name: "tollgate users create" },
        { action: "user.password_set", actor_type: "system", actor_name: "tollgate users create" },
      ]);
      expect(JSON.stringify(await store.all("SELECT * FROM audit_logs"))).not.toContain("$argon2");
    });

    const server = await startServer({ dir });
    try {
      // Someone has a password: no setup link.
      expect(server.stderrLines.join("\n")).not.toMatch(SETUP_LINK);
      const login = await post(server.baseUrl, "/v1/auth/login", { email: "ops@example.com", password: PASSWORD });
      expect(login.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test("validates like the API and never takes the password as an argument", async () => {
    const dir = tempDir("users-create-");
    const short = await cliWithInput(["users", "create", "--email", "ops@example.com"], "short\n", dir);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain("The password must be 8 to 256 characters.");
    // Characters, not UTF-16 units: 4 emoji are 4.
    const emoji = await cliWithInput(["users", "create", "--email", "ops@example.com"], "😀😀😀😀\n", dir);
    expect(emoji.code).toBe(2);
    expect(emoji.stderr).toContain("The password must be 8 to 256 characters.");
    const email = await cliWithInput(["users", "create", "--email", "not-an-email"], `${PASSWORD}\n`, dir);
    expect(email.code).toBe(2);
    expect(email.stderr).toContain("--email must be a valid email address.");
    const argument = await cliWithInput(
      ["users", "create", "--email", "ops@example.com", "--password", PASSWORD],
      "",
      dir,
    );
    expect(argument.code).toBe(2);
    expect(argument.stderr).toContain("Unknown option --password");
    expect(argument.stderr).not.toContain(PASSWORD);

    // One line: more than one is refused, not taken whole as the password (nor cut to its first line).
    for (const input of [`${PASSWORD}\nsecond line\n`, `${PASSWORD}\n\n`, `${PASSWORD}\rmore`]) {
      const lines = await cliWithInput(["users", "create", "--email", "ops@example.com"], input, dir);
      expect(lines.code).toBe(2);
      expect(lines.stderr).toContain("The password is one line; stdin held more than one. Nothing was changed.");
      expect(lines.stderr).not.toContain(PASSWORD);
    }
    // One line ended by CRLF is one line; nothing was created before it.
    const created = await cliWithInput(["users", "create", "--email", "ops@example.com"], `${PASSWORD}\r\n`, dir);
    expect(created.code).toBe(0);
    expect(created.stdout).toStartWith("Created user account");
    expect((await cliWithInput(["users", "create", "--email", "bare@example.com"], PASSWORD, dir)).code).toBe(0);
    await withStoreOf(dir, async (store) => {
      for (const email of ["ops@example.com", "bare@example.com"]) {
        const hash = (await store.value("SELECT password_hash FROM users WHERE email = ?", email)) as string;
        expect(await Bun.password.verify(PASSWORD, hash)).toBe(true);
      }
    });
    const twice = await cliWithInput(["users", "create", "--email", "OPS@example.com"], `${PASSWORD}\n`, dir);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(
      /^This account already has a password; it signs in with it \(user account usr_[0-9A-Z]{26}, ops@example\.com\)\.$/m,
    );
  });
});
