import { describe, expect, test } from "bun:test";
import { displayIdOf, generateApiKey, isWellFormedApiKey } from "../src/modules/auth/key-format";

const SCANNER_REGEX = /\b[sp]k_(live|test)_[0-9a-f]{64}\b/;

describe("stored key format (SPEC §1)", () => {
  test("CRC-32 matches the standard check value", () => {
    expect((Bun.hash.crc32("123456789") >>> 0).toString(16)).toBe("cbf43926");
  });

  test.each([
    ["sk", "live"],
    ["sk", "test"],
    ["pk", "live"],
    ["pk", "test"],
  ] as const)("%s_%s keys: 72 chars, lowercase hex, valid checksum, found by the scanner regex", (kind, mode) => {
    const key = generateApiKey(kind, mode);
    expect(key).toHaveLength(72);
    expect(key.startsWith(`${kind}_${mode}_`)).toBe(true);
    expect(key).toMatch(SCANNER_REGEX);
    expect(isWellFormedApiKey(key)).toBe(true);
  });

  test("keys are random", () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateApiKey("sk", "test")));
    expect(keys.size).toBe(1000);
  });

  test("flipping any single character fails validation", () => {
    const key = generateApiKey("sk", "test");
    for (let i = 0; i < key.length; i++) {
      const replacement = key[i] === "a" ? "b" : key[i] === "_" ? "-" : "a";
      const flipped = key.slice(0, i) + replacement + key.slice(i + 1);
      expect(isWellFormedApiKey(flipped)).toBe(false);
    }
  });

  test("wrong prefix, length, case or alphabet fails", () => {
    const key = generateApiKey("pk", "live");
    for (const bad of [
      key.slice(1),
      `${key}0`,
      key.toUpperCase(),
      key.replace("pk_", "xk_"),
      key.replace("_live_", "_prod_"),
      `${key.slice(0, 30)}g${key.slice(31)}`,
      "",
    ]) {
      expect(isWellFormedApiKey(bad)).toBe(false);
    }
  });

  test("display_id is the first 12 characters, ***, and the last 4", () => {
    const key = generateApiKey("sk", "test");
    expect(displayIdOf(key)).toBe(`${key.slice(0, 12)}***${key.slice(-4)}`);
    expect(displayIdOf(key)).toMatch(/^sk_test_[0-9a-f]{4}\*\*\*[0-9a-f]{4}$/);
  });
});
