-- Provider webhook deliveries (SPEC §12) that arrived with a valid signature. Stored once per
-- provider event id, so a provider's retries and replays of a delivery keep a single row.
-- `payload` is the body exactly as signed and received (UTF-8 text), never re-serialised.
CREATE TABLE webhook_events (
  id                TEXT PRIMARY KEY,
  tenant_id         TEXT NOT NULL REFERENCES tenants(id),
  environment_id    TEXT NOT NULL REFERENCES environments(id),
  provider          TEXT NOT NULL,
  provider_event_id TEXT NOT NULL,
  event_type        TEXT NOT NULL,
  payload           TEXT NOT NULL,
  signed_at         TEXT NOT NULL,
  received_at       TEXT NOT NULL,
  UNIQUE (tenant_id, environment_id, provider, provider_event_id)
) STRICT;

-- The list, newest first, within one environment.
CREATE INDEX webhook_events_by_received ON webhook_events (tenant_id, environment_id, received_at, id);

-- What the webhook signing-secret lookup reads when the environment in a delivery's URL has no
-- secret (src/modules/integrations/service.ts, verificationCredential): one row shaped like a
-- real one, so the lookup reads one row either way and a refusal takes the same time whether
-- or not the tenant, the environment or its secret exists. Never decrypted, never listed.
-- Its columns are integration_secrets' own, so the lookup's UNION ALL reads the same shape.
CREATE TABLE integration_secret_stand_in AS SELECT * FROM integration_secrets WHERE 0;
INSERT INTO integration_secret_stand_in VALUES (
  'sec_00000000000000000000000000',
  '00000000-0000-0000-0000-000000000000',
  'env_00000000000000000000000000',
  'stripe',
  'stand-in',
  'v1.00000000.AAAAAAAAAAAAAAAA.' || substr(hex(zeroblob(160)), 1, 240),
  'usr_00000000000000000000000000',
  'user',
  '2000-01-01T00:00:00.000Z',
  '2000-01-01T00:00:00.000Z'
);
