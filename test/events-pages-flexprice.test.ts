// Issue 10, event pages at the HTTP level: the fields the Flexprice API (and its SDK) sends to
// POST /v1/events/query and GET /v1/events (offset, sort, iter_first_key) are honoured, or
// refused with a 400 naming the field where obeying or ignoring them would give a wrong page;
// and the page and the event carry every field Flexprice documents (null where Tollgate has no
// value). SPEC.md §0 "Wire fidelity", §6.
import { describe, expect, test } from "bun:test";
import { MAX_OFFSET } from "../src/http/pagination";
import { StoreReaders } from "../src/reads/pool";
import { type CallResult, callApp, createHarness, errorOf, type Harness } from "./support/harness";
import { bulk, readerTollgate, refused, type Body } from "./support/events";

const ids = (res: CallResult): string[] => res.body.events.map((e: { id: string }) => e.id);
const query = (h: Harness, body: Body) => h.call("POST", "/v1/events/query", { body });
const list = (h: Harness, params: Record<string, string | number>) =>
  h.call(
    "GET",
    `/v1/events?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))}`,
  );

/** e0…e9 a minute apart (e0 oldest); e0–e3 named `alpha`, e4–e9 `beta`; even ones in eu. */
async function tenEvents() {
  const h = await createHarness();
  await bulk(
    h,
    Array.from({ length: 10 }, (_, i) => ({
      event_id: `e${i}`,
      event_name: i < 4 ? "alpha" : "beta",
      external_customer_id: "c",
      timestamp: `2025-06-01T10:0${i}:00Z`,
      properties: { region: i % 2 === 0 ? "eu" : "us" },
    })),
  );
  return h;
}

describe("GET /v1/events/{id}: Flexprice's debug_tracker and processed_events are present, null", () => {
  test("an event read back has both, null: Tollgate neither prices events nor meters them into features", async () => {
    const h = await createHarness();
    await bulk(h, [{ event_id: "one", event_name: "e", external_customer_id: "c" }]);
    const res = await h.call("GET", "/v1/events/one");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "processed", debug_tracker: null, processed_events: null });
    expect(Object.keys(res.body).sort()).toEqual(["debug_tracker", "event", "processed_events", "status"]);
  });
});

