import { t } from "elysia";
import type { SecretWithOwnerRow } from "../secrets/model";

/** Who reported a leak: anyone (the public endpoint), GitHub's secret scanning, an operator (the CLI). */
export type LeakSource = "report" | "github" | "operator";

/** The columns migration 016 added to a key: when, how and where it was reported leaked. */
export interface LeakFields {
  leaked_at: string | null;
  leak_source: LeakSource | null;
  leak_url: string | null;
  leak_acknowledged_at: string | null;
  leak_acknowledged_by: string | null;
}

export type LeakedKeyRow = SecretWithOwnerRow & LeakFields;

/** A key as it was reported: the text itself, and where it was found when the reporter said. */
export interface ReportedKey {
  key: string;
  url: string | null;
}

/**
 * What a report did with one key. Only an operator's command says it back; the public endpoint
 * answers the same whatever it was, and GitHub learns only whether the token was a Tollgate key.
 */
export type LeakOutcome =
  /** Not a key's format, or its checksum fails: nothing was looked up. */
  | { kind: "malformed" }
  /** Well formed, but no key has it. */
  | { kind: "unknown" }
  /** A key that was revoked already: nothing changed. */
  | { kind: "already_revoked"; key: LeakedKeyRow }
  /** Revoked now (status deleted), or only marked leaked (a report that does not revoke). */
  | { kind: "revoked" | "reported"; key: LeakedKeyRow };

/** The most keys one report may name (GitHub's credential revocation API takes as many). */
export const MAX_REPORTED_KEYS = 100;

export const LEAK_MESSAGES = {
  notLeaked: "API key was not reported leaked",
  tooManyReports: "Too many leaked-key reports from this address",
} as const;

export const LeakReportBody = t.Object(
  {
    keys: t.Array(t.String({ description: "A key as found, such as sk_live_…" }), {
      maxItems: MAX_REPORTED_KEYS,
      description: `The keys found, at most ${MAX_REPORTED_KEYS}`,
      error: `must be an array of at most ${MAX_REPORTED_KEYS} strings`,
    }),
  },
  { additionalProperties: false },
);

export const LeakReceiptSchema = t.Object(
  {
    received: t.Integer({
      description: "How many keys the report named; the same answer whatever they were",
    }),
  },
  { title: "LeakReportReceipt" },
);

/** One match of GitHub's secret scanning, as its partner program sends it; other fields are ignored. */
export const GithubMatchSchema = t.Object(
  {
    token: t.String({ description: "The text that matched the key pattern" }),
    type: t.String({ description: "The secret type Tollgate was registered under" }),
    url: t.Optional(t.String({ description: "Where the match was found (may be empty)" })),
    source: t.Optional(t.String({ description: "What it was found in: content, commit, issue_comment, …" })),
  },
  { additionalProperties: true },
);

export const GithubMatchesBody = t.Array(GithubMatchSchema, {
  title: "GitHubSecretScanningMatches",
  error: "must be an array of matches, each with the strings token and type",
});

export const GithubFeedbackSchema = t.Array(
  t.Object({
    token_hash: t.String({ description: "SHA-256 hex of the token" }),
    token_type: t.String({ description: "The match's type, as sent" }),
    label: t.Union([t.Literal("true_positive"), t.Literal("false_positive")], {
      description: "true_positive: a key Tollgate issued (live or not); false_positive: anything else",
    }),
  }),
  { title: "GitHubSecretScanningFeedback" },
);
