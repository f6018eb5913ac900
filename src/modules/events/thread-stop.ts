// How the store threads (the readers, the event writer) are stopped, alike.

/**
 * Asks a thread to close its store connection ({ type: "close" }) and terminates it once it has
 * answered { type: "closed" }, or failed: never before. Terminating a thread while it still loads
 * better-sqlite3's native module (its first open) crashes the whole process in Bun 1.4 (NAPI
 * FATAL ERROR … Crashed while loading native module), which a server stopped right after its
 * start, or a test's short-lived app, would hit now and then.
 */
export async function stopThread(worker: Worker): Promise<void> {
  await new Promise<void>((resolve) => {
    worker.onmessage = (event: MessageEvent<{ type: string }>) => {
      if (event.data.type === "closed") resolve();
    };
    worker.onerror = () => resolve();
    worker.postMessage({ type: "close" });
  });
  worker.terminate();
}
