-- Integration signing secrets shared by several instances (SPEC §15).
--
-- Each instance keeps the webhook signing secrets decrypted in memory (integrations/signing.ts),
-- so a delivery is checked without a row read. A secret saved, replaced or deleted through one
-- instance must reach the others: every change to integration_secrets moves a counter of its
-- own and publishes "integration_secrets" on tollgate_changes (017), and each instance reloads
-- its signing secrets when it hears it. The counter is the backstop the instances poll, as for
-- the credential counters. Key caches are left alone: a signing secret is no credential.
CREATE TABLE integration_secret_generation (
  id     integer PRIMARY KEY CHECK (id = 1),
  value  bigint NOT NULL
);
INSERT INTO integration_secret_generation (id, value) VALUES (1, 0);

CREATE FUNCTION integration_secret_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE integration_secret_generation SET value = value + 1 WHERE id = 1;
  PERFORM pg_notify('tollgate_changes', 'integration_secrets');
  RETURN NULL;
END $$;

CREATE TRIGGER integration_secrets_changed AFTER INSERT OR UPDATE OR DELETE ON integration_secrets
  FOR EACH STATEMENT EXECUTE FUNCTION integration_secret_changed();
