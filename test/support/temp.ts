// Every temporary folder of a test run lives under one root, removed when the run ends.
// bunfig.toml preloads this file, so its afterAll is global: it runs once, after every file.
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = mkdtempSync(join(tmpdir(), "tollgate-test-"));

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A new empty folder, removed with the rest at the end of the run. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(root, prefix));
}
