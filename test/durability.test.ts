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

type Post = (path: string, body: unknown) => Promise<Response>;

/**
 * Starts a server, lets CLIENTS clients ingest through `send` (which posts one request and
 * returns the event ids it carried) until `atLeast` events are acknowledged, kills the server
 * with SIGKILL mid-stream, requests in flight, and starts a new one on the same store. A server
 * that fails early fails the test with what it printed, not by hanging to the timeout.
 */
async function killedMidStream(
  send: (post: Post, client: number, i: number) => Promise<{ ids: string[]; res: Response }>,
  atLeast: number,
  env: Record<string, string> = {},
) {
  const first = await startServer({ env });
  const acknowledged = new Set<string>();
  let killed = false;
  const post: Post = (path, body) =>
    fetch(`${first.baseUrl}${path}`, {
      method: "POST",
      headers: { "X-API-Key": DEV_KEY, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  const clients = Array.from({ length: CLIENTS }, async (_, client) => {
    for (let i = 0; !killed && i < 100_000; i++) {
      try {
        const { ids, res } = await send(post, client, i);
        if (res.status === 202) for (const id of ids) acknowledged.add(id);
      } catch {
        return; // the connection died with the server
      }
    }
  });
  const deadline = Date.now() + 20_000;
  while (acknowledged.size < atLeast) {
    if (Date.now() > deadline)
      throw new Error(`only ${acknowledged.size} events acknowledged:\n${first.lines.join("\n")}`);
    await Bun.sleep(10);
  }
  first.proc.kill("SIGKILL");
  killed = true;
  await first.proc.exited;
  await Promise.all(clients);
  return { acknowledged, second: await startServer({ dir: first.dir, env }) };
}

describe("durability", () => {
  test("every event answered 202 is there after SIGKILL and a restart on the same store", async () => {
    const { acknowledged, second } = await killedMidStream(async (post, client, i) => {
      const eventId = `client${client}-${i}`;
      const res = await post("/v1/events", {
        event_id: eventId,
        event_name: "api_call",
        external_customer_id: `cus_${client}`,
      });
      return { ids: [eventId], res };
    }, 500);
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

describe("durability with events.durability: process, bulk requests among single events", () => {
  // synchronous=NORMAL: a commit reaches SQLite's write-ahead log without an fsync. That survives
  // the process being killed (what this test does), not a power loss (which it cannot).
  test("every event of every request answered 202 is there after SIGKILL and a restart", async () => {
    const { acknowledged, second } = await killedMidStream(
      async (post, client, i) => {
        const ids =
          client % 2 === 0 ? [`c${client}-${i}`] : Array.from({ length: 10 }, (_, k) => `c${client}-${i}-${k}`);
        const event = (event_id: string) => ({
          event_id,
          event_name: "api_call",
          external_customer_id: `cus_${client}`,
        });
        const res =
          ids.length === 1
            ? await post("/v1/events", event(ids[0] as string))
            : await post("/v1/events/bulk", { events: ids.map(event) });
        return { ids, res };
      },
      2000,
      { TOLLGATE_EVENTS_DURABILITY: "process" },
    );
    try {
      const stored = await allEventIds(second.baseUrl);
      expect([...acknowledged].filter((id) => !stored.has(id))).toEqual([]);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});

describe("a graceful stop with events queued", () => {
  test("SIGTERM mid-stream under 8 clients: every 202 is stored, exit 0", async () => {
    const first = await startServer();
    const acknowledged = new Set<string>();
    let signalled = false;
    let answeredAfterSignal = 0;
    const clients = Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = 0; i < 100_000; i++) {
        const eventId = `graceful${client}-${i}`;
        try {
          const res = await fetch(`${first.baseUrl}/v1/events`, {
            method: "POST",
            headers: { "X-API-Key": DEV_KEY, "Content-Type": "application/json" },
            body: JSON.stringify({ event_id: eventId, event_name: "api_call", external_customer_id: `cus_${client}` }),
          });
          if (res.status !== 202) return;
          acknowledged.add(eventId);
          if (signalled) answeredAfterSignal++;
        } catch {
          return; // the server stopped accepting
        }
      }
    });
    const deadline = Date.now() + 20_000;
    while (acknowledged.size < 500) {
      if (Date.now() > deadline)
        throw new Error(`only ${acknowledged.size} events acknowledged:\n${first.lines.join("\n")}`);
      await Bun.sleep(10);
    }
    first.proc.kill("SIGTERM");
    signalled = true;
    expect(await first.proc.exited).toBe(0);
    await Promise.all(clients);

    const second = await startServer({ dir: first.dir });
    try {
      const stored = await allEventIds(second.baseUrl);
      expect([...acknowledged].filter((id) => !stored.has(id))).toEqual([]);
      // The stop happened under load: answers were still arriving after the signal.
      expect(answeredAfterSignal).toBeGreaterThan(0);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
