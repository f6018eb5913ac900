// The event writer's thread: its own connection to the store, committing batches the main
// thread sends, so the main thread keeps serving requests while a commit waits for the disk.
import { type Db, openDatabase } from "../../db/sqlite/open";
import { type FileIdentity, StoreHealth } from "../../db/health";
import { type BatchOutcome, commitUnits, fromWire, type WireBatch } from "./commit";
import { type InsertEvents, insertEventsIntoSqlite } from "./store";

/** `process`: commits reach SQLite's write-ahead log without an fsync (synchronous=NORMAL). */
export type Durability = "fsync" | "process";

export type WriterRequest =
  /** `files`: the store's files as the server opened them, looked at before each commit. */
  | { type: "open"; path: string; durability: Durability; files: readonly FileIdentity[] }
  | { type: "write"; id: number; batch: WireBatch }
  | { type: "close" };
export type WriterReply = { type: "written"; id: number; outcome: BatchOutcome } | { type: "closed" };

declare const self: Worker;

/**
 * WAL pages before this connection folds them back into the database file: about 160 MiB, which
 * is also the most a restart after a crash reads back. Each commit of events dirties about one
 * index leaf per customer in it, and a checkpoint writes each page once however many commits
 * rewrote it; the writer spends most of a checkpoint waiting for those scattered writes to reach
 * the disk. With bulk ingestion on a store of 1M events, 40,000 pages gave 20–25% more events/s
 * than 10,000 (same run, alternating); 100,000 about 8% more again, for 2.5 times the log.
 */
const AUTOCHECKPOINT_PAGES = 40_000;
/** A page cache that holds every customer's newest index leaves between commits. */
const CACHE_KIB = 64 * 1024;
/**
 * The main thread never checkpoints (app.ts), so its own writes are folded in from here: a
 * passive checkpoint this often, which waits for nobody.
 */
const IDLE_CHECKPOINT_MS = 5_000;

let db: Db | undefined;
let insert: InsertEvents | undefined;
let health: StoreHealth | undefined;
let checkpoints: ReturnType<typeof setInterval> | undefined;

self.onmessage = (event: MessageEvent<WriterRequest>) => {
  const message = event.data;
  switch (message.type) {
    case "open": {
      const opened = openDatabase(message.path);
      db = opened;
      health = new StoreHealth(message.path, { files: message.files });
      // This connection writes only events; every other write keeps synchronous=FULL.
      if (message.durability === "process") opened.pragma("synchronous = NORMAL");
      opened.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
      opened.pragma(`cache_size = -${CACHE_KIB}`);
      insert = insertEventsIntoSqlite(opened);
      checkpoints = setInterval(() => opened.pragma("wal_checkpoint(PASSIVE)"), IDLE_CHECKPOINT_MS);
      return;
    }
    case "write": {
      // Messages are handled one at a time: the main thread sends the next batch only after this reply.
      const { id, batch } = message;
      void commitUnits(insert as InsertEvents, fromWire(batch), () => (health as StoreHealth).fileProblem()).then(
        (outcome) => postMessage({ type: "written", id, outcome } satisfies WriterReply),
      );
      return;
    }
    case "close":
      clearInterval(checkpoints);
      db?.close();
      postMessage({ type: "closed" } satisfies WriterReply);
      return;
  }
};
