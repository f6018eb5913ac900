-- Leaked keys (SPEC §16): a key reported leaked (POST /v1/secrets/leaked, GitHub's secret
-- scanning, `tollgate keys leaked`) records when, how and where it was found, so its owner is
-- told in the dashboard until they acknowledge it. A report that revokes the key also sets its
-- status to deleted, as any revocation does; one that only reports (GitHub's, with
-- leaked_keys.github.revoke off) leaves the key working and the owner warned.
ALTER TABLE secrets ADD COLUMN leaked_at TEXT;
ALTER TABLE secrets ADD COLUMN leak_source TEXT CHECK (leak_source IN ('report', 'github', 'operator'));
-- Where the key was found, when the reporter said (GitHub's URL of the commit or file).
ALTER TABLE secrets ADD COLUMN leak_url TEXT;
ALTER TABLE secrets ADD COLUMN leak_acknowledged_at TEXT;
-- The person who acknowledged it (a user id).
ALTER TABLE secrets ADD COLUMN leak_acknowledged_by TEXT;

-- The dashboard's banner: the leaks of one environment still to be acknowledged.
CREATE INDEX secrets_leaks_to_acknowledge ON secrets (tenant_id, environment_id, leaked_at)
  WHERE leaked_at IS NOT NULL AND leak_acknowledged_at IS NULL;
