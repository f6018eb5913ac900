import { existsSync } from "node:fs";
import type { Config } from "../config";
import { type Db, migrate, openDatabase, pendingMigrations } from "../db";
import { lockStore, StoreLockedError } from "../db/lock";
import type { Migration } from "../db/migrations";

/** A command that cannot do its work: printed as one line, exit 1. */
export class CommandError extends Error {}

/**
 * Runs a command that writes, beside a server that may be running on the same store.
 *
 * When no server holds the store, the command holds it meanwhile, so no server starts halfway
 * through. When one does, the command writes beside it (SQLite's WAL lets both), and the
 * server learns of changed credentials through the generation counter the triggers bump. But
 * a schema change under a running server would break it, so pending migrations are refused.
 */
export function withWritableStore<T>(config: Config, work: (db: Db, migrated: Migration[]) => T): T {
  const path = config.database.path;
  let lock: ReturnType<typeof lockStore> | null = null;
  let server: StoreLockedError | null = null;
  try {
    lock = lockStore(path);
  } catch (err) {
    if (!(err instanceof StoreLockedError)) throw err;
    server = err;
  }
  try {
    const db = openDatabase(path);
    try {
      if (server && pendingMigrations(db).length > 0) {
        const holder = server.holderPid === null ? "A server" : `A server (PID ${server.holderPid})`;
        throw new CommandError(
          `${holder} is running on ${path} with an older schema. Stop it, then run this again (the server migrates when it starts).`,
        );
      }
      return work(db, migrate(db));
    } finally {
      db.close();
    }
  } finally {
    lock?.release();
  }
}

/** Opens a store that must already exist, for a command that only reads. */
export function openExistingStore(config: Config): Db {
  const path = config.database.path;
  if (!existsSync(path)) {
    throw new CommandError(`No database at ${path}: start the server once, or run "tollgate migrate".`);
  }
  return openDatabase(path);
}
