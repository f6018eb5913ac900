import type { Config } from "../../config";
import { type AccountType, ACTIONS, type CatalogRole, ENTITIES, type Role } from "./model";
import { BUILT_IN_ROLES } from "./roles";

/**
 * What a set of roles allows: `entity:action` permissions, where `*` stands for any entity or any
 * action. Wildcards over Tollgate's own entities and actions are also written out, so a check
 * for one of its routes is a single Set lookup; any other permission (an operator's `orders:read`)
 * is matched against the wildcards too.
 */
export class Grants {
  static readonly NONE = new Grants([]);
  /** As the roles write them: `orders:read`, `*:*`. */
  readonly #declared: readonly string[];
  /** The same, with wildcards also written out over Tollgate's own entities and actions. */
  readonly #granted: ReadonlySet<string>;

  constructor(declared: Iterable<string>) {
    this.#declared = [...new Set(declared)].sort();
    const granted = new Set(this.#declared);
    for (const permission of this.#declared) {
      const [entity, action] = permission.split(":") as [string, string];
      if (entity !== "*" && action !== "*") continue;
      for (const e of entity === "*" ? ENTITIES : [entity]) {
        for (const a of action === "*" ? ACTIONS : [action]) granted.add(`${e}:${a}`);
      }
    }
    this.#granted = granted;
  }

  allows(permission: string): boolean {
    const granted = this.#granted;
    if (granted.has(permission)) return true;
    const at = permission.indexOf(":");
    return (
      granted.has("*:*") || granted.has(`${permission.slice(0, at)}:*`) || granted.has(`*:${permission.slice(at + 1)}`)
    );
  }

  /** True when everything `wanted` allows is allowed here: the rule that stops a key or account from escalating. */
  covers(wanted: Grants): boolean {
    for (const permission of wanted.#declared) if (!this.allows(permission)) return false;
    return true;
  }

  /** The permissions as the roles write them (`orders:read`, `*:*`), sorted. */
  list(): string[] {
    return [...this.#declared];
  }
}

function shown({ id, name, description, permissions }: CatalogRole): Role {
  return { id, name, description, permissions };
}

function permissionsOfRole(role: Role): string[] {
  return Object.entries(role.permissions).flatMap(([entity, actions]) => actions.map((a) => `${entity}:${a}`));
}

/**
 * The roles of one Tollgate: the built-in ones (SPEC §2, §13) and the operator's own from config
 * (rbac.roles, validated when config loads). Built once per app; keys and accounts name roles by
 * id, and a check turns the ids into Grants, each combination expanded once.
 */
export class RoleCatalog {
  readonly #roles: Map<string, CatalogRole>;
  readonly #grants = new Map<string, Grants>();

  /** Roles of the operator's are for service accounts, as Flexprice's event roles are. */
  constructor(custom: Role[] = []) {
    const mine = custom.map((role): CatalogRole => ({ ...role, assignableTo: ["service_account"] }));
    this.#roles = new Map([...Object.values(BUILT_IN_ROLES), ...mine].map((role) => [role.id, role]));
  }

  has(id: string): boolean {
    return this.#roles.has(id);
  }

  /** The role as the API shows it. */
  find(id: string): Role | undefined {
    const role = this.#roles.get(id);
    return role && shown(role);
  }

  /** Every role, or those an account of `type` may be given (GET /v1/rbac/roles?user_type=). */
  list(type?: AccountType): Role[] {
    return [...this.#roles.values()].filter((role) => !type || role.assignableTo.includes(type)).map(shown);
  }

  /** Whether an account of `type` may be given the role. */
  assignable(id: string, type: AccountType): boolean {
    return this.#roles.get(id)?.assignableTo.includes(type) ?? false;
  }

  /** The union of the roles' permissions; a role that no longer exists (removed from config) grants nothing. */
  grantsOf(roles: readonly string[]): Grants {
    const cacheKey = [...roles].sort().join(",");
    let grants = this.#grants.get(cacheKey);
    if (!grants) {
      grants = new Grants(
        roles.flatMap((id) => (this.#roles.has(id) ? permissionsOfRole(this.#roles.get(id) as Role) : [])),
      );
      this.#grants.set(cacheKey, grants);
    }
    return grants;
  }
}

/** The catalog of a config: the built-in roles and rbac.roles (validated when the config loaded). */
export function roleCatalogOf(config: Pick<Config, "rbac">): RoleCatalog {
  return new RoleCatalog(
    Object.entries(config.rbac.roles).map(([id, role]) => ({
      id,
      name: role.name,
      // Config fills it in; a config built in code (tests, the benchmark) may leave it out.
      description: role.description ?? "",
      permissions: role.permissions,
    })),
  );
}
