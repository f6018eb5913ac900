-- One row per change, written in the same transaction as the change. Append-only: the
-- triggers below refuse UPDATE, DELETE and an INSERT reusing an id (INSERT OR REPLACE would
-- otherwise rewrite a row without firing the DELETE trigger), so history cannot be rewritten.

CREATE TABLE audit_logs (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id),
  environment_id  TEXT,
  action          TEXT NOT NULL,
  resource_type   TEXT NOT NULL,
  resource_id     TEXT NOT NULL,
  actor_type      TEXT NOT NULL CHECK (actor_type IN ('user', 'service_account', 'config_key', 'system')),
  actor_id        TEXT,
  actor_name      TEXT,
  credential_id   TEXT,
  changes         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(changes)),
  request_id      TEXT,
  ip              TEXT,
  user_agent      TEXT,
  created_at      TEXT NOT NULL
) STRICT;

CREATE INDEX audit_logs_by_time ON audit_logs (tenant_id, environment_id, created_at, id);
CREATE INDEX audit_logs_by_resource ON audit_logs (tenant_id, resource_id, created_at);
CREATE INDEX audit_logs_by_actor ON audit_logs (tenant_id, actor_id, created_at);

CREATE TRIGGER audit_logs_refuse_update BEFORE UPDATE ON audit_logs
BEGIN
  SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

CREATE TRIGGER audit_logs_refuse_delete BEFORE DELETE ON audit_logs
BEGIN
  SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

CREATE TRIGGER audit_logs_refuse_replace BEFORE INSERT ON audit_logs
WHEN EXISTS (SELECT 1 FROM audit_logs WHERE id = NEW.id)
BEGIN
  SELECT RAISE(ABORT, 'audit_logs is append-only');
END;
