// SPEC.md §15 and issue 28: every credential change made through one instance is obeyed by the
// other instance on the same PostgreSQL database within milliseconds (migration 017's
// notifications, auth/change-watch.ts), and events acknowledged by either instance survive
// `kill -9` of one of them mid-stream, each stored once. test/multi-instance.test.ts has the
// revoke measured both ways, the killed listening connection, sign-out and the shared sign-in lock.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DEV_KEY } from "./support/harness";
import { type ServerProcess, startServer } from "./support/process";
import { tempDir } from "./support/temp";
import { onSqlite } from "./support/test-store";

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
 * hashes (a quarter of a second each here), where the others cost a few milliseconds.
 */
const TRIALS = { revoke: 50, rotate: 45, archive: 45, role: 40, password: 20 } as const;
type Kind = keyof typeof TRIALS;

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
  while (order.length < 200) {
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

  /**
   * Asks B as fast as it answers, from A's answer to the change, until `stillAllowed` is false:
   * the milliseconds that took. Then asks AFTER_REFUSAL more times: once refused, never again allowed.
   */
  async function firstRefusal(stillAllowed: () => Promise<boolean>, changedAt: number): Promise<number> {
    while (await stillAllowed()) expect(performance.now() - changedAt).toBeLessThan(BOUND_MS);
    const latency = performance.now() - changedAt;
    for (let i = 0; i < AFTER_REFUSAL; i++) expect(await stillAllowed()).toBe(false);
    return latency;
  }

  test(
    "revoke, rotate (no grace), archive a service account, change a person's role, change a password: " +
      "200 trials, each refused by the other instance within 1 s, the median within 100 ms",
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
      const used: Record<Kind, number> = { revoke: 0, rotate: 0, archive: 0, role: 0, password: 0 };
      for (const kind of interleaved()) {
        const i = used[kind]++;
        if (kind === "revoke") {
          const { id, key } = revocable[i] as { id: string; key: string };
          // B holds it in its cache.
          expect(await accepted(b, apiKey(key))).toBe(true);
          expect((await call(a, "DELETE", `${KEYS}/${id}`, DEV)).status).toBe(204);
          latencies.revoke.push(await firstRefusal(() => accepted(b, apiKey(key)), performance.now()));
        } else if (kind === "rotate") {
          const { id, key } = rotatable[i] as { id: string; key: string };
          expect(await accepted(b, apiKey(key))).toBe(true);
          const rotated = await call(a, "POST", `${KEYS}/${id}/rotate`, DEV, { grace_period_seconds: 0 });
          expect(rotated.status).toBe(201);
          latencies.rotate.push(await firstRefusal(() => accepted(b, apiKey(key)), performance.now()));
          expect(await accepted(b, apiKey(rotated.body.api_key))).toBe(true);
        } else if (kind === "archive") {
          const account = archivable[i] as { id: string; key: string };
          expect(await accepted(b, apiKey(account.key))).toBe(true);
          expect((await call(a, "DELETE", `/v1/users/${account.id}`, DEV)).status).toBe(204);
          latencies.archive.push(await firstRefusal(() => accepted(b, apiKey(account.key)), performance.now()));
        } else if (kind === "role") {
          // B has the session with all_writer in its cache.
          expect(await mayWrite(b, writer.session)).toBe(true);
          const demoted = await call(a, "PUT", `/v1/users/${writer.id}/roles`, DEV, { roles: ["all_reader"] });
          expect(demoted.status).toBe(200);
          latencies.role.push(await firstRefusal(() => mayWrite(b, writer.session), performance.now()));
          // Back to all_writer for the next trial (a permission gained, not measured), seen by B in time too.
          expect((await call(a, "PUT", `/v1/users/${writer.id}/roles`, DEV, { roles: ["all_writer"] })).status).toBe(
            200,
          );
          const promotedAt = performance.now();
          while (!(await mayWrite(b, writer.session))) expect(performance.now() - promotedAt).toBeLessThan(BOUND_MS);
        } else {
          const person = changing[i] as { id: string; session: Credential };
          expect(await accepted(b, person.session)).toBe(true);
          const changed = await call(a, "POST", "/v1/auth/password", person.session, {
            current_password: PASSWORD,
            new_password: `${PASSWORD} ${i}`,
          });
          expect(changed.status).toBe(204);
          latencies.password.push(await firstRefusal(() => accepted(b, person.session), performance.now()));
        }
      }

      const all = Object.values(latencies).flat();
      expect(all).toHaveLength(200);
      for (const kind of Object.keys(latencies) as Kind[]) {
        console.log(`changed on A, first refused by B, ${kind}: ${summary(latencies[kind])}`);
      }
      console.log(`changed on A, first refused by B, all kinds: ${summary(all)}`);
      const median = (samples: number[]) =>
        percentile(
          [...samples].sort((x, y) => x - y),
          50,
        );
      expect(median(all)).toBeLessThanOrEqual(MEDIAN_MS);
      for (const kind of Object.keys(latencies) as Kind[])
        expect(median(latencies[kind])).toBeLessThanOrEqual(MEDIAN_MS);
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

describe.if(!onSqlite)("kill -9 of one instance while both ingest (PostgreSQL)", () => {
  test(
    "every event acknowledged by either instance is stored exactly once, a request cut off by the kill " +
      "sent again to the other included",
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
