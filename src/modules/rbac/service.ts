import { ACTIONS, ENTITIES, type Permission, type Role, type RoleId } from "./model";
import { ROLES } from "./roles";

export type PermissionSet = ReadonlySet<Permission>;

export function isRoleId(id: string): id is RoleId {
  return Object.hasOwn(ROLES, id);
}

export function listRoles(): Role[] {
  return Object.values(ROLES);
}

export function findRole(id: string): Role | undefined {
  return isRoleId(id) ? ROLES[id] : undefined;
}

function expandRole(role: Role): Permission[] {
  const granted: Permission[] = [];
  for (const [entity, actions] of Object.entries(role.permissions)) {
    for (const e of entity === "*" ? ENTITIES : [entity]) {
      for (const a of actions.includes("*") ? ACTIONS : actions) granted.push(`${e}:${a}` as Permission);
    }
  }
  return granted;
}

// Keys and accounts share a handful of role combinations; expand each once.
const expanded = new Map<string, PermissionSet>();

/** The union of the roles' permissions, with wildcards expanded, so a check is one Set lookup. */
export function permissionsOf(roles: readonly string[]): PermissionSet {
  const cacheKey = [...roles].sort().join(",");
  let set = expanded.get(cacheKey);
  if (!set) {
    set = new Set(roles.filter(isRoleId).flatMap((id) => expandRole(ROLES[id])));
    expanded.set(cacheKey, set);
  }
  return set;
}

/** True when every permission of `wanted` is also in `held`: the rule that stops key minting from escalating. */
export function isSubset(wanted: PermissionSet, held: PermissionSet): boolean {
  for (const p of wanted) if (!held.has(p)) return false;
  return true;
}
