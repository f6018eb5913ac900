-- People as the Flexprice API has them since 2026 (SPEC §2, §4): metadata of their own, merged key
-- by key by PUT /v1/users/me; and roles that may be narrower than full access (super_admin,
-- all_writer, all_reader), kept in the roles column every account already has.
ALTER TABLE users ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata));
