-- The schema of SQLite's migrations 001 to 015 in one step, for PostgreSQL (SPEC §15). From 016
-- on, every migration has a file for each engine under the same number, so a database of either
-- engine at version N has the same tables, columns and rules.
--
-- As in SQLite: timestamps are RFC 3339 UTC text (they sort as text), JSON is text checked to be
-- JSON, booleans are 0/1 integers. Text compares byte by byte (COLLATE "C", SQLite's BINARY), so
-- orders and keyset pages are the same on both engines whatever the database's locale.

CREATE TABLE tenants (
  id               text COLLATE "C" PRIMARY KEY,
  name             text COLLATE "C" NOT NULL,
  created_at       text COLLATE "C" NOT NULL,
  updated_at       text COLLATE "C" NOT NULL,
  billing_details  text COLLATE "C" CHECK (billing_details IS NULL OR jsonb_typeof(billing_details::jsonb) = 'object'),
  metadata         text COLLATE "C" NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata::jsonb) = 'object')
);

CREATE TABLE environments (
  id          text COLLATE "C" PRIMARY KEY,
  tenant_id   text COLLATE "C" NOT NULL REFERENCES tenants(id),
  name        text COLLATE "C" NOT NULL,
  type        text COLLATE "C" NOT NULL CHECK (type IN ('development', 'production')),
  is_default  integer NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
  created_at  text COLLATE "C" NOT NULL,
  updated_at  text COLLATE "C" NOT NULL,
  UNIQUE (tenant_id, name)
);

CREATE UNIQUE INDEX environments_one_default ON environments (tenant_id) WHERE is_default = 1;

CREATE TABLE users (
  id             text COLLATE "C" PRIMARY KEY,
  tenant_id      text COLLATE "C" NOT NULL REFERENCES tenants(id),
  type           text COLLATE "C" NOT NULL CHECK (type IN ('user', 'service_account')),
  name           text COLLATE "C" NOT NULL,
  email          text COLLATE "C",
  password_hash  text COLLATE "C",
  roles          text COLLATE "C" NOT NULL DEFAULT '[]' CHECK (roles::jsonb IS NOT NULL),
  status         text COLLATE "C" NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'archived')),
  created_by     text COLLATE "C",
  created_at     text COLLATE "C" NOT NULL,
  updated_at     text COLLATE "C" NOT NULL,
  metadata       text COLLATE "C" NOT NULL DEFAULT '{}' CHECK (metadata::jsonb IS NOT NULL),
  CHECK (type = 'user' OR email IS NULL)
);

CREATE INDEX users_by_tenant ON users (tenant_id, type, status, created_at);
CREATE UNIQUE INDEX users_email_per_tenant ON users (tenant_id, lower(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_sign_in_email ON users (lower(email))
  WHERE password_hash IS NOT NULL AND status = 'published' AND type = 'user';
CREATE INDEX users_by_email ON users (lower(email)) WHERE email IS NOT NULL;

CREATE TABLE secrets (
  id              text COLLATE "C" PRIMARY KEY,
  tenant_id       text COLLATE "C" NOT NULL REFERENCES tenants(id),
  environment_id  text COLLATE "C" NOT NULL REFERENCES environments(id),
  user_id         text COLLATE "C" NOT NULL REFERENCES users(id),
  created_by      text COLLATE "C",
  name            text COLLATE "C" NOT NULL,
  description     text COLLATE "C",
  type            text COLLATE "C" NOT NULL CHECK (type IN ('private_key', 'publishable_key')),
  provider        text COLLATE "C" NOT NULL DEFAULT 'flexprice',
  key_hash        text COLLATE "C" NOT NULL UNIQUE CHECK (length(key_hash) = 64),
  display_id      text COLLATE "C" NOT NULL,
  roles           text COLLATE "C" NOT NULL DEFAULT '[]' CHECK (roles::jsonb IS NOT NULL),
  status          text COLLATE "C" NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'archived', 'deleted')),
  expires_at      text COLLATE "C",
  last_used_at    text COLLATE "C",
  created_at      text COLLATE "C" NOT NULL,
  updated_at      text COLLATE "C" NOT NULL,
  replaced_by     text COLLATE "C" REFERENCES secrets(id)
);

CREATE INDEX secrets_by_environment ON secrets (tenant_id, environment_id, status, created_at);
CREATE INDEX secrets_by_owner ON secrets (user_id, status);
CREATE UNIQUE INDEX secrets_replaced_by ON secrets (replaced_by) WHERE replaced_by IS NOT NULL;

CREATE TABLE audit_logs (
  id              text COLLATE "C" PRIMARY KEY,
  tenant_id       text COLLATE "C" NOT NULL REFERENCES tenants(id),
  environment_id  text COLLATE "C",
  action          text COLLATE "C" NOT NULL,
  resource_type   text COLLATE "C" NOT NULL,
  resource_id     text COLLATE "C" NOT NULL,
  actor_type      text COLLATE "C" NOT NULL CHECK (actor_type IN ('user', 'service_account', 'config_key', 'system')),
  actor_id        text COLLATE "C",
  actor_name      text COLLATE "C",
  credential_id   text COLLATE "C",
  changes         text COLLATE "C" NOT NULL DEFAULT '{}' CHECK (changes::jsonb IS NOT NULL),
  request_id      text COLLATE "C",
  ip              text COLLATE "C",
  user_agent      text COLLATE "C",
  created_at      text COLLATE "C" NOT NULL
);

