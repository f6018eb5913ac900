-- Change notifications (SPEC §15): the triggers that move the credential and session counters
-- (015_baseline) also publish on the channel tollgate_changes, so that every instance on this
-- database drops its caches within milliseconds of the commit, not at its next poll. NOTIFY is
-- transactional: it is delivered on commit, never for a rollback, and PostgreSQL folds identical
-- payloads of one transaction into one, so archiving a tenant with a thousand keys is one
-- notification, not a thousand. The payload says which counter moved: "credentials" (keys,
-- accounts, tenants: every cache built on them) or "sessions" (the session cache alone).
CREATE OR REPLACE FUNCTION credential_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE credential_generation SET value = value + 1 WHERE id = 1;
  PERFORM pg_notify('tollgate_changes', 'credentials');
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE session_generation SET value = value + 1 WHERE id = 1;
  PERFORM pg_notify('tollgate_changes', 'sessions');
  RETURN NULL;
END $$;
