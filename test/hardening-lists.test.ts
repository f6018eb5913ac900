// Issue 23, item 4: a list is index-backed and bounded the way event queries are. A filtered
// audit-log query over 400,000 rows held /health for 0.5–0.9 s: the filter had no index, and
// the count ran on the request thread with no time budget. Lists now run on the reader threads
// under the read budget, and every audit-log filter has an index.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createTollgate } from "../src/app";
import { DEFAULT_CONFIG, DEFAULT_TENANT_ID } from "../src/config";
import { type PageQuery, openDatabase, SqliteStore } from "../src/db";
import { createLogger } from "../src/http/logging";
import { StoreReaders } from "../src/reads/pool";
import { createHarness, DEV_KEY, errorOf, type Harness, sqliteOf } from "./support/harness";
import { startServer } from "./support/process";
import { tempDir } from "./support/temp";

/** Every list of the API, each with the filters a client can send. */
const LISTS: [string, string, unknown?][] = [
  ["GET", "/v1/audit-logs"],
  ["GET", "/v1/audit-logs?action=secret.created"],
  ["GET", "/v1/users/me", undefined], // not a list: must stay 200 (a control)
  [
    "POST",
    "/v1/users/search",
    { filters: [{ field: "name", operator: "contains", data_type: "string", value: { string: "9" } }] },
  ],
  ["GET", "/v1/customers?email=a@example.com"],
  [
    "POST",
    "/v1/customers/search",
    { filters: [{ field: "name", operator: "contains", data_type: "string", value: { string: "9" } }] },
  ],
  ["GET", "/v1/secrets/api/keys"],
  ["GET", "/v1/webhooks/events?type=invoice.paid"],
  ["GET", "/v1/environments"],
];

