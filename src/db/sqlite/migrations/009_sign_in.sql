-- People sign in (SPEC §10): a user account's password (users.password_hash, argon2id, since
-- 001), sessions, and one-time links that set a password.

-- Until now the only passwords were the one-time passwords POST /v1/users generated for an
-- invited user account and showed to whoever invited it. Nothing could sign in with them, and
-- the inviter knows them; invites now get a set-password link instead, so they are dropped.
UPDATE users SET password_hash = NULL WHERE password_hash IS NOT NULL;

-- Sign-in is by email alone (Flexprice's login has no tenant), so an email signs in to at most
-- one account: among live user accounts that have a password, emails are unique in any letter
-- case, across tenants. Accounts without a password (invited, not yet set) may share one.
CREATE UNIQUE INDEX users_sign_in_email ON users (lower(email))
  WHERE password_hash IS NOT NULL AND status = 'published' AND type = 'user';
CREATE INDEX users_by_email ON users (lower(email)) WHERE email IS NOT NULL;

-- A signed-in person's session: only the SHA-256 of its opaque token is kept. A session ends
-- at expires_at, or earlier when revoked_at is set (sign-out, a password change, archiving).
CREATE TABLE sessions (
  id          TEXT PRIMARY KEY,
  token_hash  TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
  tenant_id   TEXT NOT NULL REFERENCES tenants(id),
  user_id     TEXT NOT NULL REFERENCES users(id),
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  revoked_at  TEXT
) STRICT;

CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id, revoked_at);

-- A running server caches verified sessions as it caches keys: any change to one, by whatever
-- process, moves the credential generation (migration 005) so every server drops its caches.
-- Removing a session that had already ended changes nothing anyone can use.
CREATE TRIGGER sessions_credential_changed AFTER UPDATE OF token_hash, tenant_id, user_id, expires_at, revoked_at
ON sessions
BEGIN
  UPDATE credential_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER sessions_credential_removed AFTER DELETE ON sessions
WHEN OLD.revoked_at IS NULL AND OLD.expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
BEGIN
  UPDATE credential_generation SET value = value + 1 WHERE id = 1;
END;

-- One-time links that set an account's password: `setup` for the first person (printed by
-- `tollgate serve`), `set_password` for an invited user account. Only the SHA-256 of the
-- token is kept; a link works once (used_at), until expires_at.
CREATE TABLE password_tokens (
  id          TEXT PRIMARY KEY,
  token_hash  TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
  purpose     TEXT NOT NULL CHECK (purpose IN ('setup', 'set_password')),
  tenant_id   TEXT NOT NULL REFERENCES tenants(id),
  user_id     TEXT NOT NULL REFERENCES users(id),
  created_by  TEXT,
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  used_at     TEXT
) STRICT;

CREATE INDEX password_tokens_by_user ON password_tokens (tenant_id, user_id);
