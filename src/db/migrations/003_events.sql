-- Usage events. `seq` (the rowid) orders rows by ingestion and breaks ties in keyset pages;
-- `id` is the client's event_id, unique per tenant and environment: the idempotency key.

CREATE TABLE events (
  seq                   INTEGER PRIMARY KEY,
  id                    TEXT NOT NULL,
  tenant_id             TEXT NOT NULL,
  environment_id        TEXT NOT NULL,
  event_name            TEXT NOT NULL,
  external_customer_id  TEXT NOT NULL,
  customer_id           TEXT,
  timestamp             TEXT NOT NULL,
  source                TEXT,
  properties            TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(properties)),
  ingested_at           TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX events_idempotency ON events (tenant_id, environment_id, id);
-- Every read is scoped by tenant and environment and ordered by (timestamp, seq); these cover
-- the unfiltered page, the per-customer page and the per-event-name page and aggregation.
CREATE INDEX events_by_time ON events (tenant_id, environment_id, timestamp, seq);
CREATE INDEX events_by_customer ON events (tenant_id, environment_id, external_customer_id, timestamp, seq);
CREATE INDEX events_by_name ON events (tenant_id, environment_id, event_name, timestamp, seq);
