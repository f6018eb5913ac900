/**
 * The test files the PostgreSQL run covers (run-suites.ts), relative to test/. Every other file
 * runs on SQLite only: see the README's "Tests" section for why each kind is SQLite's alone.
 */
export const POSTGRES_SUITE: string[] = [];
