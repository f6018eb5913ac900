-- A key is replaced at most once. Rotation records the replacement on the old key, so a second
-- rotation of the same key (a retry, a double click, two operators at once) is refused instead
-- of minting another key that would copy the old key's grace deadline as its expiry. The
-- replacement carries the original expiry; rotating it again keeps that expiry.
ALTER TABLE secrets ADD COLUMN replaced_by TEXT REFERENCES secrets(id);

-- Rotations made before this migration are in the audit log: the replacement's secret.created
-- row names the key it replaced. The earliest replacement wins where a key was rotated twice.
UPDATE secrets SET replaced_by = r.new_id
FROM (
  SELECT json_extract(changes, '$.after.rotated_from') AS old_id, min(resource_id) AS new_id
  FROM audit_logs
  WHERE action = 'secret.created' AND json_extract(changes, '$.after.rotated_from') IS NOT NULL
  GROUP BY old_id
) AS r
WHERE secrets.id = r.old_id;

CREATE UNIQUE INDEX secrets_replaced_by ON secrets (replaced_by) WHERE replaced_by IS NOT NULL;

-- "Sign out everywhere" for a customer's portal sessions. Every portal token carries a session
-- id (jti): a ULID, ordered by the millisecond it was issued and, within one millisecond, by
-- issue order. A token whose jti sorts at or before revoked_through is refused, so a token
-- issued in the same second (or millisecond) just before the revocation fails and one issued
-- just after it works. revoked_at is the same moment as a timestamp, for people.
CREATE TABLE customer_portal_revocations (
  customer_id      TEXT PRIMARY KEY REFERENCES customers(id),
  revoked_through  TEXT NOT NULL,
  revoked_at       TEXT NOT NULL
) STRICT;