CREATE INDEX audit_logs_by_time ON audit_logs (tenant_id, environment_id, created_at, id);
CREATE INDEX audit_logs_by_action ON audit_logs (tenant_id, environment_id, action, created_at, id);
CREATE INDEX audit_logs_by_resource_type ON audit_logs (tenant_id, environment_id, resource_type, created_at, id);
CREATE INDEX audit_logs_by_resource ON audit_logs (tenant_id, environment_id, resource_id, created_at, id);
CREATE INDEX audit_logs_by_actor ON audit_logs (tenant_id, environment_id, actor_id, created_at, id);

-- Append-only: the database refuses to change or remove a row, whoever asks.
CREATE FUNCTION audit_logs_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_logs is append-only';
END $$;

CREATE TRIGGER audit_logs_refuse_update BEFORE UPDATE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION audit_logs_refuse_change();
CREATE TRIGGER audit_logs_refuse_delete BEFORE DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION audit_logs_refuse_change();
CREATE TRIGGER audit_logs_refuse_truncate BEFORE TRUNCATE ON audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_change();

CREATE TABLE event_scopes (
  key             integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  tenant_id       text COLLATE "C" NOT NULL REFERENCES tenants(id),
  environment_id  text COLLATE "C" NOT NULL UNIQUE REFERENCES environments(id)
);

CREATE TABLE events (
  seq                   bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  scope                 integer NOT NULL REFERENCES event_scopes(key),
  id                    text COLLATE "C" NOT NULL,
  event_name            text COLLATE "C" NOT NULL,
  external_customer_id  text COLLATE "C" NOT NULL,
  customer_id           text COLLATE "C",
  timestamp             text COLLATE "C" NOT NULL,
  source                text COLLATE "C",
  properties            text COLLATE "C" NOT NULL DEFAULT '{}',
  ingested_at           text COLLATE "C" NOT NULL
);

CREATE UNIQUE INDEX events_idempotency ON events (scope, id);
CREATE INDEX events_by_time ON events (scope, timestamp, seq);
CREATE INDEX events_by_customer ON events (scope, external_customer_id, timestamp, seq);
CREATE INDEX events_by_name ON events (scope, event_name, timestamp, seq);

CREATE TABLE event_counts (
  scope  integer PRIMARY KEY REFERENCES event_scopes(key),
  count  bigint NOT NULL
);

CREATE TABLE customers (
  id                        text COLLATE "C" PRIMARY KEY,
  tenant_id                 text COLLATE "C" NOT NULL REFERENCES tenants(id),
  environment_id            text COLLATE "C" NOT NULL REFERENCES environments(id),
  external_id               text COLLATE "C" NOT NULL,
  name                      text COLLATE "C",
  email                     text COLLATE "C",
  metadata                  text COLLATE "C" NOT NULL DEFAULT '{}' CHECK (metadata::jsonb IS NOT NULL),
  status                    text COLLATE "C" NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'deleted')),
  created_at                text COLLATE "C" NOT NULL,
  updated_at                text COLLATE "C" NOT NULL,
  address_line1             text COLLATE "C",
  address_line2             text COLLATE "C",
  address_city              text COLLATE "C",
  address_state             text COLLATE "C",
  address_postal_code       text COLLATE "C",
  address_country           text COLLATE "C",
  parent_customer_id        text COLLATE "C" REFERENCES customers(id),
  created_by                text COLLATE "C",
  updated_by                text COLLATE "C",
  contact                   text COLLATE "C",
  timezone                  text COLLATE "C" NOT NULL DEFAULT 'UTC',
  onboarding_workflow_name  text COLLATE "C",
  skip_onboarding_workflow  integer NOT NULL DEFAULT 0 CHECK (skip_onboarding_workflow IN (0, 1))
);

CREATE UNIQUE INDEX customers_external_id ON customers (tenant_id, environment_id, external_id) WHERE status = 'published';
CREATE INDEX customers_by_time ON customers (tenant_id, environment_id, status, created_at);
CREATE INDEX customers_by_email ON customers (tenant_id, environment_id, email);
CREATE INDEX customers_by_parent ON customers (tenant_id, environment_id, parent_customer_id)
  WHERE parent_customer_id IS NOT NULL;

CREATE TABLE settings (
  key         text COLLATE "C" PRIMARY KEY,
  value       text COLLATE "C" NOT NULL,
  created_at  text COLLATE "C" NOT NULL
);

CREATE TABLE customer_portal_revocations (
  customer_id      text COLLATE "C" PRIMARY KEY REFERENCES customers(id),
  revoked_through  text COLLATE "C" NOT NULL,
  revoked_at       text COLLATE "C" NOT NULL
);

