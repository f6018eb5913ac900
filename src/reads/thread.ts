// A reader thread: its own connection to the store (WAL lets it read while the main thread and
// the event writer's thread work), answering the reads that can scan many rows (event queries,
// usage aggregates, pages of lists), so a heavy one never holds up the main thread's other
// requests or /health.
import { type Db, openDatabase } from "../db";
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

let db: Db | undefined;

self.onmessage = (event: MessageEvent<ReaderRequest>) => {
  const message = event.data;
  if (message.type === "open") {
    lowerThreadPriority();
    db = openDatabase(message.path);
    db.pragma("query_only = ON");
    return;
  }
  if (message.type === "close") {
    db?.close();
    postMessage({ type: "closed" } satisfies ReaderReply);
    return;
  }
  try {
    postMessage({
      type: "done",
      id: message.id,
      result: runStoreRead(db as Db, message.read, message.budgetMs),
    } satisfies ReaderReply);
  } catch (error) {
    postMessage({ type: "failed", id: message.id, error: toWireError(error) } satisfies ReaderReply);
  }
};
