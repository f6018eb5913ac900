import { DEFAULT_TENANT_ID } from "../config";
import { ApiError } from "../http/errors";
import { EMAIL_PATTERN, isName, NAME_RULE } from "../http/schemas";
import { publicBaseUrl } from "../http/urls";
import { passwordLinkUrl } from "../modules/sessions/store";
import { defaultHasher, isValidPassword, PASSWORD_RULE } from "../modules/sessions/passwords";
import { EMAIL_RULE, SignInOutcome } from "../modules/sign-in/model";
import { createOperatorPerson, issueOperatorLink } from "../modules/sign-in/operator";
import type { PersonLink } from "../modules/users/password-links";
import { type CommandSpec, checkedOption, type ParsedCommand, UsageError } from "./args";
import { CONFIG_OPTION, configFrom } from "./config-option";
import { tenantOption } from "./keys";
import { CommandError, withWritableStore } from "./store";

const EMAIL = new RegExp(EMAIL_PATTERN);

export const usersCreate: CommandSpec = {
  name: "users create",
  usage: `Usage: tollgate users create --email <email> [options]

Create a user account (a person) that signs in with this email and a password. The password is
read from stdin (one line), or asked for twice when stdin is a terminal; it is never an argument.
An invited account of that email without a password yet gets this one. Works while the server runs.

  --email <email>        the email the person signs in with
  --tenant <id>          tenant (default: ${DEFAULT_TENANT_ID}; created, with its environments, if it does not exist)
  --name <name>          display name (default: the email)
${CONFIG_OPTION}`,
  options: { config: "string", email: "string", tenant: "string", name: "string" },
};

export async function runUsersCreate(parsed: ParsedCommand): Promise<number> {
  const usage = (message: string) => new UsageError(message, usersCreate.usage);
  const email = checkedOption(
    usersCreate,
    parsed,
    "email",
    (v) => v.length <= 320 && EMAIL.test(v.trim()),
    EMAIL_RULE,
  )?.trim();
  if (email === undefined) throw usage("--email is required.");
  const tenantId = tenantOption(usersCreate, parsed) ?? DEFAULT_TENANT_ID;
  const name = checkedOption(usersCreate, parsed, "name", isName, NAME_RULE);
  const config = configFrom(parsed);
  const password = await readPassword();
  if (!isValidPassword(password)) throw usage(`The password ${PASSWORD_RULE}.`);
  const passwordHash = await defaultHasher.hash(password);
  let result: Awaited<ReturnType<typeof createOperatorPerson>>;
  try {
    result = await withWritableStore(
      config,
      async (db) => await createOperatorPerson(db, { tenantId, email, name, passwordHash }),
    );
  } catch (err) {
    if (err instanceof ApiError) {
      // A lost password is the likely reason to run this for an account that has one: say the way.
      const hint =
        err.reason === SignInOutcome.AccountHasPassword
          ? `\nTo give it a new password: tollgate users reset-password --email ${email}`
          : "";
      throw new CommandError(`${err.message}${which(err.details)}.${hint}`);
    }
    throw err;
  }
  const { account, created } = result;
  console.log(
    `${created ? "Created user account" : "Set the password of user account"} ${account.id} (${account.email}) in tenant ${tenantId}; it signs in with this email and password.`,
  );
  return 0;
}

export const usersResetPassword: CommandSpec = {
  name: "users reset-password",
  usage: `Usage: tollgate users reset-password --email <email> [options]

Print a one-time link that sets a new password for the user account of this email: the way back
in for a person who lost theirs, the only admin included. The link works once, for 24 hours (for
someone who never set a password, it is a new invite link: 7 days), and replaces the account's
earlier link. The current password keeps working until the link is used; then every session of
the account ends. Built on server.public_url (else the address the server listens on). Audited.
Works while the server runs.

  --email <email>        the email the person signs in with
  --tenant <id>          the tenant of the account (default: the account this email signs in to,
                         or the only one that has it)
${CONFIG_OPTION}`,
  options: { config: "string", email: "string", tenant: "string" },
};

export async function runUsersResetPassword(parsed: ParsedCommand): Promise<number> {
  const email = checkedOption(
    usersResetPassword,
    parsed,
    "email",
    (v) => v.length <= 320 && EMAIL.test(v.trim()),
    EMAIL_RULE,
  )?.trim();
  if (email === undefined) throw new UsageError("--email is required.", usersResetPassword.usage);
  const tenantId = tenantOption(usersResetPassword, parsed);
  const config = configFrom(parsed);
  let link: PersonLink;
  try {
    link = await withWritableStore(config, async (db) => await issueOperatorLink(db, { email, tenantId }));
  } catch (err) {
    if (err instanceof ApiError) throw new CommandError(`${err.message}${which(err.details)}. Nothing was changed.`);
    throw err;
  }
  const { account } = link;
  const url = passwordLinkUrl(publicBaseUrl(config), "set_password", link.token);
  const lasts = link.kind === "reset" ? "24 hours" : "7 days";
  console.log(
    [
      link.kind === "reset"
        ? `A password reset link for user account ${account.id} (${account.email}) in tenant ${account.tenant_id}.`
        : `A new invite link for user account ${account.id} (${account.email}) in tenant ${account.tenant_id}: it has no password yet.`,
      `Open it to choose a new password (it works once, for ${lasts}, until ${link.expiresAt}):`,
      "",
      `  ${url}`,
      "",
      link.kind === "reset"
        ? "The current password keeps working until the link is used; then every session of the account ends."
        : "It replaces the link sent before.",
    ].join("\n"),
  );
  return 0;
}

/** " (user account usr_…, a@example.com)": the account a refusal is about, named for the console. */
function which(details: Record<string, unknown> | undefined): string {
  const parts = [details?.user_id ? `user account ${details.user_id}` : null, details?.email ?? null].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}

/**
 * One line from stdin (its line end, LF or CRLF, is not part of it), or, at a terminal, a
 * prompt (without echo) answered twice the same. More than one line is refused: taking it
 * whole would make a password of what was meant as two, and taking its first line would
 * silently drop the rest.
 */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const text = (await Bun.stdin.text()).replace(/\r?\n$/, "");
    if (/[\r\n]/.test(text)) {
      throw new UsageError(
        "The password is one line; stdin held more than one. Nothing was changed.",
        usersCreate.usage,
      );
    }
    return text;
  }
  const first = await prompt("Password: ");
  const second = await prompt("Repeat it: ");
  if (first !== second) throw new CommandError("The two passwords differ; nothing was changed.");
  return first;
}

function prompt(label: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(label);
  stdin.setRawMode(true);
  stdin.setEncoding("utf8");
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") {
          finish();
          resolve(value);
          return;
        }
        if (ch === "\u0003" || ch === "\u0004") {
          finish();
          reject(new CommandError("Cancelled; nothing was changed."));
          return;
        }
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}
