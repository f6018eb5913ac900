// A reader thread: its own connection to the store (WAL lets it read while the main thread and
// the event writer's thread work), answering the reads that can scan many rows (event queries,
// usage aggregates, pages of lists), so a heavy one never holds up the main thread's other
// requests or /health.
import { openDatabase } from "../db/sqlite/open";
import { SqliteStore } from "../db/sqlite/store";
import { runStoreRead, type StoreRead } from "./catalogue";
import { lowerThreadPriority } from "./priority";
import { type WireError, toWireError } from "../modules/events/thread-error";

export type ReaderRequest =
  { type: "open"; path: string } | { type: "read"; id: number; read: StoreRead; budgetMs: number } | { type: "close" };
export type ReaderReply =
  | { type: "done"; id: number; result: unknown }
  | { type: "closed" }
  | {
      type: "failed";
      id: number;
      error: WireError;
    };

declare const self: Worker;

let store: SqliteStore | undefined;

self.onmessage = (event: MessageEvent<ReaderRequest>) => {
  const message = event.data;
  if (message.type === "open") {
    lowerThreadPriority();
    const db = openDatabase(message.path);
    db.pragma("query_only = ON");
    store = new SqliteStore(db);
    return;
  }
  if (message.type === "close") {
    const closing = store;
    store = undefined;
    void (closing?.close() ?? Promise.resolve()).then(() => postMessage({ type: "closed" } satisfies ReaderReply));
    return;
  }
  const { id } = message;
  runStoreRead(store as SqliteStore, message.read, message.budgetMs).then(
    (result) => postMessage({ type: "done", id, result } satisfies ReaderReply),
    (error) => postMessage({ type: "failed", id, error: toWireError(error) } satisfies ReaderReply),
  );
};
