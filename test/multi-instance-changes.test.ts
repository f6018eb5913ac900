// SPEC.md §15 and issue 28: every credential change made through one instance is obeyed by the
// other instance on the same PostgreSQL database within milliseconds (migration 017's
// notifications, auth/change-watch.ts), and events acknowledged by either instance survive
// `kill -9` of one of them mid-stream, each stored once; both ingesting at once, no request fails
// (their event batches move one count row: read committed, src/modules/events/store.ts).
// test/multi-instance.test.ts has the revoke measured both ways, the killed listening
// connection, sign-out and the shared sign-in lock.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PostgresStore } from "../src/db";
import type { EventRow } from "../src/modules/events/model";
import { insertEventsInto } from "../src/modules/events/store";
import { DEV_KEY } from "./support/harness";
import { type ServerProcess, startServer } from "./support/process";
import { tempDir } from "./support/temp";
import { newPostgresDatabase, onSqlite } from "./support/test-store";

const KEYS = "/v1/secrets/api/keys";
/** A hard bound per trial, far above the 100 ms promised, that a loaded 2-core machine does not break. */
const BOUND_MS = 1_000;
/** The promise itself, asserted of the median only: single trials are at the machine's scheduling. */
const MEDIAN_MS = 100;
/** Requests with the old credential sent to the other instance after its first refusal: none may pass. */
const AFTER_REFUSAL = 5;
const PASSWORD = "correct horse battery";

/**
 * Trials per kind of change, 200 in all. Fewer password changes: each costs three argon2id
 * hashes (a quarter of a second each on an idle 2-core machine, a second under load), where
 * the others cost a few milliseconds.
 */
const TRIALS = { revoke: 50, rotate: 50, archive: 45, role: 45, password: 10 } as const;
type Kind = keyof typeof TRIALS;
const ALL_TRIALS = Object.values(TRIALS).reduce((sum, n) => sum + n, 0);

type Credential = { header: "X-API-Key" | "Authorization"; value: string };
const apiKey = (key: string): Credential => ({ header: "X-API-Key", value: key });
const session = (token: string): Credential => ({ header: "Authorization", value: `Bearer ${token}` });
const DEV = apiKey(DEV_KEY);

async function call(server: ServerProcess, method: string, path: string, credential: Credential, body?: unknown) {
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: {
      [credential.header]: credential.value,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Runs `make` for 0..count-1, at most `parallel` at a time, in order of index. */
async function inParallel<T>(count: number, parallel: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const made: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        made[i] = await make(i);
      }
    }),
  );
  return made;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return percentile(sorted, 50);
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((x, y) => x - y);
  const f = (n: number) => n.toFixed(1);
  return (
    `n ${sorted.length}: p50 ${f(percentile(sorted, 50))} ms, p95 ${f(percentile(sorted, 95))} ms, ` +
    `p99 ${f(percentile(sorted, 99))} ms, max ${f(sorted.at(-1) as number)} ms`
  );
}

/** The kinds in turn, each until its count is used up: every kind sees the same machine. */
function interleaved(): Kind[] {
  const left = { ...TRIALS };
  const order: Kind[] = [];
  while (order.length < ALL_TRIALS) {
    for (const kind of Object.keys(left) as Kind[]) {
      if (left[kind] > 0) {
        order.push(kind);
        left[kind]--;
      }
    }
  }
  return order;
}

