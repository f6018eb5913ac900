import { existsSync } from "node:fs";
import type { Config } from "../config";
import { type Migration, openDatabase, openStore, pendingMigrations, SqliteStore, type Store } from "../db";
import { lockStore, StoreLockedError } from "../db/sqlite/lock";

/** A command that cannot do its work: printed as one line, exit 1. */
export class CommandError extends Error {}

/**
 * Runs a command that writes, beside a server that may be running on the same store.
 *
 * On a SQLite file, when no server holds the store, the command holds it meanwhile, so no
 * server starts halfway through. When one does, the command writes beside it (SQLite's WAL lets
 * both), and the server learns of changed credentials through the generation counter the
 * triggers bump. But a schema change under a running server would break it, so pending
 * migrations are refused. On PostgreSQL, several servers share the database by design: the
 * command writes beside them, its migrations under the same advisory lock theirs take.
 */
export async function withWritableStore<T>(
  config: Config,
  work: (store: Store, migrated: Migration[]) => T | Promise<T>,
): Promise<T> {
  if (config.database.url !== "") return withStore(openStore(config), work);
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
    if (server && pendingMigrations(db).length > 0) {
      db.close();
      const holder = server.holderPid === null ? "A server" : `A server (PID ${server.holderPid})`;
      throw new CommandError(
        `${holder} is running on ${path} with an older schema. Stop it, then run this again (the server migrates when it starts).`,
      );
    }
    return await withStore(new SqliteStore(db), work);
  } finally {
    lock?.release();
  }
}

async function withStore<T>(store: Store, work: (store: Store, migrated: Migration[]) => T | Promise<T>): Promise<T> {
  try {
    return await work(store, await store.migrate());
  } finally {
    await store.close();
  }
}

/** Opens a store that must already exist, for a command that only reads. */
export function openExistingStore(config: Config): Store {
  if (config.database.url !== "") return openStore(config);
  const path = config.database.path;
  if (!existsSync(path)) {
    throw new CommandError(`No database at ${path}: start the server once, or run "tollgate migrate".`);
  }
  return new SqliteStore(openDatabase(path));
}
