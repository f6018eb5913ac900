-- Tenants, their environments, the accounts that act in them, and the API keys (secrets)
-- those accounts hold. Timestamps are RFC 3339 UTC strings, so they sort as text.

CREATE TABLE tenants (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE environments (
  id          TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL REFERENCES tenants(id),
  name        TEXT NOT NULL,
  type        TEXT NOT NULL CHECK (type IN ('development', 'production')),
  is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  UNIQUE (tenant_id, name)
) STRICT;

-- Exactly one default environment per tenant: the one config keys land in without X-Environment-ID.
CREATE UNIQUE INDEX environments_one_default ON environments (tenant_id) WHERE is_default = 1;

CREATE TABLE users (
  id             TEXT PRIMARY KEY,
  tenant_id      TEXT NOT NULL REFERENCES tenants(id),
  type           TEXT NOT NULL CHECK (type IN ('user', 'service_account')),
  name           TEXT NOT NULL,
  email          TEXT,
  password_hash  TEXT,
  roles          TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(roles)),
  status         TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'archived')),
  created_by     TEXT,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  CHECK (type = 'user' OR email IS NULL)
) STRICT;

CREATE INDEX users_by_tenant ON users (tenant_id, type, status, created_at);
CREATE UNIQUE INDEX users_email_per_tenant ON users (tenant_id, lower(email)) WHERE email IS NOT NULL;

-- One row per issued key. Only the SHA-256 of the key is kept; the key itself is shown once.
-- roles are copied from the owner at creation and never change afterwards.
CREATE TABLE secrets (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id),
  environment_id  TEXT NOT NULL REFERENCES environments(id),
  user_id         TEXT NOT NULL REFERENCES users(id),
  created_by      TEXT,
  name            TEXT NOT NULL,
  description     TEXT,
  type            TEXT NOT NULL CHECK (type IN ('private_key', 'publishable_key')),
  provider        TEXT NOT NULL DEFAULT 'flexprice',
  key_hash        TEXT NOT NULL UNIQUE CHECK (length(key_hash) = 64),
  display_id      TEXT NOT NULL,
  roles           TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(roles)),
  status          TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'archived', 'deleted')),
  expires_at      TEXT,
  last_used_at    TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
) STRICT;

CREATE INDEX secrets_by_environment ON secrets (tenant_id, environment_id, status, created_at);
CREATE INDEX secrets_by_owner ON secrets (user_id, status);
