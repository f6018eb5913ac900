import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ServerProcess {
  baseUrl: string;
  port: number;
  dir: string;
  proc: ReturnType<typeof Bun.spawn>;
  /** Every line the process printed so far. */
  lines: string[];
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/**
 * Starts `command` (default: this checkout's `bun src/main.ts serve`) on a free loopback port
 * (port 0, read back from the "listening" log line) with its own temporary store.
 */
export async function startServer(
  options: { env?: Record<string, string>; command?: string[]; cwd?: string; dir?: string } = {},
): Promise<ServerProcess> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "tollgate-proc-"));
  const command = options.command ?? [process.execPath, join(import.meta.dir, "../../src/main.ts"), "serve"];
  const proc = Bun.spawn(command, {
    cwd: options.cwd ?? dir,
    env: {
      ...process.env,
      TOLLGATE_SERVER_PORT: "0",
      TOLLGATE_DATABASE_PATH: join(dir, "tollgate.db"),
      ...options.env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${lines.join("\n")}`)), 15_000);
    collectLines(proc.stdout as ReadableStream<Uint8Array>, lines, (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === "listening") {
          clearTimeout(timer);
          resolve(entry.port);
        }
      } catch {
        // not a log line
      }
    });
    collectLines(proc.stderr as ReadableStream<Uint8Array>, lines, () => {});
    proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${lines.join("\n")}`));
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    dir,
    proc,
    lines,
    async stop(signal = "SIGTERM") {
      proc.kill(signal);
      return proc.exited;
    },
  };
}

async function collectLines(stream: ReadableStream<Uint8Array>, into: string[], onLine: (line: string) => void) {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      into.push(line);
      onLine(line);
      nl = buffered.indexOf("\n");
    }
  }
}
