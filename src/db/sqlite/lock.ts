import { closeSync, mkdirSync, openSync, readSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { MEMORY_DATABASE } from "./open";

/** Another process holds the store: a server is running on it. */
export class StoreLockedError extends Error {
  constructor(
    readonly databasePath: string,
    /** The holder's process id, when the lock file could tell it. */
    readonly holderPid: number | null,
  ) {
    const holder = holderPid === null ? "another Tollgate process" : `another Tollgate process (PID ${holderPid})`;
    super(
      `the database ${resolve(databasePath)} is in use by ${holder}; one server per database, so stop that one first`,
    );
  }
}

/** The database file has more than one name: each would get its own write-ahead log. */
export class StoreLinkedError extends Error {
  constructor(databasePath: string, names: number) {
    super(
      `the database ${resolve(databasePath)} has ${names} names on disk (hard links); SQLite keeps a write-ahead log per name, so two names would corrupt it. Remove every other name (find / -samefile ${resolve(databasePath)}), then start again`,
    );
  }
}

export interface StoreLock {
  release(): void;
}

/** SQLite keeps its header field user_version here, as a big-endian 32-bit integer. */
const USER_VERSION_OFFSET = 60;

/**
 * Claims the store for this process, or throws StoreLockedError naming the process that has it.
 *
 * The lock is a second SQLite file beside the store (`tollgate.db.lock`), written once in
 * exclusive locking mode: SQLite then holds an OS lock on it until the connection closes, and
 * the OS drops that lock when the process dies, however it dies (kill -9 included), so a stale
 * lock can never keep a server from starting. The holder writes its PID into the file's
 * user_version header field; the OS lock covers only bytes far past the header, so a second
 * process can still read the PID for its message.
 *
 * The lock belongs to the database, not to how its path is spelled: it sits beside the file's
 * real path (symlinks resolved, as SQLite resolves them for its own -wal and -shm), and a file
 * with a second name (a hard link, which no path resolution can see) is refused outright,
 * running server or not, because SQLite would give each name a log of its own.
 */
export function lockStore(databasePath: string): StoreLock {
  if (databasePath === MEMORY_DATABASE) return { release() {} };
  mkdirSync(dirname(databasePath), { recursive: true });
  const real = realPathOf(databasePath);
  const names = linkCount(real);
  if (names > 1) throw new StoreLinkedError(databasePath, names);
  const path = `${real}.lock`;
  // timeout 0: a held lock is an answer, not something to wait for.
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("journal_mode = MEMORY");
    db.pragma(`user_version = ${process.pid}`);
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === "SQLITE_BUSY") {
      throw new StoreLockedError(real, holderOf(path));
    }
    throw error;
  }
  return { release: () => db.close() };
}

/** The file's path with every symlink resolved; for a file not created yet, its folder's. */
function realPathOf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return join(realpathSync(dirname(path)), basename(path));
  }
}

/** How many names the file has (1 for a file not created yet). */
function linkCount(path: string): number {
  try {
    return statSync(path).nlink;
  } catch {
    return 1;
  }
}

function holderOf(lockPath: string): number | null {
  const header = Buffer.alloc(4);
  let fd: number | undefined;
  try {
    fd = openSync(lockPath, "r");
    if (readSync(fd, header, 0, 4, USER_VERSION_OFFSET) !== 4) return null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const pid = header.readUInt32BE(0);
  return pid === 0 ? null : pid;
}
