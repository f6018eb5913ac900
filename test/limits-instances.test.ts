// SPEC §15: credits are shared by every instance on one PostgreSQL database, exactly: 64
// spenders spread over two real instances never overdraw, and together spend every credit.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DEV_KEY } from "./support/harness";
import { type ServerProcess, startServer, withStoreOf } from "./support/process";
import { tempDir } from "./support/temp";
import { onSqlite } from "./support/test-store";

const CREDITS = 200;
const SPENDERS = 64;
const REQUESTS = 500;

describe.if(!onSqlite)("credits across two instances on one PostgreSQL", () => {
  let dir: string;
  let first: ServerProcess;
  let second: ServerProcess;

  beforeAll(async () => {
    dir = tempDir("limits-instances-");
    first = await startServer({ dir });
    second = await startServer({ dir });
  });

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
  });

  test(`${SPENDERS} spenders over both instances: exactly ${CREDITS} admitted, none below zero`, async () => {
    const created = await fetch(`${first.baseUrl}/v1/secrets/api/keys`, {
      method: "POST",
      headers: { "X-API-Key": DEV_KEY, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "shared", credits: { remaining: CREDITS } }),
    });
    expect(created.status).toBe(201);
    const { api_key: key, id } = (await created.json()) as { api_key: string; id: string };

    const statuses: number[] = [];
    let started = 0;
    await Promise.all(
      Array.from({ length: SPENDERS }, async (_, spender) => {
        const server = spender % 2 === 0 ? first : second;
        while (started < REQUESTS) {
          started++;
          const res = await fetch(`${server.baseUrl}/v1/users/me`, { headers: { "X-API-Key": key } });
          await res.arrayBuffer();
          statuses.push(res.status);
        }
      }),
    );
    expect(statuses.filter((status) => status === 200).length).toBe(CREDITS);
    expect(statuses.filter((status) => status === 429).length).toBe(REQUESTS - CREDITS);
    expect(
      await withStoreOf(dir, (store) => store.value("SELECT credits_remaining FROM limits WHERE owner_id = ?", id)),
    ).toBe(0);
  }, 60_000);
});
