// Issue 27: POST /v1/events/usage answers the same on PostgreSQL as on SQLite, to the last bit:
// the same events in two Tollgates, one per engine, and every aggregation × window (MONTH with
// billing anchors on the 15th and the 31st) × group_by × time zone asked of both; then the edges
// the SQLite tests pin down (numbers as text, "1e999", booleans, missing properties, values past
// the range of a double, the years 0000 and 9999). SPEC.md §15.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTollgate, type Tollgate } from "../src/app";
import { type Config, DEFAULT_CONFIG } from "../src/config";
import { MEMORY_DATABASE, openDatabase, PostgresStore, SqliteStore } from "../src/db";
import { createLogger } from "../src/http/logging";
import { WINDOWS } from "../src/modules/events/model";
import { callApp } from "./support/harness";
import { type Cluster, createDatabase, startCluster } from "./support/postgres";

type Body = Record<string, unknown>;
type Event = { event_id: string; event_name: string; timestamp: string; source?: string; properties?: Body };

const AGGREGATIONS = ["COUNT", "SUM", "SUM_WITH_MULTIPLIER", "AVG", "MAX", "COUNT_UNIQUE", "WEIGHTED_SUM", "LATEST"];
const GROUPINGS: Body[] = [{}, { group_by: ["source"] }, { group_by: ["properties.g", "properties.h"] }];
const ZONES = [undefined, "Europe/Paris", "Asia/Kolkata"];
/** The range of most questions: two months and more, across Paris's change to summer time (30 March 2025, 01:00Z). */
const RANGE = { start_time: "2025-02-20T00:00:00Z", end_time: "2025-05-05T00:00:00Z" };
/** MINUTE windows: 6 days, within the window cap, across the change too. */
const MINUTE_RANGE = { start_time: "2025-03-28T00:00:00Z", end_time: "2025-04-03T00:00:00Z" };

/** Values of `n`: numbers, numbers as text, and what is not a number. */
const VALUES: unknown[] = [
  "42",
  " 7 ",
  "\t8\n",
  "1e1",
  1,
  "-0.5",
  0.1,
  0.2,
  "0.3",
  1.1,
  "2.2",
  "1.5e3",
  "-0",
  "12345678901234567890123",
  "0.1000000000000000055511151231257827",
  "1e-310",
  "1e-400",
  "lots",
  "0x10",
  ".5",
  "1e999",
  "-1e999",
  "",
  true,
  false,
  "[1]",
  { nested: 1 },
  null,
];
const GROUP_VALUES: unknown[] = ["a", "b", 1, "1", true, { o: 1 }, '{"o":1}', null, 2.5];

