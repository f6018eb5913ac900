// The event writer's thread: its own connection to the store, committing batches the main
// thread sends, so the main thread keeps serving requests while a commit waits for the disk.
import { type Db, openDatabase } from "../../db";
import type { EventRow } from "./model";
import { commitBatch, type RowFailure } from "./store";

export type WriterRequest =
  { type: "open"; path: string } | { type: "write"; id: number; rows: EventRow[] } | { type: "close" };
export type WriterReply = { type: "written"; id: number; failures: RowFailure[] } | { type: "closed" };

declare const self: Worker;

let db: Db | undefined;

self.onmessage = (event: MessageEvent<WriterRequest>) => {
  const message = event.data;
  switch (message.type) {
    case "open":
      db = openDatabase(message.path);
      return;
    case "write":
      postMessage({
        type: "written",
        id: message.id,
        failures: commitBatch(db as Db, message.rows),
      } satisfies WriterReply);
      return;
    case "close":
      db?.close();
      postMessage({ type: "closed" } satisfies WriterReply);
      return;
  }
};
