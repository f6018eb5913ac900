// POST /v1/users/search with the rest of Flexprice's UserFilter (issue 10): order, sort,
// filters, expand, start_time/end_time and status "deleted". What can be applied is; what
// cannot is a 400 naming the field, never silently ignored.
import { describe, expect, test } from "bun:test";
import { createHarness, createTwoTenantHarness, DEFAULT_TENANT, errorOf, type Harness } from "./support/harness";

const SEARCH = "/v1/users/search";

/**
 * Three service accounts and the development user, with created_at set one day apart so the
 * order and time range are certain: dev (2026-01-01), Zeta (01-02), alpha (01-03), Mid (01-04).
 */
async function accounts(h: Harness) {
  const make = async (name: string, roles: string[]) => {
    const res = await h.call("POST", "/v1/users", { body: { type: "service_account", name, roles } });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const zeta = await make("Zeta", ["event_ingestor"]);
  const alpha = await make("alpha", ["event_reader"]);
  const mid = await make("Mid", ["event_reader", "event_ingestor"]);
  const days = [
    [DEFAULT_TENANT, "2026-01-01T00:00:00.000Z"],
    [zeta, "2026-01-02T00:00:00.000Z"],
    [alpha, "2026-01-03T00:00:00.000Z"],
    [mid, "2026-01-04T00:00:00.000Z"],
  ];
  for (const [id, at] of days) {
    await h.context.db.run("UPDATE users SET created_at = ?, updated_at = ? WHERE id = ?", at, at, id);
  }
  return { dev: DEFAULT_TENANT, zeta, alpha, mid };
}

async function ids(h: Harness, body: unknown): Promise<string[]> {
  const res = await h.call("POST", SEARCH, { body });
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
  return res.body.items.map((u: { id: string }) => u.id);
}

async function refused(h: Harness, body: unknown) {
  const res = await h.call("POST", SEARCH, { body });
  expect({ body, status: res.status }).toEqual({ body, status: 400 });
  return errorOf(res);
}

describe("order and sort", () => {
  test("newest first by default; order asc for oldest first", async () => {
    const h = await createHarness();
    const a = await accounts(h);
    expect(await ids(h, {})).toEqual([a.mid, a.alpha, a.zeta, a.dev]);
    expect(await ids(h, { order: "desc" })).toEqual([a.mid, a.alpha, a.zeta, a.dev]);
    expect(await ids(h, { order: "asc" })).toEqual([a.dev, a.zeta, a.alpha, a.mid]);
  });

  test("sort conditions in order, ascending unless they say desc; names sort regardless of case", async () => {
    const h = await createHarness();
    const a = await accounts(h);
    expect(await ids(h, { type: "service_account", sort: [{ field: "name" }] })).toEqual([a.alpha, a.mid, a.zeta]);
    expect(await ids(h, { type: "service_account", sort: [{ field: "name", direction: "desc" }] })).toEqual([
      a.zeta,
      a.mid,
      a.alpha,
    ]);
    // type first (service_account after user), then newest first among equals.
    expect(
      await ids(h, {
        sort: [
          { field: "type", direction: "desc" },
          { field: "created_at", direction: "desc" },
        ],
      }),
    ).toEqual([a.dev, a.mid, a.alpha, a.zeta]);
    // Ties broken by the default order, so pages never overlap.
    const page1 = await ids(h, { sort: [{ field: "type" }], limit: 2 });
    const page2 = await ids(h, { sort: [{ field: "type" }], limit: 2, offset: 2 });
    expect([...page1, ...page2].sort()).toEqual([a.dev, a.zeta, a.alpha, a.mid].sort());
    expect(page1).toEqual([a.mid, a.alpha]);
  });

  test("an account without the sorted-on value comes last, ascending or descending (as customers)", async () => {
    const h = await createHarness();
    const a = await accounts(h);
    // Only the development user has an email; the service accounts follow in the default order.
    await h.context.db.run("UPDATE users SET email = 'dev@example.test' WHERE id = ?", a.dev);
    expect(await ids(h, { sort: [{ field: "email" }] })).toEqual([a.dev, a.mid, a.alpha, a.zeta]);
    expect(await ids(h, { sort: [{ field: "email", direction: "desc" }] })).toEqual([a.dev, a.mid, a.alpha, a.zeta]);
  });

  test("an unknown sort field, or a bad direction or order: 400 naming it", async () => {
    const h = await createHarness();
    const unknown = await refused(h, { sort: [{ field: "created_at" }, { field: "password_hash" }] });
    expect(unknown).toEqual({
      message: "sort[1].field must be one of: created_at, updated_at, name, email, type, status, id",
      internal_error: "validation_error",
      details: { "sort[1].field": "must be one of: created_at, updated_at, name, email, type, status, id" },
    });
    expect((await refused(h, { sort: [{ field: "name", direction: "up" }] })).message).toBe(
      'sort[0].direction must be one of: "asc", "desc"',
    );
    expect((await refused(h, { order: "newest" })).message).toBe('order must be one of: "asc", "desc"');
    expect((await refused(h, { sort: { field: "name" } })).message).toBe("sort expected array");
  });
});

describe("start_time and end_time bound created_at, both ends included", () => {
  test("a range, an open start, an open end", async () => {
    const h = await createHarness();
    const a = await accounts(h);
    const range = { start_time: "2026-01-02T00:00:00Z", end_time: "2026-01-03T00:00:00Z" };
    expect(await ids(h, range)).toEqual([a.alpha, a.zeta]);
    expect(await ids(h, { start_time: "2026-01-03T00:00:00.001Z" })).toEqual([a.mid]);
    // Any offset: 2026-01-02T01:00:00+01:00 is midnight UTC.
    expect(await ids(h, { end_time: "2026-01-02T01:00:00+01:00" })).toEqual([a.zeta, a.dev]);
    const res = await h.call("POST", SEARCH, { body: range });
    expect(res.body.pagination.total).toBe(2);
  });

  test("end before start, or not a timestamp: 400 naming the field", async () => {
    const h = await createHarness();
    expect(await refused(h, { start_time: "2026-01-03T00:00:00Z", end_time: "2026-01-02T00:00:00Z" })).toEqual({
      message: "end_time must not be before start_time",
      internal_error: "validation_error",
      details: { end_time: "must not be before start_time" },
    });
    expect((await refused(h, { start_time: "yesterday" })).message).toStartWith("start_time must be an RFC 3339");
  });
});

describe("status", () => {
  test("deleted: no account is ever deleted (accounts are archived), so an empty list", async () => {
    const h = await createHarness();
    const a = await accounts(h);
    expect((await h.call("DELETE", `/v1/users/${a.zeta}`)).status).toBe(204);
    const res = await h.call("POST", SEARCH, { body: { status: "deleted" } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], pagination: { total: 0, limit: 50, offset: 0 } });
    expect(await ids(h, { status: "archived" })).toEqual([a.zeta]);
  });
});

