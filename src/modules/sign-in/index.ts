import { Elysia, t } from "elysia";
import type { AppContext } from "../../context";
import { requestIdOf, skipRequestLog } from "../../http";
import { errorResponses } from "../../http/openapi";
import { authPlugin } from "../auth";
import { auditContextOf } from "../audit/context";
import {
  AuthResponseSchema,
  isTooManyAttempts,
  LoginBody,
  PasswordChangeBody,
  type RequestFacts,
  SetPasswordBody,
  SetupBody,
  SignupBody,
} from "./model";
import { changePassword, completeSetPassword } from "./passwords";
import { completeSetup } from "./setup";
import { signIn, signOut, toAuthResponse } from "./sign-in";
import { assertSignupEnabled, signUp } from "./signup";

/** What the sign-in services are told of a request (they never read it themselves). */
export function requestFactsOf(app: AppContext, request: Request): RequestFacts {
  return {
    address: app.authenticator.addressOf(request),
    requestId: requestIdOf(request) ?? null,
    userAgent: request.headers.get("user-agent"),
  };
}

/**
 * SPEC §10 over HTTP: sign-in, sign-out, password change and set, first-person setup, sign-up.
 * The dashboard calls the same services (./sign-in.ts, ./passwords.ts, ./setup.ts, ./signup.ts).
 */
export function signInController(app: AppContext) {
  /**
   * Runs a flow. A refusal of the sign-in limit has no request-log line of its own (the
   * limiter logs one warning per address and email, so a flood cannot fill the log).
   */
  const answer = async <T>(request: Request, flow: () => Promise<T>): Promise<T> => {
    try {
      return await flow();
    } catch (error) {
      if (isTooManyAttempts(error)) skipRequestLog(request);
      throw error;
    }
  };
  /**
   * Runs a flow that a one-time link's token opens: a token that cannot be used (401) is a
   * failed credential check, counted against the address like a bad key (sign-in failures
   * have their own, stricter limit instead).
   */
  const withLink = async <T>(request: Request, flow: () => Promise<T>): Promise<T> => {
    try {
      return await flow();
    } catch (error) {
      throw app.authenticator.refused(error, request);
    }
  };

  return new Elysia({ prefix: "/v1/auth", tags: ["Sign-in"] })
    .use(authPlugin(app))
    .post(
      "/login",
      ({ request, body }) =>
        answer(request, async () => toAuthResponse(await signIn(app, body, requestFactsOf(app, request)))),
      {
        public: true,
        body: LoginBody,
        response: { 200: AuthResponseSchema, ...errorResponses(400, 401, 503) },
        detail: {
          summary: "Sign in with an email and a password; the token is a bearer credential",
          description:
            "Answers `{token, user_id, tenant_id, expires_at}`. Send the token as `Authorization: Bearer <token>` " +
            "on any /v1 route to act as that user account (full access). A wrong email, a wrong password, an " +
            "archived account and an account without a password all answer 401 `Invalid email or password`. " +
            "After 5 failures in 15 minutes for one email (from any address), or 100 from one address on any " +
            "emails (auth.sign_in.max_failures_per_address), attempts are answered 429 with Retry-After until the " +
            "window ends. `token` (Flexprice's hosted sign-in) is accepted and ignored.",
        },
      },
    )
    .post(
      "/logout",
      async ({ principal, request, server, set }) => {
        await signOut(app, principal, await auditContextOf(app, { principal, request, server }));
        set.status = 204;
      },
      {
        authenticated: true,
        response: { 204: t.Void(), ...errorResponses(400, 401, 503) },
        detail: {
          summary: "Sign out: the session this request uses stops working at once",
          description: "A request made with an API key has no session to end: 400.",
        },
      },
    )
    .post(
      "/password",
      async ({ principal, request, server, body, set }) => {
        await answer(request, async () =>
          changePassword(
            app,
            principal,
            await auditContextOf(app, { principal, request, server }),
            body,
            requestFactsOf(app, request),
          ),
        );
        set.status = 204;
      },
      {
        // Any principal: the service refuses a publishable key and every service account's
        // credential with the same answer, whatever its roles (a permission here would answer
        // an event_ingestor "Insufficient permissions" instead).
        authenticated: true,
        body: PasswordChangeBody,
        response: { 204: t.Void(), ...errorResponses(400, 401, 403, 503) },
        detail: {
          summary: "Change your password; every session of your account ends at once",
          description:
            "For any credential of a user account: a session, its private key, a config key. A service account's " +
            "credential, whatever its roles, is a 403 (it has no password), as is a publishable key. A wrong " +
            "`current_password` is a 403 and counts as a failed sign-in (from a session: of that session from " +
            "that address). The new password is 8 to 256 characters.",
        },
      },
    )
    .post(
      "/set-password",
      ({ request, body }) =>
        withLink(request, async () =>
          toAuthResponse(await completeSetPassword(app, body, requestFactsOf(app, request))),
        ),
      {
        public: true,
        body: SetPasswordBody,
        response: { 200: AuthResponseSchema, ...errorResponses(400, 401, 409, 503) },
        detail: {
          summary: "Set a password with a one-time link (an invite's or a reset's), and sign in",
          description:
            "`token` is the one in the `set_password_url` of an invite (7 days) or of POST " +
            "/v1/users/{id}/set-password-link (an invite's 7 days, a reset's 24 hours). It works once; a used, " +
            "expired, replaced or unknown one is a 401. Every other session of the account ends. Answers like login.",
        },
      },
    )
    .post(
      "/setup",
      ({ request, body }) =>
        withLink(request, async () => toAuthResponse(await completeSetup(app, body, requestFactsOf(app, request)))),
      {
        public: true,
        body: SetupBody,
        response: { 200: AuthResponseSchema, ...errorResponses(400, 401, 409, 503) },
        detail: {
          summary: "First-person setup: set the first account's email and password with the printed link",
          description:
            "While no user account has a password, `tollgate serve` prints a one-time link on its console, valid " +
            "for an hour; `token` is the one in it. Sets the email, the password and optionally the name of the " +
            "default tenant's first account (without a name, the placeholder `Default User` becomes the email), " +
            "and answers like login. Once anyone can sign in, no link works.",
        },
      },
    )
    .post(
      "/signup",
      ({ request, body }) =>
        answer(request, async () => toAuthResponse(await signUp(app, body, requestFactsOf(app, request)))),
      {
        public: true,
        // Refused before the body is validated: a disabled route says only that it is disabled.
        transform: () => assertSignupEnabled(app),
        body: SignupBody,
        response: { 200: AuthResponseSchema, ...errorResponses(400, 403, 409, 429, 503) },
        detail: {
          summary: "Sign up: a new tenant and its first user account (off unless auth.signup.enabled)",
          description:
            "Creates a tenant with its Development (default) and Production environments and a user account with " +
            "this email and password, and answers like login. 403 `Sign-up is disabled` unless the server enables " +
            "it. Every attempt counts against the client address's sign-in limit (429 with Retry-After past it). " +
            "`token` and `metadata` (Flexprice's) are accepted and ignored.",
        },
      },
    );
}
