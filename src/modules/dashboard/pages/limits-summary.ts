import type { Limits } from "../../limits/model";
import { creditsText, rateLimitText } from "../../limits/words";
import { html, type Html } from "../html";

/**
 * A short summary under a name in a list: each limit in words, then the credits; nothing when
 * there are none. Under the name rather than in a column of its own, so the lists still fit a
 * 1280 px window with every column in view.
 */
export function limitsSummary(limits: Limits): Html | null {
  if (limits.ratelimits.length === 0 && limits.credits === null) return null;
  return html`<span class="limits-summary"
    >${limits.ratelimits.map(
      (limit) =>
        html`<span class="block small"
          ><span class="mono">${limit.name}</span>:
          ${rateLimitText(limit)}${limit.auto_apply ? null : " (when named)"}</span
        >`,
    )}${limits.credits === null ? null : html`<span class="block small">Credits: ${creditsText(limits.credits)}</span>`}</span
  >`;
}
