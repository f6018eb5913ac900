import { accessSync, constants, statfsSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";

/** What makes the store unable to keep a write; `details.problem` in the 503 envelope. */
export type StoreProblem =
  /** The database file (or its -wal/-shm) was deleted while the server has it open. */
  | "store_missing"
  /** Another file now sits at its path (a restore, a copy moved in). */
  | "store_replaced"
  | "disk_full"
  | "read_only"
  | "io_error"
  | "cannot_open"
  | "corrupt"
  /** The PostgreSQL server cannot be reached (refused, closed, shutting down). */
  | "unreachable";

export type StoreStatus = { ok: true } | { ok: false; problem: StoreProblem; message: string };

/** Below this many free bytes on the store's file system, the disk counts as full. */
export const DISK_FULL_BYTES = 1024 * 1024;

const OK: StoreStatus = { ok: true };

/** The store failure codes that mean a write cannot be made durable, by problem. */
const SQLITE_PROBLEMS: [prefix: string, problem: StoreProblem, says: string][] = [
  ["SQLITE_FULL", "disk_full", "the disk holding the database is full"],
  ["SQLITE_IOERR", "io_error", "the database could not be read or written (an I/O error)"],
  ["SQLITE_READONLY", "read_only", "the database cannot be written (read-only)"],
  ["SQLITE_CANTOPEN", "cannot_open", "the database file could not be opened"],
  ["SQLITE_CORRUPT", "corrupt", "the database file is damaged"],
  ["SQLITE_NOTADB", "corrupt", "the database file is damaged"],
  // PostgreSQL's, as its engine names them (src/db/postgres/store.ts).
  ["POSTGRES_DISK_FULL", "disk_full", "the disk holding the database is full"],
  ["POSTGRES_READ_ONLY", "read_only", "the database cannot be written (read-only)"],
  ["POSTGRES_UNREACHABLE", "unreachable", "the database server cannot be reached"],
];

export interface StoreFailure {
  /** SQLite's extended result code, e.g. SQLITE_IOERR_FSYNC. */
  code: string;
  problem: StoreProblem;
  /** What it means, for a person: "the disk holding the database is full". */
  says: string;
}

/**
 * An error that says the store cannot keep data (disk full, I/O error, read-only, unopenable,
 * damaged), or null for any other error. Recognised by SQLite's `code`, which better-sqlite3's
 * SqliteError carries and the event writer keeps on the errors it rejects with.
 */
export function storeFailureOf(error: unknown): StoreFailure | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !(code.startsWith("SQLITE_") || code.startsWith("POSTGRES_"))) return null;
  for (const [prefix, problem, says] of SQLITE_PROBLEMS) {
    if (code === prefix || code.startsWith(`${prefix}_`)) return { code, problem, says };
  }
  return null;
}

/** A store file as it was opened: its path, and the device and inode it was found at. */
export interface FileIdentity {
  path: string;
  dev: bigint;
  ino: bigint;
}

interface FsStats {
  bsize: number | bigint;
  bavail: number | bigint;
  bfree: number | bigint;
}

export interface StoreHealthOptions {
  /** node:fs statfsSync unless given (tests give a fake). */
  statfs?: (path: string) => FsStats;
  /** Date.now unless given. */
  now?: () => number;
  /**
   * The files to watch, as another StoreHealth found them (`files`): the event writer's thread
   * checks the very files the server opened, not whatever is at their paths when it starts.
   */
  files?: readonly FileIdentity[];
}

/**
 * The store's files as they are now. The -wal and -shm exist once a WAL connection has read the
 * store (migrate did); the server's own connection keeps them until it closes, so they must not
 * vanish either.
 */
function opened(path: string): FileIdentity[] {
  const files: FileIdentity[] = [];
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    const stat = statSync(file, { bigint: true, throwIfNoEntry: false });
    if (stat) files.push({ path: file, dev: stat.dev, ino: stat.ino });
  }
  return files;
}

