import type { Limits } from "../../limits/model";
import { creditsText, rateLimitText } from "../../limits/words";
import { html, type Html } from "../html";

/** A short summary for a list's Limits column: each limit in words, then the credits. */
export function limitsSummary(limits: Limits): Html {
  if (limits.ratelimits.length === 0 && limits.credits === null) return html`<span class="muted">None</span>`;
  return html`${limits.ratelimits.map(
    (limit) =>
      html`<span class="block small"
        ><span class="mono">${limit.name}</span>:
        ${rateLimitText(limit)}${limit.auto_apply ? null : " (when named)"}</span
      >`,
  )}${limits.credits === null ? null : html`<span class="block small">Credits: ${creditsText(limits.credits)}</span>`}`;
}
