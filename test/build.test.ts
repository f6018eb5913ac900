// The build's choice of SQLite addon for each target: the one file the executable cannot run without.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { sqlitePlatformOf } from "../src/build";

describe("src/build.ts", () => {
  test.each([
    ["bun-linux-x64", "linux-x64"],
    ["bun-linux-x64-baseline", "linux-x64"],
    ["bun-linux-x64-glibc", "linux-x64"],
    ["bun-linux-arm64", "linux-arm64"],
    ["bun-linux-x64-musl", "linuxmusl-x64"],
    ["bun-linux-arm64-musl", "linuxmusl-arm64"],
    ["bun-linux-x64-modern-musl", "linuxmusl-x64"],
    ["bun-darwin-arm64", "darwin-arm64"],
    ["bun-darwin-x64", "darwin-x64"],
    ["bun-windows-x64", "win32-x64"],
    ["bun-windows-arm64", "win32-arm64"],
  ])("%s embeds better-sqlite3/%s, which ships its prebuilt addon", (target, platform) => {
    expect(sqlitePlatformOf(target) as string).toBe(platform);
    const entry = Bun.resolveSync(`better-sqlite3/${platform}`, import.meta.dir);
    expect(existsSync(join(dirname(entry), "..", "prebuilds", `${platform}.node`))).toBe(true);
  });

  test.each(["linux-x64", "bun-freebsd-x64", "bun-linux-riscv64", "bun-linux-x64-musl-extra"])(
    "%s is refused with the list of targets",
    (target) => {
      expect(() => sqlitePlatformOf(target)).toThrow(`Unsupported target "${target}"`);
    },
  );
});