describe("event pages: offset", () => {
  test("offset skips rows from the start of the range; the response's offset is the next page's", async () => {
    const h = await tenEvents();
    const first = await query(h, { order: "asc", page_size: 4 });
    expect(ids(first)).toEqual(["e0", "e1", "e2", "e3"]);
    expect(first.body).toMatchObject({ offset: 4, has_more: true, total_count: 10 });
    const second = await query(h, { order: "asc", page_size: 4, offset: 4 });
    expect(ids(second)).toEqual(["e4", "e5", "e6", "e7"]);
    expect(second.body).toMatchObject({ offset: 8, has_more: true, total_count: 10 });
    const third = await list(h, { order: "asc", page_size: 4, offset: 8 });
    expect(ids(third)).toEqual(["e8", "e9"]);
    expect(third.body).toMatchObject({ offset: 10, has_more: false, total_count: 10 });
    const desc = await list(h, { page_size: 3, offset: 2 });
    expect(ids(desc)).toEqual(["e7", "e6", "e5"]);
    const past = await query(h, { offset: 50 });
    expect(past.body).toMatchObject({ events: [], offset: 50, has_more: false, iter_first_key: null });
    // offset 0 is no offset at all.
    expect(ids(await query(h, { order: "asc", page_size: 2, offset: 0 }))).toEqual(["e0", "e1"]);
  });

  test("offset is a whole number from 0 to 2^31-1, on both routes", async () => {
    const h = await tenEvents();
    for (const offset of [-1, 1.5, MAX_OFFSET + 1, "4"]) refused(await query(h, { offset }), "offset");
    for (const offset of ["-1", "abc", "1.5", String(MAX_OFFSET + 1), "99999999999"]) {
      refused(await h.call("GET", `/v1/events?offset=${offset}`), "offset");
    }
    expect((await query(h, { offset: MAX_OFFSET })).body).toMatchObject({ events: [], offset: MAX_OFFSET });
    expect((await list(h, { offset: MAX_OFFSET })).status).toBe(200);
  });

  test("with a cursor, offset may only be 0 or the offset returned beside that cursor", async () => {
    const h = await tenEvents();
    const first = await query(h, { order: "asc", page_size: 4 });
    const cursor = first.body.iter_last_key;
    // Sent back whole (cursor and offset of the same page): the next page.
    expect(ids(await query(h, { order: "asc", page_size: 4, iter_last_key: cursor, offset: 4 }))).toEqual([
      "e4",
      "e5",
      "e6",
      "e7",
    ]);
    expect(ids(await query(h, { order: "asc", page_size: 4, iter_last_key: cursor, offset: 0 }))).toEqual([
      "e4",
      "e5",
      "e6",
      "e7",
    ]);
    // Any other offset would have to move the cursor or be ignored: refused, on both routes.
    const moved = refused(await query(h, { order: "asc", page_size: 4, iter_last_key: cursor, offset: 2 }), "offset");
    expect(moved.message).toContain("cannot move a cursor");
    refused(await list(h, { order: "asc", page_size: 4, iter_last_key: cursor, offset: 8 }), "offset");
    refused(await query(h, { order: "asc", iter_first_key: cursor, offset: 3 }), "offset");
    // The offset of a page read in the other order does not describe this one.
    refused(await query(h, { order: "desc", page_size: 4, iter_last_key: cursor, offset: 4 }), "offset");
  });

  test("offsets follow keyset pages, both ways, and the other order", async () => {
    const h = await tenEvents();
    const first = await query(h, { order: "asc", page_size: 3 });
    const second = await query(h, { order: "asc", page_size: 3, iter_last_key: first.body.iter_last_key });
    expect(second.body.offset).toBe(6);
    const back = await query(h, { order: "asc", page_size: 3, iter_first_key: second.body.iter_first_key });
    expect(ids(back)).toEqual(["e0", "e1", "e2"]);
    expect(back.body.offset).toBe(3);
    // e5 is at offset 5 ascending, 4 descending: the page after it, descending, starts at offset 5.
    const flipped = await query(h, { order: "desc", page_size: 3, iter_last_key: second.body.iter_last_key });
    expect(ids(flipped)).toEqual(["e4", "e3", "e2"]);
    expect(flipped.body.offset).toBe(8);
  });

  test("a cursor from before offsets existed still pages; its page's offset is unknown (null)", async () => {
    const h = await tenEvents();
    const row = (await h.context.db.get("SELECT timestamp, seq FROM events WHERE id = 'e3'")) as {
      timestamp: string;
      seq: number;
    };
    const old = Buffer.from(JSON.stringify([row.timestamp, row.seq, 10])).toString("base64url");
    const next = await query(h, { order: "asc", page_size: 2, iter_last_key: old });
    expect(ids(next)).toEqual(["e4", "e5"]);
    expect(next.body).toMatchObject({ offset: null, total_count: 10, has_more: true });
    refused(await query(h, { order: "asc", iter_last_key: old, offset: 4 }), "offset");
    const onward = await query(h, { order: "asc", page_size: 2, iter_last_key: next.body.iter_last_key });
    expect(ids(onward)).toEqual(["e6", "e7"]);
  });
});

