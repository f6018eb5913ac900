import { t } from "elysia";
import { ApiError, type ErrorCode } from "../../http/errors";
import { EMAIL_PATTERN, Name } from "../../http/schemas";
import { characterCountPattern, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, PASSWORD_RULE } from "../sessions/passwords";

/** Every way a sign-in flow can refuse; each maps to one status and message (SPEC §10 where it fixes them). */
export enum SignInOutcome {
  /** A wrong email or password, an archived account, an account without a password: one answer. */
  InvalidCredentials = "invalid_credentials",
  TooManyAttempts = "too_many_attempts",
  SignupDisabled = "signup_disabled",
  SetupLinkInvalid = "setup_link_invalid",
  SetPasswordLinkInvalid = "set_password_link_invalid",
  CurrentPasswordWrong = "current_password_wrong",
  NotAPerson = "not_a_person",
  NoPasswordYet = "no_password_yet",
  NoSession = "no_session",
  EmailSignsInElsewhere = "email_signs_in_elsewhere",
  EmailTaken = "email_taken",
  /** `tollgate users create` for an email whose account already has a password. */
  AccountHasPassword = "account_has_password",
  /** `tollgate users create` for an email whose account is archived. */
  AccountArchived = "account_archived",
}

export const SIGN_IN_RESPONSES: Record<SignInOutcome, { status: number; code: ErrorCode; message: string }> = {
  [SignInOutcome.InvalidCredentials]: {
    status: 401,
    code: "permission_denied",
    message: "Invalid email or password",
  },
  [SignInOutcome.TooManyAttempts]: {
    status: 429,
    code: "too_many_requests",
    message: "Too many sign-in attempts; try again later",
  },
  [SignInOutcome.SignupDisabled]: { status: 403, code: "permission_denied", message: "Sign-up is disabled" },
  [SignInOutcome.SetupLinkInvalid]: {
    status: 401,
    code: "permission_denied",
    message: "Invalid or expired setup link",
  },
  [SignInOutcome.SetPasswordLinkInvalid]: {
    status: 401,
    code: "permission_denied",
    message: "Invalid or expired set-password link",
  },
  [SignInOutcome.CurrentPasswordWrong]: {
    status: 403,
    code: "permission_denied",
    message: "Current password is incorrect",
  },
  [SignInOutcome.NotAPerson]: {
    status: 403,
    code: "permission_denied",
    message: "Service accounts have no password: only user accounts sign in",
  },
  [SignInOutcome.NoPasswordYet]: {
    status: 400,
    code: "invalid_operation",
    message: "This account has no password yet: set one with its set-password link",
  },
  [SignInOutcome.NoSession]: {
    status: 400,
    code: "invalid_operation",
    message: "Sign-out ends a session; this request did not use one",
  },
  [SignInOutcome.EmailSignsInElsewhere]: {
    status: 409,
    code: "already_exists",
    message: "This email already signs in to another account",
  },
  [SignInOutcome.EmailTaken]: { status: 409, code: "already_exists", message: "A user with this email already exists" },
  [SignInOutcome.AccountHasPassword]: {
    status: 409,
    code: "already_exists",
    message: "This account already has a password; it signs in with it",
  },
  [SignInOutcome.AccountArchived]: { status: 400, code: "invalid_operation", message: "This account is archived" },
};

export function signInRefused(outcome: SignInOutcome, details?: Record<string, unknown>): ApiError {
  const { status, code, message } = SIGN_IN_RESPONSES[outcome];
  return new ApiError(status, code, message, details, outcome);
}

export function tooManyAttempts(retryAfterSeconds: number): ApiError {
  return signInRefused(SignInOutcome.TooManyAttempts, { retry_after_seconds: retryAfterSeconds });
}

export function isTooManyAttempts(error: unknown): boolean {
  return error instanceof ApiError && error.reason === SignInOutcome.TooManyAttempts;
}

/**
 * What a sign-in flow knows of the request it answers, gathered by whoever received it (the
 * API controller, the dashboard): services never read headers.
 */
export interface RequestFacts {
  /** The client address, as the limits count it (null: unknown). Also the audit row's `ip`. */
  address: string | null;
  requestId: string | null;
  userAgent: string | null;
}

export const EMAIL_RULE = "must be a valid email address";

/**
 * A password of `min` to 256 characters, counted as code points (the pattern); minLength and
 * maxLength, in UTF-16 units, only bound it cheaply first.
 */
const PasswordText = (min: number, error?: string) =>
  t.String({
    minLength: min,
    maxLength: 2 * PASSWORD_MAX_LENGTH,
    pattern: characterCountPattern(min, PASSWORD_MAX_LENGTH),
    ...(error ? { error } : {}),
  });
/** A password being chosen: the 8 to 256 rule. */
const Password = () => PasswordText(PASSWORD_MIN_LENGTH, PASSWORD_RULE);
const Email = () => t.String({ maxLength: 320, pattern: EMAIL_PATTERN, error: EMAIL_RULE });
/** A link's token: checked for its form by the service, which answers a bad one like an unknown one. */
const LinkToken = () => t.String({ maxLength: 200 });

export const LoginBody = t.Object(
  {
    // Any text: what is not an email is simply not a known one (401, counted), as Flexprice's
    // own check would only add a way to tell the two apart.
    email: t.String({ minLength: 1, maxLength: 320 }),
    // Checked against the hash whatever its length (up to the most a password may have).
    password: PasswordText(1),
    // Flexprice's hosted sign-in token: accepted and ignored; Tollgate signs in with passwords.
    token: t.Optional(t.String({ maxLength: 8192 })),
  },
  { additionalProperties: false },
);

export const PasswordChangeBody = t.Object(
  {
    current_password: PasswordText(1),
    new_password: Password(),
  },
  { additionalProperties: false },
);

export const SetupBody = t.Object(
  {
    token: LinkToken(),
    email: Email(),
    password: Password(),
    /** The account's display name (default: kept as it is; the placeholder `Default User` becomes the email). */
    name: t.Optional(Name()),
  },
  { additionalProperties: false },
);

export const SetPasswordBody = t.Object({ token: LinkToken(), password: Password() }, { additionalProperties: false });

export const SignupBody = t.Object(
  {
    email: Email(),
    password: Password(),
    /** The new tenant's name (default: the email). */
    tenant_name: t.Optional(Name()),
    // Flexprice's hosted sign-in token and user metadata: accepted and ignored.
    token: t.Optional(t.String({ maxLength: 8192 })),
    metadata: t.Optional(t.Record(t.String({ maxLength: 255 }), t.String({ maxLength: 4096 }), { maxProperties: 50 })),
  },
  { additionalProperties: false },
);

/** Flexprice's AuthResponse, plus when the session ends. */
export const AuthResponseSchema = t.Object(
  {
    token: t.String(),
    user_id: t.String(),
    tenant_id: t.String(),
    expires_at: t.String(),
  },
  { title: "AuthResponse" },
);
