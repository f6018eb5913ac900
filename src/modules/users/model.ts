import { t } from "elysia";
import { searchBodyFields } from "../../http/filters";
import { Metadata, Name } from "../../http/schemas";
import { paginationBodyFields } from "../../http/pagination";
import type { UserType } from "../auth/model";
import { type TenantRow, TenantSchema } from "../tenants/model";
import { LimitsFields } from "../limits/model";

export interface UserRow {
  id: string;
  tenant_id: string;
  type: UserType;
  name: string;
  email: string | null;
  password_hash: string | null;
  roles: string;
  /** JSON object of string values (PUT /v1/users/me merges into it). */
  metadata: string;
  status: "published" | "archived";
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** An account with its tenant, which every account response shows in full. */
export type UserWithTenantRow = UserRow & { tenant: TenantRow };

export const UserSchema = t.Object(
  {
    id: t.String(),
    type: t.Union([t.Literal("user"), t.Literal("service_account")]),
    name: t.String(),
    email: t.Nullable(t.String()),
    roles: t.Array(t.String()),
    metadata: t.Record(t.String(), t.String()),
    status: t.String(),
    tenant: TenantSchema,
    created_at: t.String(),
    updated_at: t.String(),
    // Tollgate extensions (SPEC §14), on service accounts only: their limits in the caller's environment.
    ratelimits: t.Optional(LimitsFields.ratelimits),
    credits: t.Optional(LimitsFields.credits),
  },
  { title: "User" },
);

export const MeSchema = t.Composite(
  [
    UserSchema,
    t.Object({
      environment_id: t.String(),
      credential: t.Object({
        kind: t.Union([t.Literal("config_key"), t.Literal("api_key"), t.Literal("session")]),
        id: t.String(),
        type: t.String(),
        roles: t.Array(t.String()),
        expires_at: t.Nullable(t.String()),
      }),
    }),
  ],
  { title: "Me" },
);

export const USER_MESSAGES = {
  type: "Type must be 'user' or 'service_account'",
  rolesRequired: "Service accounts must have at least one role assigned",
  invalidRole: (role: string) => `Invalid role: ${role}`,
  serviceAccountEmail: "Service accounts cannot have an email",
  emailRequired: "Email is required for user accounts",
  onePersonRole: "A user account holds exactly one role: super_admin, all_writer or all_reader",
  notAssignable: (role: string, type: string) =>
    `Role '${role}' cannot be assigned to a ${type === "user" ? "user account" : "service account"}`,
  onlyUsersInvite: "Only user accounts can invite users",
  superAdminInvites: "Ask a tenant super_admin to invite this user",
  superAdminSetsRoles: "Only a user account with super_admin can change people's roles",
  ownRoles: "Ask another super_admin to change your roles",
  serviceAccountRoles: "Service account roles are fixed at creation and cannot be changed",
  archivedRoles: "Archived users cannot have their roles updated",
  activeKeys: "Expire this user's existing API keys before changing their role",
  immutable: "Roles and type are immutable; create a new service account instead",
  archived: "Archived accounts cannot be changed",
  alreadyArchived: "Account is already archived",
  deleteSelf: "You cannot delete your own account",
  lastUser: "A tenant must keep at least one user account",
  configKeyUser: "A config key acts as this account; remove the key from the config first",
  emailTaken: "A user with this email already exists",
  superAdminLinks: "Only a user account with super_admin can make set-password links for people",
  ownLink: "Change your own password with your current one (POST /v1/auth/password, or Account in the dashboard)",
  serviceAccountLink: "Service accounts have no password: they use API keys",
  noEmailLink: "This account has no email to sign in with",
  notFound: "User not found",
} as const;

const accountType = t.Union([t.Literal("user"), t.Literal("service_account")], { error: USER_MESSAGES.type });
const displayName = Name();
const roleList = t.Array(t.String({ maxLength: 64 }), { maxItems: 16 });

export const CreateUserBody = t.Object(
  {
    type: accountType,
    name: t.Optional(displayName),
    email: t.Optional(t.String({ maxLength: 320 })),
    roles: t.Optional(roleList),
  },
  { additionalProperties: false },
);

/** `roles` and `type` are accepted by the schema only to be refused with the message SPEC.md fixes. */
export const UpdateUserBody = t.Object(
  {
    name: t.Optional(displayName),
    roles: t.Optional(t.Unknown()),
    type: t.Optional(t.Unknown()),
  },
  { additionalProperties: false },
);

/** PUT /v1/users/me: the caller's own name, and metadata merged key by key (Flexprice's UpdateUserRequest). */
export const UpdateMeBody = t.Object(
  {
    name: t.Optional(displayName),
    metadata: t.Optional(Metadata()),
  },
  { additionalProperties: false },
);

/** PUT /v1/users/{id}/roles: a person's roles, replaced (SPEC §2). */
export const UpdateRolesBody = t.Object(
  { roles: t.Array(t.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 16 }) },
  { additionalProperties: false },
);

/** Flexprice's UserFilter. What each field does: ./search.ts. */
export const SearchUsersBody = t.Object(
  {
    type: t.Optional(accountType),
    user_ids: t.Optional(t.Array(t.String({ maxLength: 64 }), { maxItems: 1000 })),
    roles: t.Optional(roleList),
    status: t.Optional(t.Union([t.Literal("published"), t.Literal("archived"), t.Literal("deleted")])),
    ...searchBodyFields,
    expand: t.Optional(t.String({ maxLength: 255 })),
    ...paginationBodyFields,
  },
  { additionalProperties: false },
);

/**
 * An invited user account also carries its one-time set-password link, shown once (Flexprice
 * answers a plain `password` here; SPEC §10 replaces it with a link the person opens).
 */
export const CreatedUserSchema = t.Composite(
  [
    UserSchema,
    t.Object({
      set_password_url: t.Optional(t.String()),
      set_password_expires_at: t.Optional(t.String()),
    }),
  ],
  { title: "CreatedUser" },
);

/** POST /v1/users/{id}/set-password-link: the person's new one-time link, shown once. */
export const PasswordLinkSchema = t.Object(
  {
    user_id: t.String(),
    kind: t.Union([t.Literal("invite"), t.Literal("reset")]),
    set_password_url: t.String(),
    set_password_expires_at: t.String(),
  },
  { title: "PasswordLink" },
);