describe.if(!onSqlite)("every credential change on one instance, obeyed by the other (PostgreSQL)", () => {
  // A makes every change; B is asked until it refuses.
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    const dir = tempDir("changes-");
    // Thousands of refusals from one address: no per-address limit.
    const env = { TOLLGATE_AUTH_FAILED_ATTEMPTS_MAX_FAILURES: "0" };
    a = await startServer({ dir, env });
    b = await startServer({ dir, env });
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  /** A key of the caller's own, or of a service account: its id and the key. */
  async function newKey(name: string, serviceAccountId?: string) {
    const made = await call(a, "POST", KEYS, DEV, {
      name,
      ...(serviceAccountId === undefined ? {} : { service_account_id: serviceAccountId }),
    });
    expect(made.status).toBe(201);
    return { id: made.body.id as string, key: made.body.api_key as string };
  }

  /** A person invited on A who set a password with the invite's link: their id and session token. */
  async function newPerson(email: string, role: string) {
    const invited = await call(a, "POST", "/v1/users", DEV, { type: "user", email, roles: [role] });
    expect(invited.status).toBe(201);
    const token = new URL(invited.body.set_password_url).searchParams.get("token");
    const set = await fetch(`${a.baseUrl}/v1/auth/set-password`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token, password: PASSWORD }),
    });
    expect(set.status).toBe(200);
    return { id: invited.body.id as string, session: session(((await set.json()) as { token: string }).token) };
  }

  /** Whether `credential` is accepted by `server` (200) or refused (401); anything else fails. */
  async function accepted(server: ServerProcess, credential: Credential): Promise<boolean> {
    const { status } = await call(server, "GET", "/v1/users/me", credential);
    expect([200, 401]).toContain(status);
    return status === 200;
  }

  /**
   * Whether `credential` may write events on `server`: the body is empty, so a credential with
   * the permission gets a 400 (checked after access, nothing stored), one without it a 403.
   */
  async function mayWrite(server: ServerProcess, credential: Credential): Promise<boolean> {
    const { status } = await call(server, "POST", "/v1/events", credential, {});
    expect([400, 403]).toContain(status);
    return status === 400;
  }

  test(
    "revoke, rotate (no grace), archive a service account, change a person's role, change a password: " +
      `${ALL_TRIALS} trials, each refused by the other instance within 1 s, the median within 100 ms`,
    async () => {
      // Made up front, so that the trials measure the changes alone.
      const revocable = await inParallel(TRIALS.revoke, 4, (i) => newKey(`revoke ${i}`));
      const rotatable = await inParallel(TRIALS.rotate, 4, (i) => newKey(`rotate ${i}`));
      const archivable = await inParallel(TRIALS.archive, 4, async (i) => {
        const account = await call(a, "POST", "/v1/users", DEV, {
          type: "service_account",
          name: `ingestor ${i}`,
          roles: ["event_ingestor"],
        });
        expect(account.status).toBe(201);
        return { id: account.body.id as string, key: (await newKey(`ingestor key ${i}`, account.body.id)).key };
      });
      // One person per change of password: a change ends every session of theirs.
      const changing = await inParallel(TRIALS.password, 2, (i) => newPerson(`changes${i}@example.com`, "all_writer"));
      const writer = await newPerson("writer@example.com", "all_writer");

      const latencies: Record<Kind, number[]> = { revoke: [], rotate: [], archive: [], role: [], password: [] };
      const fromSent: Record<Kind, number[]> = { revoke: [], rotate: [], archive: [], role: [], password: [] };
      const used: Record<Kind, number> = { revoke: 0, rotate: 0, archive: 0, role: 0, password: 0 };
      /**
       * One trial: `allowed` (asked of B) must hold, then `change` is made on A, then B is asked
       * as fast as it answers until `allowed` no longer holds, and AFTER_REFUSAL times more (once
       * refused, never allowed again). Measured from A's answer to B's first refusal; and from
       * the change's request sent, which also counts A's own work on it (the change committed
       * somewhere between the two).
       */
      const trial = async (kind: Kind, allowed: () => Promise<boolean>, change: () => Promise<unknown>) => {
        expect(await allowed()).toBe(true);
        const sentAt = performance.now();
        await change();
        const answeredAt = performance.now();
        while (await allowed()) expect(performance.now() - answeredAt).toBeLessThan(BOUND_MS);
        const refusedAt = performance.now();
        for (let n = 0; n < AFTER_REFUSAL; n++) expect(await allowed()).toBe(false);
        latencies[kind].push(refusedAt - answeredAt);
        fromSent[kind].push(refusedAt - sentAt);
      };
      // Each trial starts with B holding the credential in its cache (it was just accepted there).
      for (const kind of interleaved()) {
        const i = used[kind]++;
        if (kind === "revoke") {
          const { id, key } = revocable[i] as { id: string; key: string };
          await trial(
            kind,
            () => accepted(b, apiKey(key)),
            async () => expect((await call(a, "DELETE", `${KEYS}/${id}`, DEV)).status).toBe(204),
          );
        } else if (kind === "rotate") {
          const { id, key } = rotatable[i] as { id: string; key: string };
          let replacement = "";
          await trial(
            kind,
            () => accepted(b, apiKey(key)),
            async () => {
              const rotated = await call(a, "POST", `${KEYS}/${id}/rotate`, DEV, { grace_period_seconds: 0 });
              expect(rotated.status).toBe(201);
              replacement = rotated.body.api_key;
            },
          );
          expect(await accepted(b, apiKey(replacement))).toBe(true);
        } else if (kind === "archive") {
          const account = archivable[i] as { id: string; key: string };
          await trial(
            kind,
            () => accepted(b, apiKey(account.key)),
            async () => expect((await call(a, "DELETE", `/v1/users/${account.id}`, DEV)).status).toBe(204),
          );
        } else if (kind === "role") {
          // A service account's roles are fixed when it is made (PUT /v1/users/{id}/roles answers
          // 400): a role that changes is a person's, and their session carries it.
          const setRole = async (role: string) =>
            expect((await call(a, "PUT", `/v1/users/${writer.id}/roles`, DEV, { roles: [role] })).status).toBe(200);
          await trial(
            kind,
            () => mayWrite(b, writer.session),
            () => setRole("all_reader"),
          );
          // Back to all_writer for the next trial (a permission gained, not measured), seen by B in time too.
          await setRole("all_writer");
          const promotedAt = performance.now();
          while (!(await mayWrite(b, writer.session))) expect(performance.now() - promotedAt).toBeLessThan(BOUND_MS);
        } else {
          const person = changing[i] as { id: string; session: Credential };
          await trial(
            kind,
            () => accepted(b, person.session),
            async () => {
              const changed = await call(a, "POST", "/v1/auth/password", person.session, {
                current_password: PASSWORD,
                new_password: `${PASSWORD} ${i}`,
              });
              expect(changed.status).toBe(204);
            },
          );
        }
      }

      const all = Object.values(latencies).flat();
      expect(all).toHaveLength(ALL_TRIALS);
      for (const kind of Object.keys(latencies) as Kind[]) {
        console.log(
          `changed on A, first refused by B, ${kind}: ${summary(latencies[kind])}; ` +
            `from the change's request sent: ${summary(fromSent[kind])}`,
        );
      }
      console.log(
        `changed on A, first refused by B, all kinds: ${summary(all)}; ` +
          `from the change's request sent: ${summary(Object.values(fromSent).flat())}`,
      );
      expect(median(all)).toBeLessThanOrEqual(MEDIAN_MS);
      for (const samples of Object.values(latencies)) expect(median(samples)).toBeLessThanOrEqual(MEDIAN_MS);
    },
    60_000,
  );
});

