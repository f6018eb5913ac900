// An event reader thread: its own connection to the store (WAL lets it read while the main
// thread and the writer thread work), answering the queries that can scan many events, so a
// heavy query never holds up the main thread's other requests or /health.
import { type Db, openDatabase } from "../../db";
import { ApiError } from "../../http/errors";
import { type EventRead, runEventRead } from "./reads";

export type ReaderRequest =
  { type: "open"; path: string } | { type: "read"; id: number; read: EventRead; budgetMs: number };
export type ReaderReply =
  | { type: "done"; id: number; result: unknown }
  | {
      type: "failed";
      id: number;
      error: { message: string; status?: number; code?: string; details?: Record<string, unknown> };
    };

declare const self: Worker;

let db: Db | undefined;

self.onmessage = (event: MessageEvent<ReaderRequest>) => {
  const message = event.data;
  if (message.type === "open") {
    db = openDatabase(message.path);
    db.pragma("query_only = ON");
    return;
  }
  try {
    postMessage({
      type: "done",
      id: message.id,
      result: runEventRead(db as Db, message.read, message.budgetMs),
    } satisfies ReaderReply);
  } catch (error) {
    const e = error as Error & { code?: unknown };
    // An ApiError crosses whole; anything else keeps SQLite's code (SQLITE_IOERR…) for the HTTP layer.
    const known =
      error instanceof ApiError
        ? { status: error.status, code: error.code, details: error.details }
        : typeof e.code === "string"
          ? { code: e.code }
          : {};
    postMessage({ type: "failed", id: message.id, error: { message: e.message, ...known } } satisfies ReaderReply);
  }
};
