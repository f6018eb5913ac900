// The event writer's thread: its own connection to the store, committing batches the main
// thread sends, so the main thread keeps serving requests while a commit waits for the disk.
import { type Db, openDatabase } from "../../db";
import type { EventRow } from "./model";
import { commitBatch, type UnitFailure } from "./store";

/** `process`: commits reach SQLite's write-ahead log without an fsync (synchronous=NORMAL). */
export type Durability = "fsync" | "process";

export type WriterRequest =
  | { type: "open"; path: string; durability: Durability }
  | { type: "write"; id: number; units: EventRow[][] }
  | { type: "close" };
export type WriterReply = { type: "written"; id: number; failures: UnitFailure[] } | { type: "closed" };

declare const self: Worker;

let db: Db | undefined;

self.onmessage = (event: MessageEvent<WriterRequest>) => {
  const message = event.data;
  switch (message.type) {
    case "open":
      db = openDatabase(message.path);
      // This connection writes only events; every other write keeps synchronous=FULL.
      if (message.durability === "process") db.pragma("synchronous = NORMAL");
      return;
    case "write":
      postMessage({
        type: "written",
        id: message.id,
        failures: commitBatch(db as Db, message.units),
      } satisfies WriterReply);
      return;
    case "close":
      db?.close();
      postMessage({ type: "closed" } satisfies WriterReply);
      return;
  }
};
