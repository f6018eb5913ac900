// How long a cold dashboard page takes to load: a fresh server process, a fresh Chromium
// context, navigation to the load event (the HTML, its stylesheet, script and icon) for the
// sign-in page and, signed in, the API Keys page; beside the same measurement of the bare
// /health route, so what the dashboard adds is the difference. Loopback, one run per fresh server.
//   bun bench/dashboard-cold.ts            (ROUNDS=5 by default)
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium } from "../test/support/browser";

const MAIN = join(import.meta.dir, "../src/main.ts");
let nextPort = 18700;

/** `tollgate serve` from source on a port of its own; resolves once it listens. */
async function startServer(options: { dir?: string } = {}) {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "tollgate-cold-"));
  const port = nextPort++;
  const proc = Bun.spawn([process.execPath, MAIN, "serve"], {
    cwd: dir,
    env: { ...process.env, TOLLGATE_SERVER_PORT: String(port), TOLLGATE_DATABASE_PATH: join(dir, "t.db") },
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderrLines: string[] = [];
  (async () => {
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      stderrLines.push(...new TextDecoder().decode(chunk).split("\n"));
    }
  })();
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let seen = "";
  while (!seen.includes('"listening"')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${seen}`);
    seen += new TextDecoder().decode(value);
  }
  (async () => {
    for (;;) if ((await reader.read()).done) break;
  })();
  return {
    dir,
    stderrLines,
    baseUrl: `http://127.0.0.1:${port}`,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const browser = await launchChromium();
const results: Record<string, number[]> = { health: [], "sign-in": [], "api-keys": [] };

async function timeLoad(url: string, cookie?: { name: string; value: string; url: string }): Promise<number> {
  const context = await browser.newContext();
  if (cookie) await context.addCookies([cookie]);
  const page = await context.newPage();
  const started = performance.now();
  await page.goto(url, { waitUntil: "load" });
  const ms = performance.now() - started;
  await context.close();
  return ms;
}

for (let round = 0; round < ROUNDS; round++) {
  for (const what of ["health", "sign-in", "api-keys"] as const) {
    const server = await startServer();
    try {
      if (what === "health") results[what]!.push(await timeLoad(`${server.baseUrl}/health`));
      else if (what === "sign-in") results[what]!.push(await timeLoad(`${server.baseUrl}/dashboard/sign-in`));
      else {
        const link = /http:\/\/\S+\/dashboard\/setup\?token=(tgp_[0-9a-f]{64})/;
        let token: string | undefined;
        for (let i = 0; i < 100 && !token; i++) {
          token = link.exec(server.stderrLines.join("\n"))?.[1];
          if (!token) await Bun.sleep(50);
        }
        const setup = await fetch(`${server.baseUrl}/v1/auth/setup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ token, email: "bench@example.com", password: "bench password" }),
        });
        const session = ((await setup.json()) as { token: string }).token;
        // A fresh server again, so the page's first load is its first dashboard request.
        const dir = server.dir;
        await server.stop();
        const again = await startServer({ dir });
        try {
          results[what]!.push(
            await timeLoad(`${again.baseUrl}/dashboard/api-keys`, {
              name: "tollgate_session",
              value: session,
              url: `${again.baseUrl}/dashboard`,
            }),
          );
        } finally {
          await again.stop();
        }
        continue;
      }
    } finally {
      if (what !== "api-keys") await server.stop();
    }
  }
}
await browser.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const [what, xs] of Object.entries(results)) {
  console.log(`${what.padEnd(9)} median ${median(xs).toFixed(1)} ms  (${xs.map((x) => x.toFixed(1)).join(", ")})`);
}
