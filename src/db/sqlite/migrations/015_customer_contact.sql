-- Customer fields of the current Flexprice API (issue 25): a contact (a phone number or the
-- like), the customer's time zone (IANA, default UTC), and the onboarding workflow fields,
-- which Tollgate stores and returns but runs no workflow for.
ALTER TABLE customers ADD COLUMN contact TEXT;
ALTER TABLE customers ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE customers ADD COLUMN onboarding_workflow_name TEXT;
ALTER TABLE customers ADD COLUMN skip_onboarding_workflow INTEGER NOT NULL DEFAULT 0 CHECK (skip_onboarding_workflow IN (0, 1));
