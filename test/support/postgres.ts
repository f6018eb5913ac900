// A private PostgreSQL cluster for the suite's PostgreSQL run (SPEC §15): Debian's binaries,
// initdb as the `postgres` user when run as root, a Unix socket in a temporary folder, no TCP
// port, fsync off (the data dies with the run). Each test store is a database of its own, copied
// from a template the migrations ran on once.
import { existsSync, mkdirSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { chownSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";

/** Debian's layout: /usr/lib/postgresql/<major>/bin; TOLLGATE_TEST_POSTGRES_BIN points elsewhere. */
export function postgresBin(): string | null {
  const given = process.env.TOLLGATE_TEST_POSTGRES_BIN;
  if (given) return given;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const majors = readdirSync(root)
    .filter((name) => existsSync(join(root, name, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? join(root, majors[0], "bin") : null;
}

export interface Cluster {
  /** A URL of the `postgres` database as the superuser, over the socket. */
  adminUrl: string;
  stop(): void;
}

function asPostgresUser(command: string[]): string[] {
  return process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...command] : command;
}

function run(command: string[], what: string): void {
  const done = Bun.spawnSync(asPostgresUser(command), { stdout: "pipe", stderr: "pipe" });
  if (done.exitCode !== 0) {
    throw new Error(`${what} failed (${done.exitCode}): ${done.stderr.toString()}${done.stdout.toString()}`);
  }
}

/**
 * Where a cluster's folder goes: memory (/dev/shm) when it has room for a whole run, else the
 * temporary folder. A run copies its template hundreds of times (about 7.5 MB each, PostgreSQL's
 * catalogs): on disk that is gigabytes of writes and a long removal at the end; in memory neither.
 */
function clusterParent(): string {
  const ROOM_FOR_A_RUN = 12 * 1024 ** 3;
  try {
    const shm = statfsSync("/dev/shm");
    if (shm.bavail * shm.bsize >= ROOM_FOR_A_RUN) return "/dev/shm";
  } catch {
    // No /dev/shm here: the temporary folder it is.
  }
  return tmpdir();
}

/**
 * Creates and starts a cluster in a new temporary folder; `stop()` stops it and removes the
 * folder. The suite's cluster gives up durability for speed; `durable` keeps PostgreSQL's
 * defaults (fsync, synchronous commit, autovacuum), as the benchmark measures a real one.
 */
export function startCluster({ durable = false }: { durable?: boolean } = {}): Cluster {
  const bin = postgresBin();
  if (!bin) throw new Error("PostgreSQL is not installed (Debian: apt-get install postgresql)");
  const dir = join(clusterParent(), `tollgate-pg-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { mode: 0o700 });
  if (process.getuid?.() === 0) {
    const ids = Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim();
    const group = Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString().trim();
    chownSync(dir, Number(ids), Number(group));
  }
  const data = join(dir, "data");
  run(
    [join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
    "initdb",
  );
  const settings = [
    `-k ${dir}`,
    "-c listen_addresses=''",
    "-c max_connections=400",
    "-c shared_buffers=128MB",
    // Hundreds of short-lived databases a run: nothing for autovacuum to keep healthy.
    ...(durable ? [] : ["-c fsync=off", "-c autovacuum=off", "-c synchronous_commit=off", "-c full_page_writes=off"]),
  ].join(" ");
  run(
    [join(bin, "pg_ctl"), "-D", data, "-o", settings, "-l", join(dir, "log"), "-w", "-t", "60", "start"],
    "pg_ctl start",
  );
  let stopped = false;
  return {
    adminUrl: `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}`,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run([join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], "pg_ctl stop");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The URL of database `name` on the server of `adminUrl`. */
export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates database `name` as a copy of `template` (or empty), and answers its URL. */
export async function createDatabase(adminUrl: string, name: string, template?: string): Promise<string> {
  const admin = new SQL({ url: adminUrl, max: 1 });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ""}`);
  } finally {
    await admin.close();
  }
  return databaseUrl(adminUrl, name);
}
