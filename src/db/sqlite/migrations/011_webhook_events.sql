-- Provider webhook deliveries (SPEC §12) that arrived with a valid signature. Stored once per
-- provider event id, so a provider's retries and replays of a delivery keep a single row.
-- `payload` is the body as signed and received, as UTF-8 text (a leading byte-order mark is not
-- kept), never re-serialised.
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
