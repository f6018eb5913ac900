-- A counter that every change to a credential bumps, whichever process makes it: the server,
-- `tollgate keys revoke` beside it, a script. A running server keeps verified keys and account
-- profiles in memory; it reads this counter (at most once a millisecond) and drops those
-- caches when it moved, so a key revoked by another process fails on that server too.
-- Triggers, not application code, so no writer can forget it. last_used_at is not a listed
-- column: recording use must not empty the caches.

CREATE TABLE credential_generation (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  value  INTEGER NOT NULL
) STRICT;

INSERT INTO credential_generation (id, value) VALUES (1, 0);

CREATE TRIGGER secrets_credential_changed AFTER UPDATE OF status, expires_at, roles, key_hash, user_id ON secrets
BEGIN
  UPDATE credential_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER secrets_credential_removed AFTER DELETE ON secrets
BEGIN
  UPDATE credential_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER users_credential_changed AFTER UPDATE OF status, type, roles, name, email ON users
BEGIN
  UPDATE credential_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER users_credential_removed AFTER DELETE ON users
BEGIN
  UPDATE credential_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER tenants_renamed AFTER UPDATE OF name ON tenants
BEGIN
  UPDATE credential_generation SET value = value + 1 WHERE id = 1;
END;
