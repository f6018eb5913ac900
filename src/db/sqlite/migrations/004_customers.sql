-- Customers, soft-deleted as 'deleted' so their external_id can be used again.

CREATE TABLE customers (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id),
  environment_id  TEXT NOT NULL REFERENCES environments(id),
  external_id     TEXT NOT NULL,
  name            TEXT,
  email           TEXT,
  metadata        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
  status          TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'deleted')),
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX customers_external_id ON customers (tenant_id, environment_id, external_id) WHERE status = 'published';
CREATE INDEX customers_by_time ON customers (tenant_id, environment_id, status, created_at);
CREATE INDEX customers_by_email ON customers (tenant_id, environment_id, email);

-- Process-wide secrets Tollgate generates for itself (the portal token signing key), kept so
-- that tokens survive a restart.
CREATE TABLE settings (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL,
  created_at  TEXT NOT NULL
) STRICT;
