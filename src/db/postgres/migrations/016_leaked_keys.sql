-- Leaked keys (SPEC §16), as SQLite's 016: when, how and where a key was reported leaked, and
-- whether its owner has acknowledged it.
ALTER TABLE secrets ADD COLUMN leaked_at text COLLATE "C";
ALTER TABLE secrets ADD COLUMN leak_source text COLLATE "C" CHECK (leak_source IN ('report', 'github', 'operator'));
ALTER TABLE secrets ADD COLUMN leak_url text COLLATE "C";
ALTER TABLE secrets ADD COLUMN leak_acknowledged_at text COLLATE "C";
ALTER TABLE secrets ADD COLUMN leak_acknowledged_by text COLLATE "C";

CREATE INDEX secrets_leaks_to_acknowledge ON secrets (tenant_id, environment_id, leaked_at)
  WHERE leaked_at IS NOT NULL AND leak_acknowledged_at IS NULL;
