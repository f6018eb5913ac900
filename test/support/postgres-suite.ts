/**
 * The test files the PostgreSQL run covers (run-suites.ts), relative to test/: every behaviour
 * a client sees through the store (keys and their revocation race, accounts, people, customers
 * and their search, events and their pages, audit, tenants, environments through them, sign-in
 * links, verify and forward-auth, the official SDK's 2.1 contract). The rest runs on SQLite
 * only, for now: what is SQLite's own (its files, WAL, the store lock, the writer and reader
 * threads, EXPLAIN), real processes, the browser, and the slowest files on PostgreSQL (usage
 * aggregation, whose answers test/events-usage-engines.test.ts compares between the engines in
 * the SQLite run; webhooks, integrations and the portal's hardening).
 */
export const POSTGRES_SUITE: string[] = [
  "audit.test.ts",
  "auth.test.ts",
  "customers-flexprice.test.ts",
  "events.test.ts",
  "forward-auth.test.ts",
  "hardening-auth-flood.test.ts",
  "hardening-body.test.ts",
  "hardening-keys.test.ts",
  "http.test.ts",
  "leaked-keys.test.ts",
  "metrics.test.ts",
  "openapi.test.ts",
  "people-roles.test.ts",
  "portal-cors.test.ts",
  "portal-page.test.ts",
  "rbac-custom-roles.test.ts",
  "sdk21-contract.test.ts",
  "secrets.test.ts",
  "seeds.test.ts",
  "sign-in-limits.test.ts",
  "sign-in-links.test.ts",
  "tenants.test.ts",
  "users-search.test.ts",
  "users.test.ts",
  "verify.test.ts",
];
