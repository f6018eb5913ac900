-- Sessions get a change counter of their own. Migration 009 had their triggers move the
-- credential generation (migration 005), so every sign-out, password change or set-password
-- emptied every server's API-key cache too, though no key had changed. A server now drops only
-- its session cache when only this counter moved (auth/change-watch.ts).

CREATE TABLE session_generation (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  value  INTEGER NOT NULL
) STRICT;

INSERT INTO session_generation (id, value) VALUES (1, 0);

DROP TRIGGER sessions_credential_changed;
DROP TRIGGER sessions_credential_removed;

CREATE TRIGGER sessions_credential_changed AFTER UPDATE OF token_hash, tenant_id, user_id, expires_at, revoked_at
ON sessions
BEGIN
  UPDATE session_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER sessions_credential_removed AFTER DELETE ON sessions
WHEN OLD.revoked_at IS NULL AND OLD.expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
BEGIN
  UPDATE session_generation SET value = value + 1 WHERE id = 1;
END;