CREATE TABLE sessions (
  id          text COLLATE "C" PRIMARY KEY,
  token_hash  text COLLATE "C" NOT NULL UNIQUE CHECK (length(token_hash) = 64),
  tenant_id   text COLLATE "C" NOT NULL REFERENCES tenants(id),
  user_id     text COLLATE "C" NOT NULL REFERENCES users(id),
  created_at  text COLLATE "C" NOT NULL,
  expires_at  text COLLATE "C" NOT NULL,
  revoked_at  text COLLATE "C"
);

CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id, revoked_at);

CREATE TABLE password_tokens (
  id          text COLLATE "C" PRIMARY KEY,
  token_hash  text COLLATE "C" NOT NULL UNIQUE CHECK (length(token_hash) = 64),
  purpose     text COLLATE "C" NOT NULL CHECK (purpose IN ('setup', 'set_password')),
  tenant_id   text COLLATE "C" NOT NULL REFERENCES tenants(id),
  user_id     text COLLATE "C" NOT NULL REFERENCES users(id),
  created_by  text COLLATE "C",
  created_at  text COLLATE "C" NOT NULL,
  expires_at  text COLLATE "C" NOT NULL,
  used_at     text COLLATE "C"
);

CREATE INDEX password_tokens_by_user ON password_tokens (tenant_id, user_id);

CREATE TABLE integration_secrets (
  id              text COLLATE "C" PRIMARY KEY,
  tenant_id       text COLLATE "C" NOT NULL REFERENCES tenants(id),
  environment_id  text COLLATE "C" NOT NULL REFERENCES environments(id),
  provider        text COLLATE "C" NOT NULL,
  name            text COLLATE "C" NOT NULL,
  credentials     text COLLATE "C" NOT NULL,
  created_by      text COLLATE "C",
  created_by_type text COLLATE "C",
  created_at      text COLLATE "C" NOT NULL,
  updated_at      text COLLATE "C" NOT NULL,
  UNIQUE (tenant_id, environment_id, provider)
);

CREATE TABLE webhook_events (
  id                text COLLATE "C" PRIMARY KEY,
  tenant_id         text COLLATE "C" NOT NULL REFERENCES tenants(id),
  environment_id    text COLLATE "C" NOT NULL REFERENCES environments(id),
  provider          text COLLATE "C" NOT NULL,
  provider_event_id text COLLATE "C" NOT NULL,
  event_type        text COLLATE "C" NOT NULL,
  payload           text COLLATE "C" NOT NULL,
  signed_at         text COLLATE "C" NOT NULL,
  received_at       text COLLATE "C" NOT NULL,
  UNIQUE (tenant_id, environment_id, provider, provider_event_id)
);

CREATE INDEX webhook_events_by_received ON webhook_events (tenant_id, environment_id, received_at, id);
CREATE INDEX webhook_events_by_type ON webhook_events (tenant_id, environment_id, event_type, received_at, id);

-- Counters that every change to a credential (keys, accounts, tenants) or a session moves,
-- whichever process makes it; a running server drops its caches when one moved
-- (auth/change-watch.ts). Triggers, not application code, so no writer can forget them.
-- last_used_at is not a listed column: recording use must not empty the caches.
CREATE TABLE credential_generation (
  id     integer PRIMARY KEY CHECK (id = 1),
  value  bigint NOT NULL
);
INSERT INTO credential_generation (id, value) VALUES (1, 0);

CREATE TABLE session_generation (
  id     integer PRIMARY KEY CHECK (id = 1),
  value  bigint NOT NULL
);
INSERT INTO session_generation (id, value) VALUES (1, 0);

CREATE FUNCTION credential_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE credential_generation SET value = value + 1 WHERE id = 1;
  RETURN NULL;
END $$;

CREATE FUNCTION session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE session_generation SET value = value + 1 WHERE id = 1;
  RETURN NULL;
END $$;

CREATE TRIGGER secrets_credential_changed AFTER UPDATE OF status, expires_at, roles, key_hash, user_id ON secrets
  FOR EACH ROW EXECUTE FUNCTION credential_changed();
CREATE TRIGGER secrets_credential_removed AFTER DELETE ON secrets
  FOR EACH ROW EXECUTE FUNCTION credential_changed();
CREATE TRIGGER users_credential_changed AFTER UPDATE OF status, type, roles, name, email ON users
  FOR EACH ROW EXECUTE FUNCTION credential_changed();
CREATE TRIGGER users_credential_removed AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION credential_changed();
CREATE TRIGGER tenants_changed AFTER UPDATE OF name, billing_details, metadata ON tenants
  FOR EACH ROW EXECUTE FUNCTION credential_changed();

CREATE TRIGGER sessions_credential_changed AFTER UPDATE OF token_hash, tenant_id, user_id, expires_at, revoked_at
  ON sessions FOR EACH ROW EXECUTE FUNCTION session_changed();
-- Removing a session that had already ended changes nothing anyone can use.
CREATE TRIGGER sessions_credential_removed AFTER DELETE ON sessions
  FOR EACH ROW
  WHEN (OLD.revoked_at IS NULL AND OLD.expires_at > to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
  EXECUTE FUNCTION session_changed();
