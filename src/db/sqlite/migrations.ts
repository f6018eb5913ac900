import type { Migration } from "../schema";

// Imported as text so `bun build --compile` carries every migration inside the executable.
import identity from "./migrations/001_identity.sql" with { type: "text" };
import auditLog from "./migrations/002_audit_log.sql" with { type: "text" };
import events from "./migrations/003_events.sql" with { type: "text" };
import customers from "./migrations/004_customers.sql" with { type: "text" };
import credentialGeneration from "./migrations/005_credential_generation.sql" with { type: "text" };
import rotationAndPortalRevocation from "./migrations/006_rotation_and_portal_revocation.sql" with { type: "text" };
import tenantDetails from "./migrations/007_tenant_details.sql" with { type: "text" };
import customerAddressParent from "./migrations/008_customer_address_parent.sql" with { type: "text" };
import signIn from "./migrations/009_sign_in.sql" with { type: "text" };
import integrationSecrets from "./migrations/010_integration_secrets.sql" with { type: "text" };
import webhookEvents from "./migrations/011_webhook_events.sql" with { type: "text" };
import sessionGeneration from "./migrations/012_session_generation.sql" with { type: "text" };
import listIndexes from "./migrations/013_list_indexes.sql" with { type: "text" };
import people from "./migrations/014_people.sql" with { type: "text" };
import customerContact from "./migrations/015_customer_contact.sql" with { type: "text" };
import leakedKeys from "./migrations/016_leaked_keys.sql" with { type: "text" };
import severalInstances from "./migrations/017_several_instances.sql" with { type: "text" };
import sharedSigningSecrets from "./migrations/018_shared_signing_secrets.sql" with { type: "text" };
import rateLimitsAndCredits from "./migrations/019_rate_limits_and_credits.sql" with { type: "text" };

function migration(name: string, sql: string): Migration {
  return { version: Number.parseInt(name, 10), name, sql };
}

/**
 * In order. A test checks that every file in migrations/ is listed here exactly once. 018 is
 * another change's number, not here yet: a store that has 019 applies 018 when it comes.
 */
export const MIGRATIONS: Migration[] = [
  migration("001_identity", identity),
  migration("002_audit_log", auditLog),
  migration("003_events", events),
  migration("004_customers", customers),
  migration("005_credential_generation", credentialGeneration),
  migration("006_rotation_and_portal_revocation", rotationAndPortalRevocation),
  migration("007_tenant_details", tenantDetails),
  migration("008_customer_address_parent", customerAddressParent),
  migration("009_sign_in", signIn),
  migration("010_integration_secrets", integrationSecrets),
  migration("011_webhook_events", webhookEvents),
  migration("012_session_generation", sessionGeneration),
  migration("013_list_indexes", listIndexes),
  migration("014_people", people),
  migration("015_customer_contact", customerContact),
  migration("016_leaked_keys", leakedKeys),
  migration("017_several_instances", severalInstances),
  migration("018_shared_signing_secrets", sharedSigningSecrets),
  migration("019_rate_limits_and_credits", rateLimitsAndCredits),
];