describe("filters", () => {
  const cond = (field: string, operator: string, value: Record<string, unknown>, data_type?: string) => ({
    field,
    operator,
    value,
    ...(data_type ? { data_type } : {}),
  });

  test("eq, contains and not_contains (case-insensitive) on text fields", async () => {
    const h = await createHarness();
    const a = await accounts(h);
    expect(await ids(h, { filters: [cond("name", "eq", { string: "Mid" }, "string")] })).toEqual([a.mid]);
    expect(await ids(h, { filters: [cond("name", "eq", { string: "mid" })] })).toEqual([]);
    expect(await ids(h, { filters: [cond("name", "contains", { string: "ET" })] })).toEqual([a.zeta]);
    expect(await ids(h, { type: "service_account", filters: [cond("name", "not_contains", { string: "a" })] })).toEqual(
      [a.mid],
    );
    // An account without an email contains nothing, so not_contains keeps it.
    expect(await ids(h, { filters: [cond("email", "not_contains", { string: "@" })] })).toEqual([
      a.mid,
      a.alpha,
      a.zeta,
      a.dev,
    ]);
    expect(await ids(h, { filters: [cond("email", "contains", { string: "@" })] })).toEqual([]);
  });

  test("contains and not_contains ignore letter case beyond ASCII too", async () => {
    const h = await createHarness();
    const res = await h.call("POST", "/v1/users", {
      body: { type: "service_account", name: "Über Worker", roles: ["event_reader"] },
    });
    expect(res.status).toBe(201);
    const worker = res.body.id as string;
    for (const needle of ["Über", "über", "ÜBER", "er wo"]) {
      const body = { type: "service_account", filters: [cond("name", "contains", { string: needle })] };
      expect({ needle, ids: await ids(h, body) }).toEqual({ needle, ids: [worker] });
      const not = { type: "service_account", filters: [cond("name", "not_contains", { string: needle })] };
      expect({ needle, ids: await ids(h, not) }).toEqual({ needle, ids: [] });
    }
  });

  test("in and not_in take an array; several conditions all apply", async () => {
    const h = await createHarness();
    const a = await accounts(h);
    expect(await ids(h, { filters: [cond("id", "in", { array: [a.zeta, a.alpha] }, "array")] })).toEqual([
      a.alpha,
      a.zeta,
    ]);
    expect(await ids(h, { filters: [cond("id", "not_in", { array: [a.zeta, a.alpha] })] })).toEqual([a.mid, a.dev]);
    expect(
      await ids(h, {
        filters: [cond("type", "eq", { string: "service_account" }), cond("name", "in", { array: ["Zeta", "Mid"] })],
      }),
    ).toEqual([a.mid, a.zeta]);
  });

  test("before and after on created_at and updated_at, strictly", async () => {
    const h = await createHarness();
    const a = await accounts(h);
    expect(await ids(h, { filters: [cond("created_at", "after", { date: "2026-01-03T00:00:00Z" }, "date")] })).toEqual([
      a.mid,
    ]);
    expect(await ids(h, { filters: [cond("updated_at", "before", { date: "2026-01-02T00:00:00Z" })] })).toEqual([
      a.dev,
    ]);
    expect(await ids(h, { filters: [cond("created_at", "eq", { date: "2026-01-02T00:00:00Z" })] })).toEqual([a.zeta]);
  });

  test("what cannot be applied is refused, naming the field", async () => {
    const h = await createHarness();
    const cases: [unknown, string][] = [
      [
        cond("roles", "eq", { string: "x" }),
        "filters[0].field must be one of: created_at, updated_at, name, email, type, status, id",
      ],
      [cond("name", "gt", { number: 1 }), "filters[0].operator gt compares numbers, and no account field is a number"],
      [
        cond("name", "before", { date: "2026-01-01T00:00:00Z" }),
        "filters[0].operator before applies to created_at and updated_at",
      ],
      [
        cond("created_at", "contains", { string: "2026" }),
        "filters[0].operator contains applies to text fields, not created_at",
      ],
      [cond("name", "eq", { number: 3 }), "filters[0].value.string is required for eq on name"],
      [cond("name", "in", { string: "Mid" }), "filters[0].value.array is required for in on name"],
      // Flexprice drops an in/not_in with an empty list (it would answer every account for
      // "in nothing"); Tollgate refuses it, as it does for customers.
      [cond("name", "in", { array: [] }), "filters[0].value.array must have at least 1 items"],
      [cond("id", "not_in", { array: [] }), "filters[0].value.array must have at least 1 items"],
      [cond("name", "eq", { string: "Mid" }, "number"), 'filters[0].data_type must be "string" for eq on name'],
      [
        cond("name", "like", { string: "M%" }),
        'filters[0].operator must be one of: "eq", "contains", "not_contains", "gt", "lt", "in", "not_in", "before", "after"',
      ],
      [{ field: "name", operator: "eq" }, "filters[0].value is required"],
      [{ ...cond("name", "eq", { string: "x" }), negate: true }, "filters[0].negate is not an accepted field"],
    ];
    for (const [condition, message] of cases) {
      const error = await refused(h, { filters: [condition] });
      expect({ condition, message: error.message }).toEqual({ condition, message });
    }
  });
});

describe("expand", () => {
  test("empty is accepted; any expansion is refused: accounts have nothing to expand", async () => {
    const h = await createHarness();
    expect(await ids(h, { expand: "" })).toEqual([DEFAULT_TENANT]);
    expect(await refused(h, { expand: "tenant" })).toEqual({
      message: "expand is not supported for accounts: they have no expandable fields (the tenant is always included)",
      internal_error: "validation_error",
      details: {
        expand: "is not supported for accounts: they have no expandable fields (the tenant is always included)",
      },
    });
  });
});

describe("isolation", () => {
  test("filters and sorts never reach another tenant's accounts", async () => {
    const h = await createTwoTenantHarness();
    const all = await ids(h, {
      filters: [{ field: "id", operator: "not_in", value: { array: ["usr_nobody"] } }],
      order: "asc",
    });
    expect(all).toEqual([DEFAULT_TENANT]);
    expect(await ids(h, { filters: [{ field: "id", operator: "eq", value: { string: "user-two" } }] })).toEqual([]);
  });
});