/**
 * Every event id the store holds, as often as `POST /v1/events/query` lists it, read through
 * `server`; and the first page's `total_count`, the running count kept beside the events.
 */
async function listedEvents(server: ServerProcess): Promise<{ ids: string[]; total: number }> {
  const ids: string[] = [];
  let total: number | undefined;
  let cursor: string | undefined;
  for (;;) {
    const page = await call(server, "POST", "/v1/events/query", DEV, {
      page_size: 1000,
      order: "asc",
      ...(cursor ? { iter_last_key: cursor } : {}),
    });
    expect(page.status).toBe(200);
    total ??= page.body.total_count as number;
    for (const event of page.body.events as { id: string }[]) ids.push(event.id);
    if (!page.body.has_more || !page.body.iter_last_key) return { ids, total: total as number };
    cursor = page.body.iter_last_key;
  }
}

describe.if(!onSqlite)("two instances ingesting on one database (PostgreSQL)", () => {
  test("two instances' event writers on one database: a large batch among the other's stream of single events is stored, the count exact", async () => {
    // Each instance commits its batches through insertEventsInto on a pool of its own; every
    // batch moves its environment's one count row.
    const url = await newPostgresDatabase();
    const [large, small] = [new PostgresStore(url, { max: 2 }), new PostgresStore(url, { max: 2 })];
    try {
      const now = new Date().toISOString();
      await large.run("INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('t1', 'one', ?, ?)", now, now);
      await large.run(
        "INSERT INTO environments (id, tenant_id, name, type, created_at, updated_at) VALUES ('e1', 't1', 'dev', 'development', ?, ?)",
        now,
        now,
      );
      const scope = (await large.value<number>(
        "INSERT INTO event_scopes (tenant_id, environment_id) VALUES ('t1', 'e1') RETURNING key",
      )) as number;
      const row = (id: string): EventRow => ({
        scope,
        id,
        event_name: "api_call",
        external_customer_id: "cus_1",
        customer_id: null,
        timestamp: now,
        source: null,
        properties: "{}",
        ingested_at: now,
      });
      const failures: unknown[] = [];
      let stored = 0;
      let largeDone = false;
      const batches = (async () => {
        const insert = insertEventsInto(large);
        for (let batch = 0; batch < 20; batch++) {
          const rows = Array.from({ length: 500 }, (_, i) => row(`large-${batch}-${i}`));
          await insert(rows).then(
            (n) => (stored += n),
            (error) => failures.push(error),
          );
        }
        largeDone = true;
      })();
      const stream = (async () => {
        const insert = insertEventsInto(small);
        for (let i = 0; !largeDone; i++)
          await insert([row(`small-${i}`)]).then(
            (n) => (stored += n),
            (error) => failures.push(error),
          );
      })();
      await Promise.all([batches, stream]);
      expect(failures).toEqual([]);
      expect(Number(await large.value("SELECT count(*) FROM events"))).toBe(stored);
      expect(Number(await large.value("SELECT count FROM event_counts WHERE scope = ?", scope))).toBe(stored);
    } finally {
      await Promise.all([large.close(), small.close()]);
    }
  }, 30_000);

  test(
    "kill -9 of one mid-stream: every event acknowledged by either instance is stored exactly once, a " +
      "request cut off by the kill sent again to the other included, and no request fails",
    async () => {
      const dir = tempDir("ingest-");
      const [killed, survivor] = await Promise.all([startServer({ dir }), startServer({ dir })]);
      try {
        const acknowledged = new Set<string>();
        let afterKill = 0;
        let resent = 0;
        const unexpected: number[] = [];
        let phase: "before" | "after" | "done" = "before";
        // Four clients on each instance; on each, two send single events and two bulk requests of 10.
        const clients = Array.from({ length: 8 }, async (_, client) => {
          let target = client % 2 === 0 ? killed : survivor;
          for (let i = 0; phase !== "done"; i++) {
            const ids = client < 4 ? [`c${client}-${i}`] : Array.from({ length: 10 }, (_, k) => `c${client}-${i}-${k}`);
            const event = (event_id: string) => ({
              event_id,
              event_name: "api_call",
              external_customer_id: `cus_${client}`,
            });
            const body = ids.length === 1 ? event(ids[0] as string) : { events: ids.map(event) };
            const path = ids.length === 1 ? "/v1/events" : "/v1/events/bulk";
            for (;;) {
              try {
                const { status } = await call(target, "POST", path, DEV, body);
                if (status !== 202) unexpected.push(status);
                else {
                  for (const id of ids) acknowledged.add(id);
                  if (phase === "after") afterKill += ids.length;
                }
                break;
              } catch (error) {
                // Only the killed instance cuts a request off. Whether it committed is unknown to
                // the client, so it sends the same events to the other, as a balancer would.
                if (target !== killed || phase === "before") throw error;
                target = survivor;
                resent++;
              }
            }
          }
        });
        const waitFor = async (done: () => boolean, what: string) => {
          const deadline = Date.now() + 20_000;
          while (!done()) {
            if (Date.now() > deadline) throw new Error(`${what}: only ${acknowledged.size} events acknowledged`);
            await Bun.sleep(5);
          }
        };
        await waitFor(() => acknowledged.size >= 2_000, "before the kill");
        // Marked first: a client whose request fails from here on knows why.
        phase = "after";
        killed.proc.kill("SIGKILL");
        await killed.proc.exited;
        // The other goes on ingesting for a moment, the resent requests among the rest.
        await waitFor(() => afterKill >= 1_000, "after the kill");
        phase = "done";
        await Promise.all(clients);

        expect(unexpected).toEqual([]);
        // Every client on the killed instance lost it: each sent at least one request again.
        expect(resent).toBeGreaterThanOrEqual(4);
        const { ids: listed, total } = await listedEvents(survivor);
        const times = new Map<string, number>();
        for (const id of listed) times.set(id, (times.get(id) ?? 0) + 1);
        expect([...acknowledged].filter((id) => times.get(id) !== 1)).toEqual([]);
        expect(listed.filter((id) => times.get(id) !== 1)).toEqual([]);
        // The running count moved once per stored event, not per request received.
        expect(total).toBe(listed.length);
        console.log(
          `kill -9 while both ingest: ${acknowledged.size} events acknowledged (${afterKill} by the survivor after ` +
            `the kill, ${resent} requests sent again), ${listed.length} stored, none lost or twice`,
        );
      } finally {
        await Promise.all([killed.stop(), survivor.stop()]);
      }
    },
    60_000,
  );
});
