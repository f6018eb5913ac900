/**
 * The test files the PostgreSQL run leaves out (run-suites.ts runs every other file on both
 * engines, browser suites, real processes, the CLI and the official SDK included), relative to
 * test/, each with the reason. What remains SQLite's alone is what only the embedded engine has,
 * and files that never open a store.
 */
export const SQLITE_ONLY: Record<string, string> = {
  "hardening-store.test.ts": "SQLite's disk errors (SQLITE_FULL, SQLITE_READONLY) and its files unlinked or replaced",
  "hardening-store-lock.test.ts": "the SQLite file's lock (several servers on one PostgreSQL database are the point)",
  "hardening-events.test.ts": "the SQLite writer and reader threads and better-sqlite3's statement cache",
  "hardening-lists.test.ts": "SQLite's query plans (EXPLAIN QUERY PLAN) and its read budget's clock",
  "events-usage-engines.test.ts": "asks both engines the same usage questions itself, in the SQLite run",
  "events-usage-flexprice.test.ts":
    "its answers are compared between the engines by events-usage-engines.test.ts; on PostgreSQL the file takes minutes",
  "binary.test.ts": "the compiled executable without node_modules: packaging, not the store",
  "build.test.ts": "the build, not the store",
  "proxies.test.ts": "Caddy and nginx in front of the server: HTTP, not the store",
  "proxies-readme.test.ts": "the README's proxy configurations: no store",
  "key-format.test.ts": "no store",
  "key-cache.test.ts": "no store",
  "config.test.ts": "no store",
  "process-paths.test.ts": "where the CLI finds its files: no store",
};
