import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { requestIdOf, skipRequestLog } from "../../http";
import { bodyLimitFor, parseJsonBytes, readBody } from "../../http/body";
import { ApiError } from "../../http/errors";
import { errorResponses } from "../../http/openapi";
import { ACCESS_DETAIL_KEY, authPlugin } from "../auth";
import { sha256Hex } from "../auth/hash";
import { SIGNATURE_ACCESS } from "../webhooks";
import { WEBHOOK_REFUSED } from "../webhooks/model";
import {
  checkGithubSignature,
  GITHUB_KEY_IDENTIFIER_HEADER,
  GITHUB_SIGNATURE_HEADER,
  githubKeysOf,
} from "./github-signature";
import {
  GithubFeedbackSchema,
  GithubMatchesBody,
  LEAK_MESSAGES,
  LeakReceiptSchema,
  LeakReportBody,
  type LeakOutcome,
  type LeakSource,
  MAX_REPORTED_KEYS,
} from "./model";
import { type Reporter, revokeLeakedKeys } from "./report";

const LEAK_REPORT_PATH = "/v1/secrets/leaked";
const GITHUB_SECRET_SCANNING_PATH = "/v1/webhooks/github/secret-scanning";

/** What a request says of its reporter: its address (as the failed-attempt limits see it), id and agent. */
function reporterOf(app: AppContext, request: Request, source: LeakSource): Reporter {
  return {
    source,
    address: app.authenticator.addressOf(request),
    requestId: requestIdOf(request) ?? null,
    userAgent: request.headers.get("user-agent"),
  };
}

/** Where GitHub found a match, kept when it is an http(s) address a person may follow. */
function foundAt(url: string | undefined): string | null {
  if (url === undefined || url.length > 2048 || !URL.canParse(url)) return null;
  const { protocol } = new URL(url);
  return protocol === "https:" || protocol === "http:" ? url : null;
}

/** A report, or a match of GitHub's, was one of Tollgate's keys (live or not). */
function isTollgateKey(outcome: LeakOutcome | undefined): boolean {
  return outcome !== undefined && outcome.kind !== "malformed" && outcome.kind !== "unknown";
}

// From the stage that checked GitHub's signature to the handler.
const VERIFIED = Symbol("github secret scanning delivery verified");
type Checked = Request & { [VERIFIED]?: true };

/**
 * `{ githubSignature: true }`: the access declaration of GitHub's secret scanning endpoint. No
 * API key: a delivery is let in by GitHub's ECDSA signature over its raw body, made with one of
 * the keys config lists (leaked_keys.github.public_keys). The body limit applies first, then the
 * signature is checked on the bytes as received, before anything parses them. Every refusal is
 * the Stripe webhook's 401 `Invalid webhook signature`, and counts against the client address's
 * budget of failed credential checks like a bad key.
 */
function githubSignatureAccess(app: AppContext) {
  const keys = githubKeysOf(app.config.leaked_keys.github.public_keys);
  return new Elysia({ name: "github-signature-access" }).macro({
    githubSignature: {
      detail: { [ACCESS_DETAIL_KEY]: SIGNATURE_ACCESS, security: [{ GitHubSignature: [] }] } as Record<string, unknown>,
      parse: async ({ request }: { request: Request }) => {
        const body = await readBody(request, bodyLimitFor(new URL(request.url).pathname));
        const refusal = checkGithubSignature(
          keys,
          request.headers.get(GITHUB_KEY_IDENTIFIER_HEADER),
          request.headers.get(GITHUB_SIGNATURE_HEADER),
          body,
        );
        if (refusal !== null) {
          app.logger.debug("github secret scanning delivery refused", { reason: refusal });
          throw app.authenticator.refused(WEBHOOK_REFUSED, request);
        }
        (request as Checked)[VERIFIED] = true;
        return parseJsonBytes(body);
      },
      // Unreachable while `parse` runs first (Elysia runs it on every POST); should it ever be
      // skipped, fail closed.
      beforeHandle: ({ request }: { request: Request }) => {
        if ((request as Checked)[VERIFIED] !== true) throw WEBHOOK_REFUSED;
      },
    },
  });
}

