-- What Flexprice keeps on a tenant beside its name: billing details (the address and contacts
-- its invoices carry) and string metadata. billing_details is NULL until set; once set it is a
-- JSON object {email, help_email, phone, address: {address_line1, …}} with null for what is
-- unknown. A tenant's status is always published (Tollgate has no way to archive one), so it
-- is not a column.
ALTER TABLE tenants ADD COLUMN billing_details TEXT
  CHECK (billing_details IS NULL OR (json_valid(billing_details) AND json_type(billing_details) = 'object'));
ALTER TABLE tenants ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}'
  CHECK (json_valid(metadata) AND json_type(metadata) = 'object');

-- Every account profile shows its tenant, and a running server caches profiles: a change to
-- any of the tenant's shown columns, by any process, bumps the credential generation so those
-- caches are dropped (migration 005 did this for the name alone).
DROP TRIGGER tenants_renamed;

CREATE TRIGGER tenants_changed AFTER UPDATE OF name, billing_details, metadata ON tenants
BEGIN
  UPDATE credential_generation SET value = value + 1 WHERE id = 1;
END;
