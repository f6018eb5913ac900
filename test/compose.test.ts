// SPEC.md §15: the README's docker compose walk-through, run without Docker (none on the machine
// this is built on): its parts as the compose file gives them. Two instances start at once on one
// PostgreSQL database with exactly the environment docs/compose/compose.yaml gives them (and the
// image's), nothing of this machine's; the first key comes from `keys create` as the README runs
// it; docs/compose/Caddyfile balances between them; a person made by `users create` signs in
// through it; with one instance stopped, Caddy sends everything to the other.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { DEV_KEY } from "./support/harness";
import { runToEnd, type ServerProcess, SOURCE_CLI, startServer, storeEnv } from "./support/process";
import { COMPOSE_FILES, describeWithProxy, type Running, startBalancingCaddy } from "./support/proxies";
import { tempDir } from "./support/temp";
import { onSqlite } from "./support/test-store";

interface ComposeService {
  environment?: Record<string, string>;
  command?: string[];
  depends_on?: Record<string, unknown> | string[];
}

const compose = parseYaml(readFileSync(join(COMPOSE_FILES, "compose.yaml"), "utf8"), { merge: true }) as {
  services: Record<string, ComposeService>;
};

/** What the Dockerfile's run stage sets (ENV), as the image gives every container. */
function imageEnvironment(): Record<string, string> {
  const dockerfile = readFileSync(join(import.meta.dir, "..", "Dockerfile"), "utf8");
  const run = dockerfile.slice(dockerfile.lastIndexOf("FROM "));
  const env = /^ENV ((?:.*\\\n)*.*)$/m.exec(run)?.[1] ?? "";
  return Object.fromEntries([...env.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1] as string, m[2] as string]));
}

/**
 * A compose environment with its `${NAME:?message}` replaced from `values` (as compose does from
 * .env), and the database URL pointed at this run's database: the host `postgres` is compose's.
 */
function substituted(environment: Record<string, string>, values: Record<string, string>, databaseUrl: string) {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment)) {
    out[name] = String(value).replace(/\$\{(\w+)(?::\?[^}]*)?\}/g, (_, variable: string) => {
      const given = values[variable];
      if (given === undefined) throw new Error(`compose.yaml needs ${variable}`);
      return given;
    });
  }
  expect(out.TOLLGATE_DATABASE_URL).toStartWith("postgres://tollgate:");
  expect(out.TOLLGATE_DATABASE_URL).toEndWith("@postgres:5432/tollgate");
  out.TOLLGATE_DATABASE_URL = databaseUrl;
  return out;
}

describe.if(!onSqlite)("docs/compose: the README's walk-through, its parts run for real", () => {
  const dir = tempDir("compose-");
  let environment: Record<string, string>;
  let instances: ServerProcess[] = [];

  beforeAll(async () => {
    const tollgates = Object.entries(compose.services).filter(([name]) => name.startsWith("tollgate-"));
    expect(tollgates.map(([name]) => name)).toEqual(["tollgate-1", "tollgate-2"]);
    const { TOLLGATE_DATABASE_URL } = await storeEnv(dir);
    const values = {
      POSTGRES_PASSWORD: randomBytes(16).toString("hex"),
      TOLLGATE_PORTAL_SIGNING_KEY: randomBytes(24).toString("hex"),
    };
    const image = imageEnvironment();
    expect(image).toMatchObject({
      NODE_ENV: "production",
      TOLLGATE_SERVER_HOST: "0.0.0.0",
      TOLLGATE_SERVER_PORT: "8080",
    });
    environment = {
      PATH: process.env.PATH as string,
      HOME: dir,
      ...image,
      ...substituted(tollgates[0]?.[1].environment ?? {}, values, TOLLGATE_DATABASE_URL as string),
      // Loopback and a free port instead of the container's 0.0.0.0:8080.
      TOLLGATE_SERVER_HOST: "127.0.0.1",
    };
    // Both at once, as `docker compose up` starts them: the migrations run once, under the lock.
    instances = await Promise.all(
      tollgates.map(() =>
        startServer({ dir, baseEnv: environment, env: { TOLLGATE_SERVER_PORT: "0" }, cwd: tempDir("compose-data-") }),
      ),
    );
  });

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
  });

  /** `tollgate <args>` as `docker compose run` would start it; `input` on its stdin, as a password is typed. */
  const cli = (args: string[], input?: string) =>
    runToEnd([...SOURCE_CLI, ...args], { env: environment, cwd: dir, input, timeoutMs: 60_000 });

  describeWithProxy("caddy", "behind docs/compose/Caddyfile", () => {
    let caddy: Running;
    beforeAll(async () => {
      caddy = await startBalancingCaddy(instances.map((instance) => instance.port));
    });
    afterAll(async () => {
      await caddy?.stop();
    });

    test("no development key; keys create makes the first; a person signs in; one instance stopped, the other answers", async () => {
      const through = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${caddy.port}${path}`, init);
      // TOLLGATE_AUTH_API_KEY_KEYS "{}": the development key of a fresh start is not there.
      const devKey = await through("/v1/users/me", { headers: { "x-api-key": DEV_KEY } });
      expect(devKey.status).toBe(401);

      const created = await cli(["keys", "create", "--roles", "super_admin", "--name", "ops"]);
      expect(created.code).toBe(0);
      const key = /\bsk_\w+/.exec(created.stdout)?.[0] as string;
      expect(key).toBeDefined();
      for (let i = 0; i < 6; i++) {
        expect((await through("/v1/users/me", { headers: { "x-api-key": key } })).status).toBe(200);
      }
      const served = instances.map(
        (instance) => instance.lines.filter((line) => line.includes('"route":"/v1/users/me"')).length,
      );
      // Round robin: both answered.
      expect(served.every((n) => n > 0)).toBe(true);

      const person = await cli(["users", "create", "--email", "you@example.com"], "correct horse battery\n");
      expect(person.code).toBe(0);
      const signIn = () =>
        through("/v1/auth/login", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: "you@example.com", password: "correct horse battery" }),
        });
      expect((await signIn()).status).toBe(200);

      // `docker compose stop tollgate-2`: Caddy sends everything to tollgate-1 meanwhile.
      expect(await instances[1]?.stop()).toBe(0);
      for (let i = 0; i < 6; i++) {
        expect((await through("/v1/users/me", { headers: { "x-api-key": key } })).status).toBe(200);
      }
      expect((await signIn()).status).toBe(200);
    }, 60_000);
  });
});