/**
 * Leaked keys (SPEC §16): anyone who finds a key can kill it, and so can GitHub's secret
 * scanning, which finds them in public code.
 */
export function leakedKeysController(app: AppContext) {
  const { max_reports_per_address: maxReports, window_seconds: windowSeconds } = app.config.leaked_keys;
  /**
   * Counts a report against its address's budget; over it, the 429 to answer, nothing done. A
   * report over the log allowance has no request line of its own (the limiter summarises them).
   */
  const admit = (request: Request) => {
    const verdict = app.leakReports.fail(app.authenticator.addressOf(request));
    if (!verdict.log) skipRequestLog(request);
    if (verdict.retryAfterSeconds === 0) return;
    throw new ApiError(429, "too_many_requests", LEAK_MESSAGES.tooManyReports, {
      retry_after_seconds: verdict.retryAfterSeconds,
      max_reports: maxReports,
      window_seconds: windowSeconds,
    });
  };

  return new Elysia({ tags: ["Leaked keys"] })
    .use(authPlugin(app))
    .use(githubSignatureAccess(app))
    .post(
      LEAK_REPORT_PATH,
      async ({ request, body, set }) => {
        admit(request);
        await revokeLeakedKeys(
          app,
          reporterOf(app, request, "report"),
          body.keys.map((key) => ({ key, url: null })),
          true,
        );
        set.status = 202;
        return { received: body.keys.length };
      },
      {
        public: true,
        body: LeakReportBody,
        response: { 202: LeakReceiptSchema, ...errorResponses(400, 413, 429, 503) },
        detail: {
          summary: "Report keys found where they should not be: every live one is revoked at once",
          description:
            `No credential: anyone who finds a Tollgate key (in a repository, a log, a screenshot) can kill it, ` +
            `as GitHub's credential revocation API lets anyone kill a GitHub token. Each well-formed key that ` +
            `is live is revoked now (status deleted; the next request with it fails), audited as secret.leaked ` +
            `with the reporter's address, and shown to its owner in the dashboard. The answer is always 202 ` +
            `{"received": n}, the same whatever the keys were (live, revoked, unknown, malformed): it reveals ` +
            `nothing about them. At most ${MAX_REPORTED_KEYS} keys a report; ${maxReports} reports per client ` +
            `address in ${windowSeconds} seconds (leaked_keys.max_reports_per_address), then 429 with Retry-After.`,
        },
      },
    )
    .post(
      GITHUB_SECRET_SCANNING_PATH,
      async ({ request, body }) => {
        const outcomes = await revokeLeakedKeys(
          app,
          reporterOf(app, request, "github"),
          body.map((match) => ({ key: match.token, url: foundAt(match.url) })),
          app.config.leaked_keys.github.revoke,
        );
        return body.map((match, i) => ({
          token_hash: sha256Hex(match.token),
          token_type: match.type,
          label: isTollgateKey(outcomes[i]) ? ("true_positive" as const) : ("false_positive" as const),
        }));
      },
      {
        githubSignature: true,
        body: GithubMatchesBody,
        response: { 200: GithubFeedbackSchema, ...errorResponses(400, 401, 413, 503) },
        detail: {
          summary: "GitHub's secret scanning partner endpoint: keys found in public code",
          description:
            "No API key: GitHub signs each delivery (Github-Public-Key-Identifier, Github-Public-Key-Signature: " +
            "ECDSA P-256 with SHA-256 over the raw body), checked against leaked_keys.github.public_keys. A " +
            "forged, unsigned or unknown-key delivery is 401 Invalid webhook signature and changes nothing. Each " +
            "match that is a live Tollgate key is revoked (or, with leaked_keys.github.revoke off, only reported " +
            "to its owner), audited as secret.leaked. The answer is GitHub's feedback: per match, token_hash " +
            "(SHA-256 hex), token_type and label, true_positive for a Tollgate key, false_positive otherwise.",
        },
      },
    );
}
