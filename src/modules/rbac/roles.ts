import type { BuiltInRoleId, CatalogRole } from "./model";

/**
 * Config keys act as a person with full access; a person invited without a role gets it too.
 * Their keys are minted, and they are shown, as super_admin.
 */
export const USER_ACCOUNT_ROLES: BuiltInRoleId[] = ["super_admin"];

/** The roles a person may hold (SPEC §2, as the Flexprice API since August 2026): exactly one. */
export const PEOPLE_ROLES: readonly BuiltInRoleId[] = ["super_admin", "all_writer", "all_reader"];

/** The roles of SPEC.md §2 and §13, as data. Roles of the operator's come from config (rbac.roles). */
export const BUILT_IN_ROLES: Record<BuiltInRoleId, CatalogRole> = {
  super_admin: {
    id: "super_admin",
    name: "Super Admin",
    description: "Full, unrestricted access to every resource; treat its keys as root credentials",
    permissions: { "*": ["*"] },
    assignableTo: ["user", "service_account"],
  },
  all_writer: {
    id: "all_writer",
    name: "All Writer",
    description: "Reads and changes every resource, but cannot change people's roles or invite people",
    permissions: { "*": ["read", "write"] },
    assignableTo: ["user"],
  },
  all_reader: {
    id: "all_reader",
    name: "All Reader",
    description: "Reads every resource and changes nothing",
    permissions: { "*": ["read"] },
    assignableTo: ["user"],
  },
  event_ingestor: {
    id: "event_ingestor",
    name: "Event Ingestor",
    description: "For services that send events",
    permissions: { event: ["write"] },
    assignableTo: ["service_account"],
  },
  event_reader: {
    id: "event_reader",
    name: "Event Reader",
    description: "For services that read event data",
    permissions: { event: ["read"] },
    assignableTo: ["service_account"],
  },
  key_verifier: {
    id: "key_verifier",
    name: "Key Verifier",
    description: "For services that check their callers' keys with POST /v1/keys/verify; nothing else",
    permissions: { secret: ["verify"] },
    assignableTo: ["service_account"],
  },
};

/** Ids no role of config may take: the built-in roles, so that an id means the same thing on every Tollgate. */
export const RESERVED_ROLE_IDS: readonly string[] = Object.keys(BUILT_IN_ROLES);
