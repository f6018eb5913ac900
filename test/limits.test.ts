// SPEC §14: rate limits and credits on keys and service accounts — set at creation, changed by
// PUT …/limits, shown on every key and service-account response, audited, refused when bad.
import { describe, expect, test } from "bun:test";
import { createHarness, errorOf, type Harness } from "./support/harness";

const KEYS = "/v1/secrets/api/keys";

const ORDERS = { name: "orders", limit: 100, duration_ms: 1000, auto_apply: true };
const SEARCH = { name: "search.v2", limit: 5, duration_ms: 60_000 };
const TRIAL = { remaining: 1000, refill: { interval: "monthly", amount: 1000, refill_day: 31 } };

async function newKey(h: Harness, body: Record<string, unknown>, key?: string) {
  const res = await h.call("POST", KEYS, { body: { name: "k", ...body }, key });
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${res.text}`);
  return res.body as { api_key: string; id: string; secret: Record<string, any> };
}

async function serviceAccount(h: Harness, roles = ["super_admin"]) {
  const res = await h.call("POST", "/v1/users", { body: { type: "service_account", name: "worker", roles } });
  expect(res.status).toBe(201);
  return res.body as { id: string };
}

async function auditRows(h: Harness, action: string) {
  const res = await h.call("GET", `/v1/audit-logs?action=${action}`);
  expect(res.status).toBe(200);
  return res.body.items as { resource_id: string; changes: { before: any; after: any } }[];
}

async function generation(h: Harness) {
  return await h.context.db.value<number>("SELECT value FROM credential_generation WHERE id = 1");
}

describe("limits on keys", () => {
  test("set at creation and shown on create, get, list and rotate; a key without has none", async () => {
    const h = await createHarness();
    const limited = await newKey(h, { ratelimits: [ORDERS, SEARCH], credits: TRIAL });
    const expected = {
      ratelimits: [ORDERS, { ...SEARCH, auto_apply: false }],
      credits: { remaining: 1000, refill: { interval: "monthly", amount: 1000, refill_day: 31 } },
    };
    expect(limited.secret).toMatchObject(expected);
    expect((await h.call("GET", `${KEYS}/${limited.id}`)).body).toMatchObject(expected);
    const plain = await newKey(h, {});
    expect(plain.secret).toMatchObject({ ratelimits: [], credits: null });
    const list = (await h.call("GET", KEYS)).body.items as any[];
    expect(list.find((item) => item.id === limited.id)).toMatchObject(expected);
    expect(list.find((item) => item.id === plain.id)).toMatchObject({ ratelimits: [], credits: null });

    // The replacement takes the limits and the credits over; the old key keeps none to spend.
    const rotated = await h.call("POST", `${KEYS}/${limited.id}/rotate`, { body: { grace_period_seconds: 60 } });
    expect(rotated.status).toBe(201);
    expect(rotated.body.secret).toMatchObject(expected);
    expect((await h.call("GET", `${KEYS}/${limited.id}`)).body.credits).toEqual({ remaining: 0, refill: null });
  });

  test("PUT …/limits replaces the parts it names, audited with before and after; credits null removes them", async () => {
    const h = await createHarness();
    const { id } = await newKey(h, { ratelimits: [ORDERS], credits: { remaining: 10 } });

    const creditsOnly = await h.call("PUT", `${KEYS}/${id}/limits`, { body: { credits: { remaining: 50 } } });
    expect(creditsOnly.status).toBe(200);
    expect(creditsOnly.body).toMatchObject({ id, ratelimits: [ORDERS], credits: { remaining: 50, refill: null } });

    const limitsOnly = await h.call("PUT", `${KEYS}/${id}/limits`, { body: { ratelimits: [SEARCH] } });
    expect(limitsOnly.body).toMatchObject({
      ratelimits: [{ ...SEARCH, auto_apply: false }],
      credits: { remaining: 50 },
    });

    const removed = await h.call("PUT", `${KEYS}/${id}/limits`, { body: { credits: null, ratelimits: [] } });
    expect(removed.body).toMatchObject({ ratelimits: [], credits: null });

    const rows = await auditRows(h, "secret.limits_updated");
    expect(rows.length).toBe(3);
    const latest = rows[0];
    expect(latest?.resource_id).toBe(id);
    expect(latest?.changes.before).toEqual({
      ratelimits: [{ ...SEARCH, auto_apply: false }],
      credits: { remaining: 50, refill: null },
    });
    expect(latest?.changes.after).toEqual({ ratelimits: [], credits: null });
  });

  test("bad limits are a 400 naming what is wrong, and nothing changes", async () => {
    const h = await createHarness();
    const { id } = await newKey(h, { ratelimits: [ORDERS], credits: { remaining: 10 } });
    const before = (await h.call("GET", `${KEYS}/${id}`)).body;
    const generationBefore = await generation(h);
    const bad: [unknown, RegExp][] = [
      [{ ratelimits: [{ ...ORDERS, name: "Orders" }] }, /name/],
      [{ ratelimits: [{ ...ORDERS, limit: 0 }] }, /limit/],
      [{ ratelimits: [{ ...ORDERS, duration_ms: 999 }] }, /duration_ms/],
      [{ ratelimits: [{ ...ORDERS, duration_ms: 30 * 24 * 3600 * 1000 + 1 }] }, /duration_ms/],
      [{ ratelimits: Array.from({ length: 21 }, (_, i) => ({ ...ORDERS, name: `l${i}` })) }, /ratelimits/],
      [{ ratelimits: [ORDERS, ORDERS] }, /named twice/],
      [{ credits: { remaining: -1 } }, /remaining/],
      [{ credits: { remaining: 5, refill: { interval: "daily", amount: 5, refill_day: 3 } } }, /monthly/],
      [{ credits: { remaining: 5, refill: { interval: "monthly", amount: 5, refill_day: 32 } } }, /refill_day/],
      [{ credits: { remaining: null, refill: { interval: "daily", amount: 5 } } }, /remaining/],
      [{ credits: { remaining: 5, extra: 1 } }, /extra/],
      [{ ratelimits: [{ ...ORDERS, limit: "100" }] }, /limit/],
    ];
    for (const [body, says] of bad) {
      const res = await h.call("PUT", `${KEYS}/${id}/limits`, { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(errorOf(res)), JSON.stringify(body)).toMatch(says);
      const created = await h.call("POST", KEYS, { body: { name: "bad", ...(body as object) } });
      expect(created.status, JSON.stringify(body)).toBe(400);
    }
    expect((await h.call("GET", `${KEYS}/${id}`)).body).toEqual(before);
    expect(await generation(h)).toBe(generationBefore as number);
    expect(await auditRows(h, "secret.limits_updated")).toEqual([]);
    expect((await h.call("GET", KEYS)).body.items.length).toBe(1);
  });

  test("a key cannot change its own limits; a revoked key's cannot be changed (400); another environment's key is 404", async () => {
    const h = await createHarness();
    const limited = await newKey(h, { credits: { remaining: 3 } });
    const own = await h.call("PUT", `${KEYS}/${limited.id}/limits`, { key: limited.api_key, body: { credits: null } });
    expect(own.status).toBe(400);
    expect(errorOf(own).message).toBe("A key cannot change its own rate limits or credits");

    expect((await h.call("DELETE", `${KEYS}/${limited.id}`)).status).toBe(204);
    const revoked = await h.call("PUT", `${KEYS}/${limited.id}/limits`, { body: { credits: null } });
    expect(revoked.status).toBe(400);
    expect(errorOf(revoked).message).toBe("Limits of an archived account or a revoked key cannot be changed");

    const production = (await h.call("GET", "/v1/environments")).body.items.find((e: any) => e.type === "production");
    const elsewhere = await h.call("PUT", `${KEYS}/${(await newKey(h, {})).id}/limits`, {
      body: { credits: null },
      headers: { "x-environment-id": production.id },
    });
    expect(elsewhere.status).toBe(404);
  });

  test("changing the configuration moves the credential generation; a spend written to the store does not", async () => {
    const h = await createHarness();
    const { id } = await newKey(h, { credits: { remaining: 10 } });
    const before = (await generation(h)) as number;
    await h.call("PUT", `${KEYS}/${id}/limits`, { body: { ratelimits: [ORDERS] } });
    const afterChange = (await generation(h)) as number;
    expect(afterChange).toBeGreaterThan(before);
    await h.context.db.run("UPDATE limits SET credits_remaining = 9, refilled_at = ? WHERE owner_id = ?", "x", id);
    expect(await generation(h)).toBe(afterChange);
  });
});

describe("limits on service accounts", () => {
  test("PUT /v1/users/{id}/limits on a service account, shown on its responses, audited; a person's account is refused", async () => {
    const h = await createHarness();
    const account = await serviceAccount(h);
    const set = await h.call("PUT", `/v1/users/${account.id}/limits`, {
      body: { ratelimits: [ORDERS], credits: { remaining: 7, refill: { interval: "daily", amount: 7 } } },
    });
    expect(set.status).toBe(200);
    const expected = {
      id: account.id,
      ratelimits: [ORDERS],
      credits: { remaining: 7, refill: { interval: "daily", amount: 7, refill_day: null } },
    };
    expect(set.body).toMatchObject(expected);
    expect((await h.call("GET", `/v1/users/${account.id}`)).body).toMatchObject(expected);
    const found = await h.call("POST", "/v1/users/search", { body: { type: "service_account" } });
    expect(found.body.items.find((item: any) => item.id === account.id)).toMatchObject(expected);

    const rows = await auditRows(h, "service_account.limits_updated");
    expect(rows.map((row) => row.resource_id)).toEqual([account.id]);
    expect(rows[0]?.changes).toEqual({
      before: { ratelimits: [], credits: null },
      after: { ratelimits: [ORDERS], credits: expected.credits },
    });

    const me = (await h.call("GET", "/v1/users/me")).body;
    const person = await h.call("PUT", `/v1/users/${me.id}/limits`, { body: { credits: null } });
    expect(person.status).toBe(400);
    const unknown = await h.call("PUT", "/v1/users/usr_nobody/limits", { body: { credits: null } });
    expect(unknown.status).toBe(404);
  });

  test("an account's limits are per environment: another environment shows none", async () => {
    const h = await createHarness();
    const account = await serviceAccount(h);
    await h.call("PUT", `/v1/users/${account.id}/limits`, { body: { credits: { remaining: 7 } } });
    const production = (await h.call("GET", "/v1/environments")).body.items.find((e: any) => e.type === "production");
    const there = await h.call("GET", `/v1/users/${account.id}`, { headers: { "x-environment-id": production.id } });
    expect(there.body).toMatchObject({ ratelimits: [], credits: null });
  });
});
