import { closeSync, mkdirSync, openSync, readSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { MEMORY_DATABASE } from ".";

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
 */
export function lockStore(databasePath: string): StoreLock {
  if (databasePath === MEMORY_DATABASE) return { release() {} };
  const path = `${databasePath}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  // timeout 0: a held lock is an answer, not something to wait for.
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("journal_mode = MEMORY");
    db.pragma(`user_version = ${process.pid}`);
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === "SQLITE_BUSY") {
      throw new StoreLockedError(databasePath, holderOf(path));
    }
    throw error;
  }
  return { release: () => db.close() };
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
