import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { notFound } from "../../http/errors";
import { errorResponses } from "../../http/openapi";
import { publicBaseUrl } from "../../http/urls";
import { ListSchema, listOf, pageOf } from "../../http/pagination";
import { authPlugin } from "../auth";
import { auditContextOf } from "../audit/context";
import {
  CreatedUserSchema,
  CreateUserBody,
  MeSchema,
  PasswordLinkSchema,
  SearchUsersBody,
  UpdateMeBody,
  UpdateRolesBody,
  UpdateUserBody,
  UserSchema,
} from "./model";
import { getTenant } from "../tenants/service";
import { passwordLinkUrl } from "../sessions/store";
import { issuePersonLink } from "./password-links";
import { searchAccounts } from "./search";
import { accountsWithLimits, accountWithLimits, setAccountLimits, toAccountResponse } from "./limits";
import { LimitsBody, NO_LIMITS } from "../limits/model";
import {
  archiveAccount,
  createAccount,
  describeMe,
  getAccount,
  renameAccount,
  setPersonRoles,
  toUserResponse,
  updateMe,
} from "./service";

const IdParams = t.Object({ id: t.String() });

export function usersController(app: AppContext) {
  return new Elysia({ prefix: "/v1/users", tags: ["Users"] })
    .use(authPlugin(app))
    .get(
      "/me",
      async ({ principal }) => {
        const profile = await app.profiles.get(app.db, principal.tenantId, principal.userId);
        if (!profile) throw notFound("User not found");
        return describeMe(profile, principal);
      },
      {
        authenticated: true,
        response: { 200: MeSchema, ...errorResponses(401, 403) },
        detail: { summary: "The calling account, its environment and the credential it used" },
      },
    )
    .put(
      "/me",
      async ({ principal, request, server, body }) =>
        toUserResponse(await updateMe(app, principal, await auditContextOf(app, { principal, request, server }), body)),
      {
        permission: "user:write",
        body: UpdateMeBody,
        response: { 200: UserSchema, ...errorResponses(400, 401, 403, 503) },
        detail: {
          summary: "Change the calling account's own name, and merge keys into its metadata",
          description:
            "A key sent replaces that key; keys not sent stay (as the Flexprice API). A name, when sent, is 1 to 255 " +
            "characters (Flexprice leaves a blank one as it was; Tollgate refuses it, as it does on PUT /v1/users/{id}).",
        },
      },
    )
    .put(
      "/:id/roles",
      async ({ principal, request, server, params, body }) =>
        toUserResponse(
          await setPersonRoles(
            app,
            principal,
            await auditContextOf(app, { principal, request, server }),
            params.id,
            body.roles,
          ),
        ),
      {
        permission: "user:write",
        params: IdParams,
        body: UpdateRolesBody,
        response: { 200: UserSchema, ...errorResponses(400, 401, 403, 404, 503) },
        detail: {
          summary: "Change a person's role: super_admin, all_writer or all_reader",
          description:
            "Only a person with super_admin, never for themselves; a service account's roles are fixed at creation " +
            "(400). Refused while the person has live API keys: a key keeps the roles it was made with.",
        },
      },
    )
    .post(
      "/:id/set-password-link",
      async ({ principal, request, server, params, set }) => {
        const link = await issuePersonLink(
          app,
          principal,
          await auditContextOf(app, { principal, request, server }),
          params.id,
        );
        set.status = 201;
        return {
          user_id: link.account.id,
          kind: link.kind,
          // On server.public_url, as the invite's link (see below).
          set_password_url: passwordLinkUrl(publicBaseUrl(app.config, server?.port), "set_password", link.token),
          set_password_expires_at: link.expiresAt,
        };
      },
      {
        permission: "user:write",
        params: IdParams,
        response: { 201: PasswordLinkSchema, ...errorResponses(400, 401, 403, 404, 503) },
        detail: {
          summary: "A new one-time set-password link for a person: a new invite link, or a password reset link",
          description:
            "Only a person with super_admin, for another person of the tenant (never a service account, an archived " +
            "account, or yourself: change your own with POST /v1/auth/password). `kind` is `invite` while the " +
            "person has never set a password (the link works for 7 days) and `reset` after (24 hours). It " +
            "replaces the person's earlier unused link; their password keeps working until the link is used, and " +
            "using it (POST /v1/auth/set-password) ends every session of theirs. Shown in this response only.",
        },
      },
    )
    .post(
      "",
      async ({ principal, request, server, body, set }) => {
        const { row, setPassword } = await createAccount(
          app,
          principal,
          await auditContextOf(app, { principal, request, server }),
          body,
        );
        set.status = 201;
        // A new service account has no limits yet; it shows them as every service account response does.
        if (setPassword === undefined) return toAccountResponse(row, NO_LIMITS);
        // On server.public_url, never on the request's Host header: whoever sends the request
        // chooses that, and the link goes to someone else.
        return {
          ...toUserResponse(row),
          set_password_url: passwordLinkUrl(publicBaseUrl(app.config, server?.port), "set_password", setPassword.token),
          set_password_expires_at: setPassword.expiresAt,
        };
      },
      {
        permission: "user:write",
        body: CreateUserBody,
        response: { 201: CreatedUserSchema, ...errorResponses(400, 401, 403, 409, 503) },
        detail: {
          summary: "Create a service account with roles, or invite a user account",
          description:
            "An invited user account gets a one-time link to set its password (`set_password_url`, valid until " +
            "`set_password_expires_at`, 7 days), in this response and nowhere else; the account cannot sign in " +
            "until it is used. The link leads to the dashboard's page; POST /v1/auth/set-password takes its token.",
        },
      },
    )
    .post(
      "/search",
      async ({ principal, body }) => {
        const page = pageOf(body);
        const { limit: _limit, offset: _offset, ...filters } = body;
        const { rows, total } = await searchAccounts(app.reads, principal.tenantId, filters, page);
        // Every account found is of the caller's tenant: read it once for all of them.
        const tenant = await getTenant(app.db, principal.tenantId);
        const accounts = rows.map((row) => ({ ...row, tenant }));
        await app.credits.flush();
        return listOf(
          await accountsWithLimits(app.db, principal.tenantId, principal.environmentId, accounts),
          total,
          page,
        );
      },
      {
        permission: "user:read",
        body: SearchUsersBody,
        response: { 200: ListSchema(UserSchema, "UserList"), ...errorResponses(400, 401, 403) },
        detail: {
          summary: "Find accounts by type, id, role, status, creation time or filter conditions",
          description:
            "Flexprice's UserFilter. `sort` and `filters` name fields among created_at, updated_at, name, email, " +
            "type, status and id; a field, operator or expansion that cannot be applied is a 400 naming it, never " +
            'ignored. `start_time`/`end_time` bound created_at, both ends included. `status: "deleted"` matches ' +
            "no account (accounts are archived, never deleted).",
        },
      },
    )
    .get(
      "/:id",
      async ({ principal, params }) => {
        await app.credits.flush();
        return accountWithLimits(
          app.db,
          principal.tenantId,
          principal.environmentId,
          await getAccount(app.db, principal.tenantId, params.id),
        );
      },
      {
        permission: "user:read",
        params: IdParams,
        response: { 200: UserSchema, ...errorResponses(401, 403, 404) },
        detail: { summary: "One account, archived ones included" },
      },
    )
    .put(
      "/:id",
      async ({ principal, request, server, params, body }) =>
        accountWithLimits(
          app.db,
          principal.tenantId,
          principal.environmentId,
          await renameAccount(
            app,
            principal,
            await auditContextOf(app, { principal, request, server }),
            params.id,
            body,
          ),
        ),
      {
        permission: "user:write",
        params: IdParams,
        body: UpdateUserBody,
        response: { 200: UserSchema, ...errorResponses(400, 401, 403, 404, 503) },
        detail: {
          summary: "Rename an account (the name is the only thing that changes)",
          description: "A user account (a person) is renamed only by a user account; a service account gets a 403.",
        },
      },
    )
    .put(
      "/:id/limits",
      async ({ principal, request, server, params, body }) => {
        await app.credits.flush();
        return setAccountLimits(
          app,
          principal,
          await auditContextOf(app, { principal, request, server }),
          params.id,
          body,
        );
      },
      {
        permission: "user:write",
        params: IdParams,
        body: LimitsBody,
        response: { 200: UserSchema, ...errorResponses(400, 401, 403, 404, 503) },
        detail: {
          summary: "Set a service account's rate limits and credits in this environment (Tollgate extension)",
          description:
            "Shared by the account's keys in the caller's environment; a key's own limit of the same name wins, and " +
            "a key with credits of its own spends those, one without spends the account's. A field present replaces that part; " +
            "`credits: null` removes them. A person's account is not limited (400).",
        },
      },
    )
    .delete(
      "/:id",
      async ({ principal, request, server, params, set }) => {
        await archiveAccount(app, principal, await auditContextOf(app, { principal, request, server }), params.id);
        set.status = 204;
      },
      {
        permission: "user:write",
        params: IdParams,
        response: { 204: t.Void(), ...errorResponses(400, 401, 403, 404, 503) },
        detail: {
          summary: "Archive an account; every key it holds stops working at once",
          description: "A user account (a person) is archived only by a user account; a service account gets a 403.",
        },
      },
    );
}
