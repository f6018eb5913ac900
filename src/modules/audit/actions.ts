/**
 * Every kind of audit row Tollgate writes: its action, the type of resource it names, and what a
 * person reads in the dashboard. Services write rows with these constants (recordAudit takes
 * nothing else), so this is the whole list, and the dashboard's action filter is built from it.
 */

/**
 * The resource types, in the order the dashboard lists them: what one of them is called in a
 * sentence ("Any API key action"), and a group of them ("API keys").
 */
export const RESOURCE_TYPES = {
  secret: { one: "API key", many: "API keys" },
  service_account: { one: "service account", many: "Service accounts" },
  user: { one: "user", many: "Users" },
  customer: { one: "customer", many: "Customers" },
  environment: { one: "environment", many: "Environments" },
  tenant: { one: "tenant", many: "Tenant" },
  integration: { one: "integration secret", many: "Integration secrets" },
} as const;

export type ResourceType = keyof typeof RESOURCE_TYPES;

export interface AuditAction {
  /** What a row's `action` says: `secret.created`. */
  readonly name: string;
  readonly resourceType: ResourceType;
  /** What the dashboard shows: "API key created". */
  readonly label: string;
}

/** One resource type's actions, by the verb after the dot. */
function actionsOf<const Labels extends Record<string, string>>(
  resourceType: ResourceType,
  labels: Labels,
): { readonly [Verb in keyof Labels]: AuditAction } {
  return Object.fromEntries(
    Object.entries(labels).map(([verb, label]) => [verb, { name: `${resourceType}.${verb}`, resourceType, label }]),
  ) as { [Verb in keyof Labels]: AuditAction };
}

export const AUDIT = {
  secret: actionsOf("secret", {
    created: "API key created",
    rotated: "API key rotated",
    revoked: "API key revoked",
    verified: "API key verified",
    // SPEC §16: reported leaked (by anyone, GitHub's secret scanning or an operator), and revoked
    // unless the report only warns; then its owner's acknowledgement in the dashboard.
    leaked: "API key reported leaked",
    leak_acknowledged: "Leaked API key acknowledged",
    // SPEC §14: its rate limits or credits set, changed or reset.
    limits_updated: "API key's limits changed",
  }),
  service_account: actionsOf("service_account", {
    created: "Service account created",
    updated: "Service account renamed",
    archived: "Service account archived",
    limits_updated: "Service account's limits changed",
  }),
  user: actionsOf("user", {
    created: "User created",
    updated: "User updated",
    roles_updated: "User's roles changed",
    archived: "User archived",
    invite_link_created: "New invite link made",
    password_reset_link_created: "Password reset link made",
    password_set: "Password set",
    password_changed: "Password changed",
    signed_in: "Signed in",
    sign_in_failed: "Sign-in failed",
    signed_out: "Signed out",
  }),
  customer: actionsOf("customer", {
    created: "Customer created",
    updated: "Customer updated",
    deleted: "Customer deleted",
    portal_session_created: "Portal session opened",
    portal_sessions_revoked: "Portal sessions signed out",
  }),
  environment: actionsOf("environment", {
    created: "Environment created",
    updated: "Environment renamed",
  }),
  tenant: actionsOf("tenant", { updated: "Tenant updated" }),
  // Flexprice's own names for these (integration.create, …), not past tenses.
  integration: actionsOf("integration", {
    create: "Integration secret created",
    update: "Integration secret replaced",
    delete: "Integration secret deleted",
  }),
} as const satisfies Record<ResourceType, Record<string, AuditAction>>;

/** Every action, grouped by resource type in RESOURCE_TYPES' order. */
export const AUDIT_ACTIONS: readonly AuditAction[] = Object.values(AUDIT).flatMap((group) => Object.values(group));

/**
 * Actions that older versions wrote under another name, by that name. Audit rows are
 * append-only, so those rows keep it; a filter by either name finds both (filterNames), and the
 * dashboard labels the old rows as the new action.
 * - `secret.deleted` → `secret.revoked` (issue 26): a revoked key is not deleted. Its API status
 *   stays `deleted`, as Flexprice's does.
 */
const FORMER_NAMES: Readonly<Record<string, AuditAction>> = { "secret.deleted": AUDIT.secret.revoked };

const BY_NAME = new Map<string, AuditAction>([
  ...AUDIT_ACTIONS.map((action) => [action.name, action] as const),
  ...Object.entries(FORMER_NAMES),
]);

/** The action a row's name stands for, under its current name or a former one. */
export function auditActionNamed(name: string): AuditAction | undefined {
  return BY_NAME.get(name);
}

/** The names rows of an action may carry: its own, then its former ones. */
export function filterNames(name: string): string[] {
  const action = BY_NAME.get(name);
  if (!action) return [name];
  const former = Object.keys(FORMER_NAMES).filter((old) => FORMER_NAMES[old] === action);
  return [action.name, ...former];
}

/**
 * `secret.*`, or just `secret` (no action name lacks a dot): every action of one resource type;
 * the type is the first group.
 */
export const ACTION_PREFIX = /^([a-z_]+)(?:\.\*)?$/;

/** The resource type an action filter such as `secret.*` names, when it names one. */
export function resourceTypeOfPrefix(filter: string): ResourceType | undefined {
  const type = ACTION_PREFIX.exec(filter)?.[1];
  return type !== undefined && Object.hasOwn(RESOURCE_TYPES, type) ? (type as ResourceType) : undefined;
}

/** A resource type as a person reads it ("API key", "Service account"); an unknown one as it is. */
export function resourceTypeLabel(type: string): string {
  const one: string | undefined = RESOURCE_TYPES[type as ResourceType]?.one;
  return one ? one[0]?.toUpperCase() + one.slice(1) : type;
}