/** `n` rows of each list's table in the default tenant's default environment, made by SQL. */
async function seedEveryList(h: Harness, n: number): Promise<void> {
  const env = await h.context.db.value(
    "SELECT id FROM environments WHERE tenant_id = ? AND is_default = 1",
    DEFAULT_TENANT_ID,
  );
  const sqlite = sqliteOf(h);
  const series = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n})`;
  const at = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d seconds', i))";
  sqlite.exec(`${series} INSERT INTO audit_logs (id, tenant_id, environment_id, action, resource_type, resource_id, actor_type,
    changes, created_at) SELECT printf('aud_%08d', i), '${DEFAULT_TENANT_ID}', '${env}', 'secret.created', 'secret',
    printf('sec_%d', i), 'system', '{"before":null,"after":null}', ${at} FROM n`);
  sqlite.exec(`${series} INSERT INTO users (id, tenant_id, type, name, roles, status, created_at, updated_at)
    SELECT printf('usr_%08d', i), '${DEFAULT_TENANT_ID}', 'service_account', printf('worker %d', i), '["event_reader"]',
    'published', ${at}, ${at} FROM n`);
  sqlite.exec(`${series} INSERT INTO customers (id, tenant_id, environment_id, external_id, name, email, metadata, status,
    created_at, updated_at) SELECT printf('cust_%08d', i), '${DEFAULT_TENANT_ID}', '${env}', printf('ext_%d', i),
    printf('Customer %d', i), 'a@example.com', '{}', 'published', ${at}, ${at} FROM n`);
  sqlite.exec(`${series} INSERT INTO webhook_events (id, tenant_id, environment_id, provider, provider_event_id, event_type,
    payload, signed_at, received_at) SELECT printf('whe_%08d', i), '${DEFAULT_TENANT_ID}', '${env}', 'stripe',
    printf('evt_%d', i), 'invoice.paid', '{}', ${at}, ${at} FROM n`);
  sqlite.exec(`${series} INSERT INTO secrets (id, tenant_id, environment_id, user_id, name, type, key_hash, display_id,
    roles, status, created_at, updated_at) SELECT printf('sec_%08d', i), '${DEFAULT_TENANT_ID}', '${env}', 'usr_00000001',
    printf('key %d', i), 'private_key', printf('%064d', i), 'sk_test_0000***0000', '["event_reader"]', 'published',
    ${at}, ${at} FROM n`);
  sqlite.exec(`${series} INSERT INTO environments (id, tenant_id, name, type, is_default, created_at, updated_at)
    SELECT printf('env_%08d', i), '${DEFAULT_TENANT_ID}', printf('Env %d', i), 'development', 0, ${at}, ${at} FROM n`);
}

describe("every list runs under the read budget", () => {
  test("with no time at all, each list over 5,000 rows answers 400 naming the budget; a read that is not a list is untouched", async () => {
    const h = await createHarness();
    await seedEveryList(h, 5000);
    h.context.reads = new StoreReaders(h.context.db, h.context.logger, null, -1);
    for (const [method, path, body] of LISTS) {
      const res = await h.call(method, path, body === undefined ? {} : { body });
      if (path === "/v1/users/me") {
        expect(res.status).toBe(200);
        continue;
      }
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(errorOf(res)).toEqual({
        message:
          "This list reads more rows than can be answered within -1 ms; narrow it with its filters (a time range, an exact field) or a smaller offset",
        internal_error: "invalid_operation",
        details: { budget_ms: -1 },
      });
    }
  });

  test("within the budget, the same lists answer as before", async () => {
    const h = await createHarness();
    await seedEveryList(h, 5000);
    for (const [method, path, body] of LISTS) {
      const res = await h.call(method, path, body === undefined ? {} : { body });
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
  });
});

/** The page queries a request sent to the readers, captured on their way. */
function capturePages(h: Harness): PageQuery[] {
  const seen: PageQuery[] = [];
  const page = h.context.reads.page.bind(h.context.reads);
  h.context.reads.page = (tenantId, q) => {
    seen.push(q);
    return page(tenantId, q);
  };
  return seen;
}

function planOf(h: Harness, q: PageQuery): string {
  const rows = sqliteOf(h)
    .prepare(`EXPLAIN QUERY PLAN SELECT count(*) FROM ${q.from} WHERE ${q.where}`)
    .all(q.params) as { detail: string }[];
  return rows.map((r) => r.detail).join("; ");
}

describe("every audit-log filter is index-backed", () => {
  for (const [filter, value, column] of [
    ["action", "secret.created", "action"],
    ["resource_type", "secret", "resource_type"],
    ["resource_id", "sec_x", "resource_id"],
    ["actor_id", "usr_x", "actor_id"],
  ] as const) {
    test(`?${filter}=: the count searches an index on ${column}, it does not scan`, async () => {
      const h = await createHarness();
      const seen = capturePages(h);
      expect((await h.call("GET", `/v1/audit-logs?${filter}=${value}`)).status).toBe(200);
      const plan = planOf(h, seen[0] as PageQuery);
      expect(plan).toMatch(new RegExp(`SEARCH audit_logs USING (COVERING )?INDEX \\w+ \\(.*${column}=\\?`));
    });
  }

  test("?type= on webhook events searches an index on event_type", async () => {
    const h = await createHarness();
    const seen = capturePages(h);
    expect((await h.call("GET", "/v1/webhooks/events?type=invoice.paid")).status).toBe(200);
    expect(planOf(h, seen[0] as PageQuery)).toMatch(
      /SEARCH webhook_events USING (COVERING )?INDEX \w+ \(.*event_type=\?/,
    );
  });
});

/** A store holding `rows` audit rows in the default tenant's default environment, made by SQL. */
async function storeWithAuditRows(rows: number): Promise<string> {
  const dir = tempDir("audit-rows-");
  const tollgate = await createTollgate({
    config: structuredClone(DEFAULT_CONFIG),
    store: new SqliteStore(openDatabase(join(dir, "tollgate.db"))),
    logger: createLogger("silent"),
  });
  const environment = await tollgate.context.db.value(
    "SELECT id FROM environments WHERE tenant_id = ? AND is_default = 1",
    DEFAULT_TENANT_ID,
  );
  const db = sqliteOf(tollgate);
  db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO audit_logs (id, tenant_id, environment_id, action, resource_type, resource_id, actor_type, actor_id,
       changes, created_at)
     SELECT printf('aud_%08d', i), ?, ?, 'user.sign_in_failed', 'user', printf('usr_%d', i % 1000), 'system', NULL,
       '{"before":null,"after":null}', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d seconds', i))
     FROM n`,
  ).run(rows, DEFAULT_TENANT_ID, environment);
  db.pragma("wal_checkpoint(TRUNCATE)");
  await tollgate.close();
  return dir;
}

describe("over a real server: a heavy list does not hold up other requests", () => {
  // Orders, not times: were the list read on the request thread, /health would have to wait for
  // it. The list may end either way (its page, or the budget's 400 on a busy machine); what
  // matters is that /health did not wait. Seeding 200,000 rows and two rounds take a few
  // seconds, more on a loaded machine: the test has its own timeout.
  test("/health answers while a count and a deep offset over 200,000 audit rows are being read", async () => {
    const dir = await storeWithAuditRows(200_000);
    const server = await startServer({ dir });
    try {
      const headers = { "X-API-Key": DEV_KEY };
      for (let round = 0; round < 2; round++) {
        const order: string[] = [];
        const list = fetch(`${server.baseUrl}/v1/audit-logs?offset=199000&limit=1`, { headers }).then((res) => {
          order.push("list");
          return res.status;
        });
        // Give the list a head start: were it read on the request thread, /health would queue behind it.
        await Bun.sleep(20);
        const health = fetch(`${server.baseUrl}/health`).then((res) => {
          order.push("health");
          return res.status;
        });
        const [listStatus, healthStatus] = await Promise.all([list, health]);
        expect(order).toEqual(["health", "list"]);
        expect(healthStatus).toBe(200);
        expect([200, 400]).toContain(listStatus);
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 90_000);
});