/** A generator of the same numbers every run. */
function seeded(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function usageEvents(): Event[] {
  const random = seeded(27);
  const from = Date.parse("2025-02-25T00:00:00Z");
  const to = Date.parse("2025-05-04T00:00:00Z");
  // Instants that windows turn on: the change to summer time in Paris, month ends, the anchors.
  const fixed = [
    "2025-03-30T00:59:59.999Z",
    "2025-03-30T01:00:00.000Z",
    "2025-03-29T23:30:00.000Z",
    "2025-03-31T21:59:59.999Z",
    "2025-03-31T22:00:00.000Z",
    "2025-03-14T18:29:59.999Z",
    "2025-03-14T18:30:00.000Z",
    "2025-03-15T00:00:00.000Z",
    "2025-02-28T23:59:59.999Z",
    "2025-04-30T23:59:59.999Z",
    "2025-03-31T23:59:59.999Z",
    "2025-03-09T23:47:59.999Z",
    "2025-03-10T00:00:00.000Z",
  ];
  const events: Event[] = [];
  for (let i = 0; i < 400; i++) {
    const timestamp =
      i < fixed.length ? (fixed[i] as string) : new Date(from + Math.floor(random() * (to - from))).toISOString();
    const properties: Body = {};
    // Mostly numbers with every kind of fraction, so sums round; then the edge values.
    const pick = random();
    if (pick < 0.5) properties.n = Math.round(random() * 1e6) / 10 ** Math.floor(random() * 7);
    else if (pick < 0.65) properties.n = String(random() * 1000);
    else if (pick < 0.95) properties.n = VALUES[Math.floor(random() * VALUES.length)];
    if (random() < 0.9) properties.g = GROUP_VALUES[Math.floor(random() * GROUP_VALUES.length)];
    if (random() < 0.8) properties.h = ["x", "y", 3][Math.floor(random() * 3)];
    const source = ["s1", "s2", undefined][Math.floor(random() * 3)];
    events.push({ event_id: `u${i}`, event_name: "usage", timestamp, ...(source ? { source } : {}), properties });
  }
  return events;
}

/** Values near the largest double (as in events-usage-limits.test.ts), at the same hour. */
function hugeEvents(): Event[] {
  const rows: [string, string][] = [
    ["1e308", "a"],
    ["1e308", "a"],
    ["-1e308", "b"],
    ["-1e308", "b"],
    ["1e308", "c"],
    ["5", "d"],
    [String(Number.MAX_VALUE), "e"],
    ["1e-320", "d"],
  ];
  return rows.map(([n, g], i) => ({
    event_id: `h${i}`,
    event_name: "huge",
    timestamp: `2025-06-01T10:00:0${i}Z`,
    properties: { n, g },
  }));
}

/** At the ends of the years 0000–9999 (as in events-usage-limits.test.ts). */
function edgeEvents(): Event[] {
  return [
    "0000-01-01T00:00:00.000Z",
    "0000-01-01T23:59:59.999Z",
    "0000-01-02T12:00:00.000Z",
    "0000-01-03T00:00:00.000Z",
    "0000-01-20T00:00:00.000Z",
    "0000-02-29T12:00:00.000Z",
    "9999-11-30T12:00:00.000Z",
    "9999-11-30T23:59:59.999Z",
    "9999-12-01T00:00:00.000Z",
    "9999-12-15T00:00:00.000Z",
    "9999-12-31T06:00:00.000Z",
    "9999-12-31T23:59:59.998Z",
  ].map((timestamp, i) => ({ event_id: `e${i}`, event_name: "edge", timestamp, properties: { n: String(i + 0.1) } }));
}

/**
 * The suite's PostgreSQL run (TOLLGATE_TEST_STORE=postgres) would ask the same questions again:
 * this file compares the two engines itself, on a cluster of its own, so it runs once.
 */
const comparedInTheSqliteRun = process.env.TOLLGATE_TEST_STORE === "postgres";

let cluster: Cluster;
let sqlite: Tollgate;
let postgres: Tollgate;

async function tollgateOn(store: SqliteStore | PostgresStore, url: string): Promise<Tollgate> {
  const config = structuredClone(DEFAULT_CONFIG) as Config;
  config.database.url = url;
  if (url !== "") config.customer_portal.signing_key = "usage-engines-test-signing-key-0123456789";
  return createTollgate({ config, store, logger: createLogger("error", { sink: () => {} }) });
}

beforeAll(async () => {
  if (comparedInTheSqliteRun) return;
  cluster = startCluster();
  const url = await createDatabase(cluster.adminUrl, "usage_engines");
  sqlite = await tollgateOn(new SqliteStore(openDatabase(MEMORY_DATABASE)), "");
  postgres = await tollgateOn(new PostgresStore(url), url);
  const events = [...usageEvents(), ...hugeEvents(), ...edgeEvents()].map((e) => ({
    external_customer_id: "c1",
    ...e,
  }));
  for (const tollgate of [sqlite, postgres]) {
    for (let i = 0; i < events.length; i += 1000) {
      const res = await callApp(tollgate.app, "POST", "/v1/events/bulk", {
        body: { events: events.slice(i, i + 1000) },
      });
      expect({ status: res.status, text: res.text }).toMatchObject({ status: 202 });
    }
  }
});

afterAll(async () => {
  await sqlite?.close();
  await postgres?.close();
  cluster?.stop();
});

type Reply = { status: number; body: any };

async function askFor(tollgate: Tollgate, body: Body): Promise<Reply> {
  const res = await callApp(tollgate.app, "POST", "/v1/events/usage", { body });
  return { status: res.status, body: res.body };
}

/**
 * Asks every question of both engines; expects the same replies, with the question in the
 * failure message; answers SQLite's. SQLite's read budget runs on this thread's clock, so its
 * questions are asked one at a time; PostgreSQL's a few at a time (its budget is its own).
 */
async function expectAllSame(bodies: Body[]) {
  const expected: Reply[] = [];
  for (const body of bodies) expected.push(await askFor(sqlite, body));
  const actual: Reply[] = [];
  for (let i = 0; i < bodies.length; i += 4) {
    actual.push(...(await Promise.all(bodies.slice(i, i + 4).map((body) => askFor(postgres, body)))));
  }
  bodies.forEach((body, i) => expect({ body, reply: actual[i] }).toEqual({ body, reply: expected[i] }));
  return expected;
}

/** The same reply from both engines to one question. */
const expectSame = async (body: Body) => (await expectAllSame([body]))[0] as Reply;

/** MONTH three ways: calendar months, anchored on the 15th at 06:30, on the 31st (the last day of shorter months). */
const windowings = (): Body[] => [
  {},
  ...WINDOWS.filter((w) => w !== "MONTH").map((window_size) => ({ window_size })),
  { window_size: "MONTH" },
  { window_size: "MONTH", billing_anchor: "2024-01-15T06:30:00Z" },
  { window_size: "MONTH", billing_anchor: "2024-12-31T13:00:00+01:00" },
];

describe.skipIf(comparedInTheSqliteRun)(
  "every aggregation × window × group_by × time zone: the same answer on both engines",
  () => {
    for (const aggregation_type of AGGREGATIONS) {
      test(aggregation_type, async () => {
        const bodies: Body[] = [];
        for (const windowing of windowings()) {
          for (const grouping of GROUPINGS) {
            for (const timezone of ZONES) {
              bodies.push({
                event_name: "usage",
                aggregation_type,
                ...(aggregation_type === "COUNT" ? {} : { property_name: "n" }),
                ...(aggregation_type === "SUM_WITH_MULTIPLIER" ? { multiplier: "0.3" } : {}),
                ...(windowing.window_size === "MINUTE" ? MINUTE_RANGE : RANGE),
                ...windowing,
                ...grouping,
                ...(timezone ? { timezone } : {}),
              });
            }
          }
        }
        const replies = await expectAllSame(bodies);
        // Every question was answered: the comparison was of values, not of two errors.
        expect(replies.map((r) => r.status)).toEqual(bodies.map(() => 200));
      });
    }

    test("bucket_size, group_by_property, COUNT_UNIQUE and MAX of the group keys, filters", async () => {
      const bodies: Body[] = [];
      for (const aggregation_type of ["SUM", "MAX"]) {
        for (const bucket_size of ["HOUR", "DAY", "WEEK", "MONTH"]) {
          for (const grouping of [{}, { group_by_property: "g" }]) {
            bodies.push({ aggregation_type, property_name: "n", bucket_size, ...grouping });
          }
        }
      }
      for (const property_name of ["g", "h", "missing"]) {
        for (const aggregation_type of ["COUNT_UNIQUE", "MAX", "SUM", "LATEST", "AVG"]) {
          bodies.push({ aggregation_type, property_name, window_size: "WEEK", group_by: ["source"] });
        }
      }
      for (const filters of [
        { h: ["x"] },
        { h: ["x", "y"], g: ["a"] },
        { g: ["1"] },
        { h: [3] },
        { g: [2.5] },
        { missing: ["x"] },
      ]) {
        bodies.push({ aggregation_type: "SUM", property_name: "n", window_size: "DAY", filters });
      }
      await expectAllSame(bodies.map((body) => ({ event_name: "usage", ...RANGE, ...body })));
    });
  },
);

describe.skipIf(comparedInTheSqliteRun)("the edges", () => {
  test("values past the range of a double: the same scaled answer, or the same 400", async () => {
    const day = { start_time: "2025-06-01T00:00:00Z", end_time: "2025-06-02T00:00:00Z" };
    const statuses = new Set<number>();
    for (const aggregation_type of AGGREGATIONS.filter((a) => a !== "COUNT")) {
      for (const extra of [
        {},
        { window_size: "HOUR" },
        { group_by_property: "g" },
        { group_by_property: "g", window_size: "DAY" },
        { group_by: ["properties.g", "source"] },
        ...(aggregation_type === "SUM" || aggregation_type === "MAX" ? [{ bucket_size: "HOUR" }] : []),
        ...(aggregation_type === "SUM_WITH_MULTIPLIER" ? [{ multiplier: "0.25" }, { multiplier: "1e308" }] : []),
      ]) {
        const reply = await expectSame({ event_name: "huge", aggregation_type, property_name: "n", ...day, ...extra });
        statuses.add(reply.status);
      }
    }
    // Both kinds of answer were compared: values brought back into range, and values past it.
    expect([...statuses].sort()).toEqual([200, 400]);
    // The running sum passes the range both ways and ends inside it (events-usage-limits.test.ts).
    const grouped = await expectSame({
      event_name: "huge",
      aggregation_type: "SUM",
      property_name: "n",
      group_by_property: "g",
      ...day,
      start_time: "2025-06-01T10:00:00Z",
      end_time: "2025-06-01T10:00:06Z",
    });
    expect(grouped.body.value).toBe(1e308 + 5);
  });

  test("the first and last days of the years 0000–9999, every window, every kind of anchor", async () => {
    const ranges = (days: number) => [
      {
        start_time: "0000-01-01T00:00:00.000Z",
        end_time: new Date(Date.parse("0000-01-01T00:00:00Z") + days * 86_400_000).toISOString(),
      },
      {
        start_time: new Date(Date.parse("9999-12-31T23:59:59.999Z") - days * 86_400_000).toISOString(),
        end_time: "9999-12-31T23:59:59.999Z",
      },
    ];
    const anchors = [
      undefined,
      ...[1, 10, 28, 29, 30, 31].map((day) => `2024-01-${String(day).padStart(2, "0")}T12:00:00Z`),
    ];
    for (const window_size of WINDOWS) {
      for (const range of ranges(window_size === "MINUTE" ? 6 : 60)) {
        for (const billing_anchor of window_size === "MONTH" ? anchors : [undefined]) {
          for (const aggregation_type of ["COUNT", "SUM", "WEIGHTED_SUM", "LATEST"]) {
            const reply = await expectSame({
              event_name: "edge",
              aggregation_type,
              property_name: "n",
              window_size,
              ...range,
              ...(billing_anchor ? { billing_anchor } : {}),
            });
            expect(reply.status).toBe(200);
          }
        }
      }
    }
  });
});
