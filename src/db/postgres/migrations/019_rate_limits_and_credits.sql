-- Rate limits and credits on keys and service accounts (SPEC §14): SQLite's 019, in this
-- engine's types; see that file for what each column means. Number 018 belongs to another change.
-- Here credits are spent by one conditional UPDATE each, so several instances share them exactly.
CREATE TABLE limits (
  tenant_id          text COLLATE "C" NOT NULL REFERENCES tenants(id),
  environment_id     text COLLATE "C" NOT NULL REFERENCES environments(id),
  owner_id           text COLLATE "C" NOT NULL,
  ratelimits         text COLLATE "C" NOT NULL DEFAULT '[]' CHECK (ratelimits::jsonb IS NOT NULL),
  has_credits        integer NOT NULL DEFAULT 0 CHECK (has_credits IN (0, 1)),
  credits_remaining  bigint CHECK (credits_remaining IS NULL OR credits_remaining >= 0),
  refill_interval    text COLLATE "C" CHECK (refill_interval IN ('daily', 'monthly')),
  refill_amount      bigint CHECK (refill_amount IS NULL OR refill_amount >= 0),
  refill_day         integer CHECK (refill_day IS NULL OR refill_day BETWEEN 1 AND 31),
  refilled_at        text COLLATE "C",
  credits_version    bigint NOT NULL DEFAULT 0,
  updated_at         text COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, environment_id, owner_id)
);

-- The configuration moves the credential counter (and notifies every instance); a spend does not.
CREATE TRIGGER limits_added AFTER INSERT ON limits
  FOR EACH ROW EXECUTE FUNCTION credential_changed();
CREATE TRIGGER limits_changed AFTER UPDATE OF ratelimits, has_credits, refill_interval, refill_amount, refill_day, credits_version ON limits
  FOR EACH ROW EXECUTE FUNCTION credential_changed();
CREATE TRIGGER limits_removed AFTER DELETE ON limits
  FOR EACH ROW EXECUTE FUNCTION credential_changed();
