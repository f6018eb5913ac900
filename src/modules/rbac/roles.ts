import type { Role, RoleId } from "./model";

/** User accounts (people, config keys) have full access; they are shown, and their keys minted, as super_admin. */
export const USER_ACCOUNT_ROLES: RoleId[] = ["super_admin"];

/** The roles of SPEC.md §2, as data. Adding a role is adding an entry here. */
export const ROLES: Record<RoleId, Role> = {
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
};
