// An acknowledged event survives `kill -9`: every 202 is a committed row.
import { describe, expect, test } from "bun:test";
import { DEV_KEY } from "./support/harness";
import { startServer } from "./support/process";

const CLIENTS = 8;

async function allEventIds(baseUrl: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const res = await fetch(`${baseUrl}/v1/events/query`, {
      method: "POST",
      headers: { "X-API-Key": DEV_KEY, "Content-Type": "application/json" },
      body: JSON.stringify({ page_size: 1000, order: "asc", ...(cursor ? { iter_last_key: cursor } : {}) }),
    });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { events: { id: string }[]; has_more: boolean; iter_last_key: string | null };
    for (const event of page.events) ids.add(event.id);
    if (!page.has_more || !page.iter_last_key) return ids;
    cursor = page.iter_last_key;
  }
}

describe("durability", () => {
  test("every event answered 202 is there after SIGKILL and a restart on the same store", async () => {
    const first = await startServer();
    const acknowledged = new Set<string>();
    let killed = false;
    const clients = Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = 0; !killed && i < 100_000; i++) {
        const eventId = `client${client}-${i}`;
        try {
          const res = await fetch(`${first.baseUrl}/v1/events`, {
            method: "POST",
            headers: { "X-API-Key": DEV_KEY, "Content-Type": "application/json" },
            body: JSON.stringify({ event_id: eventId, event_name: "api_call", external_customer_id: `cus_${client}` }),
          });
          if (res.status === 202) acknowledged.add(eventId);
        } catch {
          return; // the connection died with the server
        }
      }
    });
    // Let the clients get going, then kill the server mid-stream, requests in flight.
    while (acknowledged.size < 500) await Bun.sleep(10);
    first.proc.kill("SIGKILL");
    killed = true;
    await first.proc.exited;
    await Promise.all(clients);

    const second = await startServer({ dir: first.dir });
    try {
      const stored = await allEventIds(second.baseUrl);
      const lost = [...acknowledged].filter((id) => !stored.has(id));
      expect(acknowledged.size).toBeGreaterThanOrEqual(500);
      expect(lost).toEqual([]);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
