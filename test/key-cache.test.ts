import { describe, expect, test } from "bun:test";
import { KeyCache } from "../src/modules/auth/key-cache";

describe("KeyCache", () => {
  test("a lookup that started before an invalidation cannot re-insert its stale result", () => {
    const cache = new KeyCache<{ id: string }>({ size: 10, negativeSize: 10 });
    const startedAt = cache.generation;
    // ...the lookup reads the store here, and meanwhile the key is revoked:
    cache.invalidate(["hash-a"]);
    expect(cache.fill("hash-a", { id: "stale" }, startedAt)).toBe(false);
    expect(cache.get("hash-a")).toBeUndefined();
    expect(cache.fill("hash-a", { id: "fresh" }, cache.generation)).toBe(true);
    expect(cache.get("hash-a")).toEqual({ id: "fresh" });
  });

  test("negative entries are fenced the same way and forgotten on invalidation", () => {
    const cache = new KeyCache<{ id: string }>({ size: 10, negativeSize: 10 });
    const startedAt = cache.generation;
    cache.invalidate(["hash-b"]);
    expect(cache.fillUnknown("hash-b", startedAt)).toBe(false);
    expect(cache.isKnownUnknown("hash-b")).toBe(false);
    cache.fillUnknown("hash-b", cache.generation);
    expect(cache.isKnownUnknown("hash-b")).toBe(true);
    cache.invalidate(["hash-b"]);
    expect(cache.isKnownUnknown("hash-b")).toBe(false);
  });

  test("both caches are bounded", () => {
    const cache = new KeyCache<{ id: string }>({ size: 3, negativeSize: 2 });
    for (let i = 0; i < 10; i++) {
      cache.fill(`k${i}`, { id: String(i) }, cache.generation);
      cache.fillUnknown(`u${i}`, cache.generation);
    }
    expect(cache.stats.size).toBe(3);
    expect(cache.stats.unknown).toBe(2);
    expect(cache.get("k9")).toEqual({ id: "9" });
    expect(cache.get("k0")).toBeUndefined();
  });
});
