-- Rate limits and credits on keys and service accounts (SPEC §14). One row per owner (a key,
-- sec_…, or a service account, usr_…) and environment: a service account's limits and credits
-- are set per environment, shared by its keys there. Number 018 belongs to another change.
--
-- ratelimits: JSON array of {name, limit, duration_ms, auto_apply}, the owner's own.
-- has_credits = 0: no credits (unlimited); 1 with credits_remaining NULL: unlimited too, as set.
-- refilled_at: the last refill boundary applied, or when credits were set; a refill is applied
-- lazily, on first use after the next boundary, by whoever spends.
-- credits_version moves on every change of the configuration (set, reset, removal), never on a
-- spend: a spend written late (the SQLite ledger flushes once a second) for an older version is
-- dropped, so it cannot undo a reset.
CREATE TABLE limits (
  tenant_id          TEXT NOT NULL REFERENCES tenants(id),
  environment_id     TEXT NOT NULL REFERENCES environments(id),
  owner_id           TEXT NOT NULL,
  ratelimits         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(ratelimits)),
  has_credits        INTEGER NOT NULL DEFAULT 0 CHECK (has_credits IN (0, 1)),
  credits_remaining  INTEGER CHECK (credits_remaining IS NULL OR credits_remaining >= 0),
  refill_interval    TEXT CHECK (refill_interval IN ('daily', 'monthly')),
  refill_amount      INTEGER CHECK (refill_amount IS NULL OR refill_amount >= 0),
  refill_day         INTEGER CHECK (refill_day IS NULL OR refill_day BETWEEN 1 AND 31),
  refilled_at        TEXT,
  credits_version    INTEGER NOT NULL DEFAULT 0,
  updated_at         TEXT NOT NULL,
  PRIMARY KEY (tenant_id, environment_id, owner_id)
) STRICT;

-- Changing the configuration moves the credential counter (005), so every process drops the
-- keys it cached with the old limits. Spending (credits_remaining, refilled_at) does not: that
-- would empty every cache on every request.
CREATE TRIGGER limits_added AFTER INSERT ON limits
BEGIN
  UPDATE credential_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER limits_changed AFTER UPDATE OF ratelimits, has_credits, refill_interval, refill_amount, refill_day, credits_version ON limits
BEGIN
  UPDATE credential_generation SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER limits_removed AFTER DELETE ON limits
BEGIN
  UPDATE credential_generation SET value = value + 1 WHERE id = 1;
END;