describe("event pages: iter_first_key, the page before", () => {
  test("ascending: the rows just before the cursor's row, in order; has_more if more lie before", async () => {
    const h = await tenEvents();
    const last = await query(h, { order: "asc", page_size: 3, offset: 7 });
    expect(ids(last)).toEqual(["e7", "e8", "e9"]);
    const before = await query(h, { order: "asc", page_size: 3, iter_first_key: last.body.iter_first_key });
    expect(ids(before)).toEqual(["e4", "e5", "e6"]);
    expect(before.body).toMatchObject({ has_more: true, offset: 7 });
    const viaGet = await list(h, { order: "asc", page_size: 3, iter_first_key: before.body.iter_first_key });
    expect(ids(viaGet)).toEqual(["e1", "e2", "e3"]);
    const start = await query(h, { order: "asc", page_size: 3, iter_first_key: viaGet.body.iter_first_key });
    expect(ids(start)).toEqual(["e0"]);
    expect(start.body).toMatchObject({ has_more: false, offset: 1 });
    const none = await query(h, { order: "asc", iter_first_key: start.body.iter_first_key });
    expect(none.body).toMatchObject({ events: [], has_more: false, iter_first_key: null, iter_last_key: null });
  });

  test("newest first (the default): the events newer than the cursor's, nearest first, so polls miss none", async () => {
    const h = await tenEvents();
    const top = await query(h, { page_size: 2 });
    expect(ids(top)).toEqual(["e9", "e8"]);
    await bulk(
      h,
      [1, 2, 3].map((i) => ({
        event_id: `new${i}`,
        event_name: "beta",
        external_customer_id: "c",
        timestamp: `2025-06-01T11:0${i}:00Z`,
      })),
    );
    const newer = await query(h, { page_size: 2, iter_first_key: top.body.iter_first_key });
    expect(ids(newer)).toEqual(["new2", "new1"]);
    expect(newer.body.has_more).toBe(true);
    const newest = await list(h, { page_size: 2, iter_first_key: newer.body.iter_first_key });
    expect(ids(newest)).toEqual(["new3"]);
    expect(newest.body.has_more).toBe(false);
    // And forward again from the newer page: back where the first page was.
    expect(ids(await query(h, { page_size: 2, iter_last_key: newer.body.iter_last_key }))).toEqual(["e9", "e8"]);
  });

  test("walking back from the end visits every row once, with rows arriving between pages", async () => {
    const h = await createHarness();
    const originals = Array.from({ length: 60 }, (_, i) => ({
      event_id: `o${i}`,
      event_name: "walk",
      external_customer_id: "c",
      timestamp: new Date(Date.parse("2025-01-01T00:00:00Z") + Math.floor(i / 3) * 1000).toISOString(),
    }));
    await bulk(h, originals);
    let page = await query(h, { order: "asc", page_size: 7, offset: 53 });
    const seen = [...ids(page)];
    for (let n = 0; page.body.has_more || n === 0; n++) {
      await bulk(h, [
        { event_name: "walk", external_customer_id: "c", timestamp: "2024-01-01T00:00:00Z" },
        { event_name: "walk", external_customer_id: "c", timestamp: "2026-01-01T00:00:00Z" },
        { event_name: "walk", external_customer_id: "c", timestamp: originals[n * 3]?.timestamp },
      ]);
      page = await query(h, {
        event_name: "walk",
        order: "asc",
        page_size: 7,
        iter_first_key: page.body.iter_first_key,
      });
      expect(page.status).toBe(200);
      seen.unshift(...ids(page));
      if (n > 30) throw new Error("did not finish");
    }
    const originalIds = originals.map((e) => e.event_id);
    expect(seen.filter((id) => originalIds.includes(id))).toEqual(originalIds);
    expect(new Set(seen).size).toBe(seen.length);
  });

  test("a bad iter_first_key, or both cursors at once, is a 400 naming iter_first_key", async () => {
    const h = await tenEvents();
    const page = await query(h, { page_size: 2 });
    for (const key of ["garbage", Buffer.from("[1,2]").toString("base64url")]) {
      const error = refused(await query(h, { iter_first_key: key }), "iter_first_key");
      expect(error.message).toBe("iter_first_key is not a cursor this API returned");
      refused(await list(h, { iter_first_key: key }), "iter_first_key");
    }
    const both = refused(
      await query(h, { iter_first_key: page.body.iter_first_key, iter_last_key: page.body.iter_last_key }),
      "iter_first_key",
    );
    expect(both.message).toContain("send one cursor");
  });
});

describe("event pages: sort", () => {
  test("sort=event_name orders by name, then time; keyset pages keep to it both ways", async () => {
    const h = await tenEvents();
    const asc = await query(h, { sort: "event_name", order: "asc", page_size: 5 });
    expect(ids(asc)).toEqual(["e0", "e1", "e2", "e3", "e4"]);
    const next = await query(h, {
      sort: "event_name",
      order: "asc",
      page_size: 5,
      iter_last_key: asc.body.iter_last_key,
    });
    expect(ids(next)).toEqual(["e5", "e6", "e7", "e8", "e9"]);
    const back = await query(h, {
      sort: "event_name",
      order: "asc",
      page_size: 3,
      iter_first_key: next.body.iter_first_key,
    });
    expect(ids(back)).toEqual(["e2", "e3", "e4"]);
    const desc = await list(h, { sort: "event_name", page_size: 5 });
    expect(ids(desc)).toEqual(["e9", "e8", "e7", "e6", "e5"]);
    const descNext = await list(h, { sort: "event_name", page_size: 5, iter_last_key: desc.body.iter_last_key });
    expect(ids(descNext)).toEqual(["e4", "e3", "e2", "e1", "e0"]);
    expect(ids(await query(h, { sort: "timestamp", order: "asc", page_size: 2 }))).toEqual(["e0", "e1"]);
  });

  test("a name-sorted page's name may be 255 characters: its cursor still fits the request", async () => {
    const h = await createHarness();
    const name = "ü".repeat(255);
    await bulk(
      h,
      [1, 2].map((i) => ({ event_id: `n${i}`, event_name: name, external_customer_id: "c" })),
    );
    const first = await query(h, { sort: "event_name", page_size: 1 });
    const second = await query(h, { sort: "event_name", page_size: 1, iter_last_key: first.body.iter_last_key });
    expect(second.status).toBe(200);
    expect(ids(second)).toHaveLength(1);
    expect(ids(second)).not.toEqual(ids(first));
  });

  test("any other sort is a 400 naming sort; a cursor of one sort cannot page the other", async () => {
    const h = await tenEvents();
    refused(await query(h, { sort: "customer" }), "sort");
    refused(await list(h, { sort: "TIMESTAMP" }), "sort");
    const byTime = await query(h, { page_size: 2 });
    const byName = await query(h, { sort: "event_name", page_size: 2 });
    const error = refused(
      await query(h, { sort: "event_name", iter_last_key: byTime.body.iter_last_key }),
      "iter_last_key",
    );
    expect(error.message).toContain("sorted by timestamp");
    refused(await query(h, { iter_first_key: byName.body.iter_first_key }), "iter_first_key");
  });
});

