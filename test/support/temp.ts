// Every temporary folder of a test run lives under one root, removed when the run ends.
// bunfig.toml preloads this file, so its afterAll is global: it runs once, after every file.
// Run from elsewhere than the repository root (no bunfig.toml, no preload), the first file that
// imports it registers the afterAll: the root then goes when that file ends, and is made again
// for the next file that asks for a folder.
import { afterAll } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(tmpdir(), `tollgate-test-${process.pid}-${Date.now()}`);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A new empty folder, removed with the rest at the end of the run. */
export function tempDir(prefix: string): string {
  mkdirSync(root, { recursive: true });
  return mkdtempSync(join(root, prefix));
}
