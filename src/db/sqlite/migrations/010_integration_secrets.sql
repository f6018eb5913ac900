-- Integration secrets (SPEC §12): one provider's credentials per environment, sealed with
-- AES-256-GCM under a master key kept outside the database (src/modules/integrations/cipher.ts).
-- `credentials` holds only the sealed JSON object; no credential is stored in clear anywhere.
CREATE TABLE integration_secrets (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id),
  environment_id  TEXT NOT NULL REFERENCES environments(id),
  provider        TEXT NOT NULL,
  name            TEXT NOT NULL,
  credentials     TEXT NOT NULL,
  created_by      TEXT,
  created_by_type TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  UNIQUE (tenant_id, environment_id, provider)
);