describe("the new page reads keep the hardening: reader threads, the read budget", () => {
  test("offset, sort and iter_first_key run on a reader thread, and their errors come back from it", async () => {
    const { store, errors, tollgate } = await readerTollgate("flexprice-pages");
    const call = (body: unknown) => callApp(tollgate.app, "POST", "/v1/events/query", { body });
    try {
      const events = Array.from({ length: 6 }, (_, i) => ({
        event_id: `t${i}`,
        event_name: i < 3 ? "a" : "b",
        external_customer_id: "c",
        timestamp: `2025-01-0${i + 1}T00:00:00Z`,
      }));
      expect((await callApp(tollgate.app, "POST", "/v1/events/bulk", { body: { events } })).status).toBe(202);
      const compiledOnMain = store.cachedStatementCount;
      const page = await call({ sort: "event_name", order: "asc", page_size: 2, offset: 2 });
      expect(page.body.events.map((e: { id: string }) => e.id)).toEqual(["t2", "t3"]);
      const before = await call({ sort: "event_name", order: "asc", iter_first_key: page.body.iter_first_key });
      expect(before.body.events.map((e: { id: string }) => e.id)).toEqual(["t0", "t1"]);
      const refusedOnThread = await call({ iter_first_key: "nope" });
      expect(errorOf(refusedOnThread)).toEqual({
        message: "iter_first_key is not a cursor this API returned",
        internal_error: "validation_error",
        details: { iter_first_key: "is not a valid cursor" },
      });
      // The pages ran on a reader thread: the main connection compiled no statement for them.
      expect(store.cachedStatementCount).toBe(compiledOnMain);
      expect(errors).toEqual([]);
    } finally {
      await tollgate.close();
    }
  });

  test("each new kind of page stops at the read budget", async () => {
    const h = await createHarness();
    const HOUR_AGO = new Date(Date.now() - 3_600_000).toISOString();
    await bulk(
      h,
      Array.from({ length: 5000 }, (_, i) => ({
        event_id: `${i}`,
        event_name: "api",
        external_customer_id: "c",
        timestamp: HOUR_AGO,
        properties: { g: String(i % 3) },
      })),
    );
    const page = await query(h, { page_size: 2 });
    h.context.reads = new StoreReaders(h.context.db, h.context.logger, null, -1);
    // A filter nothing matches, so each query scans every event.
    const none = { property_filters: { g: ["none"] } };
    const answers = [
      await query(h, { offset: 4000, page_size: 2, order: "asc" }),
      await query(h, { ...none, sort: "event_name", page_size: 2 }),
      await query(h, { ...none, iter_first_key: page.body.iter_last_key, event_name: "api" }),
    ];
    for (const res of answers) {
      expect({ status: res.status, text: res.text }).toMatchObject({ status: 400 });
      expect(errorOf(res)).toMatchObject({ internal_error: "invalid_operation", details: { budget_ms: -1 } });
    }
  });
});

describe("/swagger/json describes the new page fields", () => {
  test("the query request's offset, sort and iter_first_key, the page's offset, the event's debug_tracker and processed_events", async () => {
    const h = await createHarness();
    const doc = (await h.call("GET", "/swagger/json", { key: null })).body;
    const query = doc.paths["/v1/events/query"].post;
    const body = query.requestBody.content["application/json"].schema;
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(["offset", "sort", "iter_first_key"]));
    expect(body.properties.sort.anyOf.map((s: { const: string }) => s.const)).toEqual(["timestamp", "event_name"]);
    expect(query.responses["200"].content["application/json"].schema.required).toContain("offset");
    const list = doc.paths["/v1/events"].get.parameters.map((p: { name: string }) => p.name);
    expect(list).toEqual(expect.arrayContaining(["offset", "sort", "iter_first_key"]));
    const detail = doc.paths["/v1/events/{id}"].get.responses["200"].content["application/json"].schema;
    expect(detail.required).toEqual(expect.arrayContaining(["debug_tracker", "processed_events"]));
  });
});
