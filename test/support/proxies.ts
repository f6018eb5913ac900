// Real reverse proxies for the forward-auth suite: Debian's Caddy and nginx, each started in the
// foreground on a free loopback port with the README's own configuration (docs/proxies/), in
// front of a tiny upstream that echoes what it received.
import { describe, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { isCi } from "./browser";
import { tempDir } from "./temp";

export const PROXY_CONFIGS = join(import.meta.dir, "..", "..", "docs", "proxies");
/** The compose setup of several instances (PostgreSQL, two Tollgates, Caddy balancing). */
export const COMPOSE_FILES = join(import.meta.dir, "..", "..", "docs", "compose");
export const PROXY_INSTALL = "apt-get install -y --no-install-recommends caddy nginx";

export interface Running {
  port: number;
  stop(): Promise<void>;
}

/** What the upstream saw of one request. */
export interface Echo {
  method: string;
  path: string;
  headers: Record<string, string>;
}

/** An upstream that answers every request with what it received, as JSON. */
export function startUpstream(): Running {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const url = new URL(request.url);
      return Response.json({
        method: request.method,
        path: url.pathname + url.search,
        headers: Object.fromEntries(request.headers),
      } satisfies Echo);
    },
  });
  return { port: server.port as number, stop: async () => void server.stop(true) };
}

/** A loopback port free right now (the OS picks; the proxy binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once something answers HTTP on the port; fails with the process's output if it exits first. */
async function answering(port: number, proc: ReturnType<typeof Bun.spawn>, output: () => string): Promise<void> {
  for (let waited = 0; waited < 15_000; waited += 50) {
    if (proc.exitCode !== null) throw new Error(`the proxy exited with ${proc.exitCode}:\n${output()}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await Bun.sleep(50);
    }
  }
  throw new Error(`the proxy did not answer on ${port}:\n${output()}`);
}

function spawnLogged(command: string[], env: Record<string, string>) {
  const proc = Bun.spawn(command, { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  let text = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += new TextDecoder().decode(chunk);
  };
  void collect(proc.stdout as ReadableStream<Uint8Array>);
  void collect(proc.stderr as ReadableStream<Uint8Array>);
  return { proc, output: () => text };
}

async function stopped(proc: ReturnType<typeof Bun.spawn>): Promise<void> {
  proc.kill("SIGTERM");
  await proc.exited;
}

/** Caddy with docs/proxies/Caddyfile as it is: the addresses come from the environment, as the file says. */
export async function startCaddy(tollgatePort: number, upstreamPort: number): Promise<Running> {
  const port = await freePort();
  const home = tempDir("caddy-");
  const { proc, output } = spawnLogged(
    [binaryOf("caddy"), "run", "--config", join(PROXY_CONFIGS, "Caddyfile"), "--adapter", "caddyfile"],
    {
      LISTEN: `127.0.0.1:${port}`,
      TOLLGATE: `127.0.0.1:${tollgatePort}`,
      UPSTREAM: `127.0.0.1:${upstreamPort}`,
      // Caddy keeps its autosaved config and certificates here; never the user's own.
      XDG_CONFIG_HOME: home,
      XDG_DATA_HOME: home,
      HOME: home,
    },
  );
  await answering(port, proc, output);
  return { port, stop: () => stopped(proc) };
}

/** Caddy with docs/compose/Caddyfile as it is, balancing between the Tollgates on these ports. */
export async function startBalancingCaddy(tollgatePorts: number[]): Promise<Running> {
  const port = await freePort();
  const home = tempDir("caddy-");
  const { proc, output } = spawnLogged(
    [binaryOf("caddy"), "run", "--config", join(COMPOSE_FILES, "Caddyfile"), "--adapter", "caddyfile"],
    {
      LISTEN: `127.0.0.1:${port}`,
      TOLLGATES: tollgatePorts.map((p) => `127.0.0.1:${p}`).join(" "),
      XDG_CONFIG_HOME: home,
      XDG_DATA_HOME: home,
      HOME: home,
    },
  );
  await answering(port, proc, output);
  return { port, stop: () => stopped(proc) };
}

/**
 * nginx with docs/proxies/nginx.conf.template, its ${…} replaced as the nginx image's envsubst
 * would, included in a minimal main config that keeps every file nginx writes in a temporary
 * folder (no root paths, no daemon).
 */
export async function startNginx(tollgatePort: number, upstreamPort: number): Promise<Running> {
  const port = await freePort();
  const prefix = tempDir("nginx-");
  mkdirSync(join(prefix, "logs"), { recursive: true });
  const site = readFileSync(join(PROXY_CONFIGS, "nginx.conf.template"), "utf8")
    .replaceAll("${LISTEN}", `127.0.0.1:${port}`)
    .replaceAll("${TOLLGATE}", `127.0.0.1:${tollgatePort}`)
    .replaceAll("${UPSTREAM}", `127.0.0.1:${upstreamPort}`);
  writeFileSync(join(prefix, "site.conf"), site);
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((name) => `  ${name}_temp_path ${join(prefix, name)};`)
    .join("\n");
  writeFileSync(
    join(prefix, "nginx.conf"),
    `worker_processes 1;
error_log stderr warn;
pid ${join(prefix, "nginx.pid")};
events { worker_connections 256; }
http {
  access_log off;
${temp}
  include ${join(prefix, "site.conf")};
}
`,
  );
  const { proc, output } = spawnLogged(
    [binaryOf("nginx"), "-p", prefix, "-c", join(prefix, "nginx.conf"), "-g", "daemon off;"],
    {},
  );
  await answering(port, proc, output);
  return { port, stop: () => stopped(proc) };
}

/** Where a proxy's binary is (nginx is in /usr/sbin, which a non-root PATH may lack), or null. */
function installed(name: string): string | null {
  return Bun.which(name) ?? (existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : null);
}

function binaryOf(name: string): string {
  return installed(name) ?? name;
}

/**
 * A suite that needs a real proxy: skipped loudly without it, and a failure on CI (where
 * .ci/run installs both), as the browser suites do.
 */
export function describeWithProxy(name: "caddy" | "nginx", title: string, body: () => void): void {
  if (installed(name)) {
    describe(title, body);
    return;
  }
  if (isCi()) {
    describe(title, () => {
      test(`${name} is installed (CI: a proxy suite is never skipped)`, () => {
        throw new Error(`No ${name}: install it with ${PROXY_INSTALL}`);
      });
    });
    return;
  }
  console.warn(`\nWARNING: no ${name}; the suite "${title}" is SKIPPED. Install it: ${PROXY_INSTALL}\n`);
  describe.skip(title, body);
}
