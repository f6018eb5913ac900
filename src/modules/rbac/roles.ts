import type { BuiltInRoleId, Role } from "./model";

/** User accounts (people, config keys) have full access; they are shown, and their keys minted, as super_admin. */
export const USER_ACCOUNT_ROLES: BuiltInRoleId[] = ["super_admin"];

/** The roles of SPEC.md §2 and §13, as data. Roles of the operator's come from config (rbac.roles). */
export const BUILT_IN_ROLES: Record<BuiltInRoleId, Role> = {
  super_admin: {
    id: "super_admin",
    name: "Super Admin",
    description: "Full, unrestricted access to every resource; treat its keys as root credentials",
    permissions: { "*": ["*"] },
  },
  event_ingestor: {
    id: "event_ingestor",
    name: "Event Ingestor",
    description: "For services that send events",
    permissions: { event: ["write"] },
  },
  event_reader: {
    id: "event_reader",
    name: "Event Reader",
    description: "For services that read event data",
    permissions: { event: ["read"] },
  },
  key_verifier: {
    id: "key_verifier",
    name: "Key Verifier",
    description: "For services that check their callers' keys with POST /v1/keys/verify; nothing else",
    permissions: { secret: ["verify"] },
  },
};

/**
 * Ids no role of config may take: the built-in roles, and the roles Flexprice gives people
 * (all_writer, all_reader), so that an id means the same thing on every Tollgate.
 */
export const RESERVED_ROLE_IDS: readonly string[] = [...Object.keys(BUILT_IN_ROLES), "all_writer", "all_reader"];
