import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { tempDir } from "./temp";
import { openDatabase, PostgresStore, SqliteStore, type Store } from "../../src/db";
import { newPostgresDatabase, TEST_ENGINE } from "./test-store";

/** `bun src/main.ts`: this checkout's CLI, run from source. */
export const SOURCE_CLI = [process.execPath, join(import.meta.dir, "../../src/main.ts")];

export interface ServerProcess {
  baseUrl: string;
  port: number;
  dir: string;
  proc: ReturnType<typeof Bun.spawn>;
  /** Every line the process printed so far, stdout and stderr. */
  lines: string[];
  /** What it printed on stderr alone: the start-up guide and usage errors. */
  stderrLines: string[];
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export interface StartOptions {
  /** Variables set on top of the base environment. */
  env?: Record<string, string>;
  /** The environment to start from (default: this process's). */
  baseEnv?: Record<string, string | undefined>;
  /** Default: this checkout's `bun src/main.ts serve`. */
  command?: string[];
  cwd?: string;
  /** Where the store goes (a new temporary folder unless given). */
  dir?: string;
}

const postgresStores = new Map<string, Promise<Record<string, string>>>();

/**
 * The settings that point a process at the store of `dir`: the SQLite file in it, or on a
 * PostgreSQL run (test-store.ts) a database of its own, the same one for every process given the
 * same `dir` (a restart, the CLI beside a server), with the portal signing key PostgreSQL needs.
 */
export function storeEnv(dir: string): Promise<Record<string, string>> {
  if (TEST_ENGINE === "sqlite") return Promise.resolve({ TOLLGATE_DATABASE_PATH: join(dir, "tollgate.db") });
  let settings = postgresStores.get(dir);
  if (settings === undefined) {
    settings = newPostgresDatabase().then((url) => ({
      TOLLGATE_DATABASE_URL: url,
      TOLLGATE_CUSTOMER_PORTAL_SIGNING_KEY: randomBytes(24).toString("hex"),
    }));
    postgresStores.set(dir, settings);
  }
  return settings;
}

/** Runs `work` on a connection of its own to the store of `dir` (storeEnv), closed after. */
export async function withStoreOf<T>(dir: string, work: (store: Store) => Promise<T>): Promise<T> {
  const settings = await storeEnv(dir);
  const store = settings.TOLLGATE_DATABASE_URL
    ? new PostgresStore(settings.TOLLGATE_DATABASE_URL, { max: 1 })
    : new SqliteStore(openDatabase(settings.TOLLGATE_DATABASE_PATH as string));
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/**
 * Starts `command` on a free loopback port (port 0, read back from the "listening" log line)
 * with its own store: in `dir`, or the database storeEnv(dir) names.
 */
export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  const dir = options.dir ?? tempDir("proc-");
  const command = options.command ?? [...SOURCE_CLI, "serve"];
  const proc = Bun.spawn(command, {
    cwd: options.cwd ?? dir,
    env: {
      ...(options.baseEnv ?? process.env),
      TOLLGATE_SERVER_PORT: "0",
      ...(await storeEnv(dir)),
      ...options.env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  const stderrLines: string[] = [];
  let outputDone: Promise<unknown> = Promise.resolve();
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${lines.join("\n")}`)), 15_000);
    outputDone = Promise.all([
      collectLines(proc.stdout as ReadableStream<Uint8Array>, lines, (line) => {
        const port = listeningPort(line);
        if (port !== null) {
          clearTimeout(timer);
          resolve(port);
        }
      }),
      collectLines(proc.stderr as ReadableStream<Uint8Array>, lines, (line) => stderrLines.push(line)),
    ]);
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
    stderrLines,
    async stop(signal = "SIGTERM") {
      proc.kill(signal);
      const code = await proc.exited;
      await outputDone;
      return code;
    },
  };
}

/** The JSON log lines among what a process printed. */
export function logEntries(lines: string[]): Record<string, unknown>[] {
  return lines.map(parseLogLine).filter((entry) => entry !== null);
}

/** The port of the "listening" entry, in either log format. */
function listeningPort(line: string): number | null {
  const entry = parseLogLine(line);
  if (entry) return entry.msg === "listening" ? (entry.port as number) : null;
  const pretty = / INFO {2}listening .*\bport=(\d+)/.exec(line);
  return pretty ? Number(pretty[1]) : null;
}

function parseLogLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith("{")) return null;
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}

/**
 * Runs a command to completion and returns what it printed. One still running after
 * `timeoutMs` is killed and reported as an error, so a command that should have exited fails
 * its test with a message instead of hanging it.
 */
export async function runToEnd(
  command: string[],
  options: {
    cwd?: string;
    env?: Record<string, string | undefined>;
    timeoutMs?: number;
    /** What the command reads on stdin, as typed (a password); nothing when absent. */
    input?: string;
  } = {},
) {
  const proc = Bun.spawn(command, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdin: options.input === undefined ? "ignore" : new Blob([options.input]),
    stdout: "pipe",
    stderr: "pipe",
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, options.timeoutMs ?? 10_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  if (timedOut)
    throw new Error(`${command.join(" ")} was still running after its time; it printed:\n${stdout}${stderr}`);
  return { stdout, stderr, code };
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
