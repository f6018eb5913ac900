-- Several instances on one database (SPEC §15).
--
-- Change notifications: the triggers that move the credential and session counters
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

-- Sign-in failures per email (SPEC §10: 5 in 15 minutes), counted here rather than in each
-- instance's memory, so that a guesser spreading attempts over several instances gets no more
-- (sessions/stored-email-limit.ts). A window starts at its first failure; times are the
-- server's clock in milliseconds. Attempts in flight count too, each a row until it finishes,
-- so a burst on several instances at once cannot outrun the limit; a row left by an instance
-- that died mid-attempt stops counting after a minute.
CREATE TABLE sign_in_email_failures (
  email_sha256       text COLLATE "C" PRIMARY KEY,
  window_started_at  bigint NOT NULL,
  failures           integer NOT NULL
);
CREATE INDEX sign_in_email_failures_by_start ON sign_in_email_failures (window_started_at);

CREATE TABLE sign_in_email_attempts (
  id            text COLLATE "C" PRIMARY KEY,
  email_sha256  text COLLATE "C" NOT NULL,
  began_at      bigint NOT NULL
);
CREATE INDEX sign_in_email_attempts_by_email ON sign_in_email_attempts (email_sha256, began_at);