/**
 * Whether the store can still keep what it is given. SQLite will not say so itself: in WAL mode
 * a connection whose files were deleted (or replaced by a restore) goes on writing into the
 * unlinked files without an error, and every one of those writes is gone at the next start. So
 * this remembers which files were opened (device and inode) and looks at the paths again:
 *
 * - `fileProblem()`: the database file and its -wal/-shm are still the ones opened: three stat
 *   calls. Every write request makes them, except event ingestion: the event writer makes them
 *   once per batch, right before its commit (commit.ts), since per request they were a sixth of
 *   the request thread's time under load.
 * - `check()`: that, plus the folder and file writable, the disk not full (under
 *   DISK_FULL_BYTES free), and no write failed recently: a failure SQLite reported
 *   (`recordFailure`) counts until a write succeeds or FAILURE_HOLD_MS pass without another,
 *   so a server a load balancer took out of rotation for it gets writes to try again.
 *
 * An in-memory store (path null) has no files: only recorded failures count.
 */
export class StoreHealth {
  static readonly FAILURE_HOLD_MS = 60_000;

  readonly #path: string | null;
  readonly #files: FileIdentity[];
  readonly #statfs: (path: string) => FsStats;
  readonly #now: () => number;
  #failure: (StoreFailure & { at: number }) | null = null;

  constructor(path: string | null, options: StoreHealthOptions = {}) {
    this.#path = path === null ? null : resolve(path);
    this.#statfs = options.statfs ?? statfsSync;
    this.#now = options.now ?? Date.now;
    this.#files = options.files ? [...options.files] : this.#path === null ? [] : opened(this.#path);
  }

  /** The files watched, as they were opened; for another StoreHealth to watch the same. */
  get files(): readonly FileIdentity[] {
    return this.#files;
  }

  /** The database path this watches (absolute), or null for an in-memory store. */
  get path(): string | null {
    return this.#path;
  }

  /** The files opened are still the ones at their paths. */
  fileProblem(): StoreStatus {
    for (const file of this.#files) {
      const stat = statSync(file.path, { bigint: true, throwIfNoEntry: false });
      if (!stat) {
        const name = basename(file.path);
        return {
          ok: false,
          problem: "store_missing",
          message: `The database file ${name} was deleted while the server was running; writes are refused. Restart the server`,
        };
      }
      if (stat.dev !== file.dev || stat.ino !== file.ino) {
        const name = basename(file.path);
        return {
          ok: false,
          problem: "store_replaced",
          message: `The database file ${name} was replaced while the server was running; writes are refused. Restart the server`,
        };
      }
    }
    return OK;
  }

  /** Everything /health looks at: the files, the disk, the last write. */
  check(): StoreStatus {
    const files = this.fileProblem();
    if (!files.ok) return files;
    if (this.#path !== null) {
      const disk = this.#diskProblem(this.#path);
      if (!disk.ok) return disk;
    }
    const failure = this.#failure;
    if (failure && this.#now() - failure.at < StoreHealth.FAILURE_HOLD_MS) {
      return { ok: false, problem: failure.problem, message: `The last write to the database failed: ${failure.says}` };
    }
    return OK;
  }

  /** SQLite refused a write for want of disk or a working file: /health says so for a while. */
  recordFailure(code: string): void {
    const failure = storeFailureOf({ code });
    if (failure) this.#failure = { ...failure, at: this.#now() };
  }

  /** A write got through: a failure recorded before it no longer counts. */
  writeSucceeded(): void {
    this.#failure = null;
  }

  #diskProblem(path: string): StoreStatus {
    for (const [target, mode] of [
      [dirname(path), constants.W_OK | constants.X_OK],
      [path, constants.R_OK | constants.W_OK],
    ] as const) {
      try {
        accessSync(target, mode);
      } catch (error) {
        const code = (error as { code?: string }).code ?? "error";
        return {
          ok: false,
          problem: "read_only",
          message: `The database ${target === path ? "file" : "folder"} cannot be written (${code})`,
        };
      }
    }
    const fs = this.#statfs(dirname(path));
    // root may use the blocks the file system keeps back; anyone else only what is available.
    const blocks = process.getuid?.() === 0 ? fs.bfree : fs.bavail;
    if (Number(blocks) * Number(fs.bsize) < DISK_FULL_BYTES) {
      return { ok: false, problem: "disk_full", message: "The disk holding the database is full" };
    }
    return OK;
  }
}
