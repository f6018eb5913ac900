import type { AppContext } from "../../../context";
import type { DayCount } from "../../events/counts";
import { attempt } from "../forms";
import { html, type Html, when } from "../html";
import { banner, htmlResponse, signedInPage, table } from "../layout";
import { DASHBOARD_PATH, visitOf } from "../session";

export const EVENTS_PATH = `${DASHBOARD_PATH}/events`;
const DAYS = 30;
const DAY_MS = 86_400_000;
/** The latest events shown under the chart. */
const SHOWN = 25;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `2026-04-12` as `12 Apr`. */
function dayLabel(day: string): string {
  return `${Number(day.slice(8, 10))} ${MONTHS[Number(day.slice(5, 7)) - 1]}`;
}

/**
 * Counts per UTC day as bars, drawn here: no script, no style attribute (the CSP allows neither).
 * The labels (the busiest day's count, the first, middle and last days) are HTML beside the
 * drawing, not text inside it: the drawing scales to the page's width, and its text would shrink
 * with it to a few pixels on a phone; HTML text keeps the page's size.
 */
export function dayChart(days: DayCount[]): Html {
  const width = 720;
  const height = 176;
  const max = Math.max(1, ...days.map((d) => d.count));
  const slot = width / days.length;
  const bar = Math.max(2, slot - 4);
  const scale = height / max;
  const total = days.reduce((sum, d) => sum + d.count, 0);
  const ticks = [0, Math.floor(days.length / 2), days.length - 1].flatMap((i) => {
    const d = days[i];
    return d ? [d.day] : [];
  });
  return html`<figure class="chart">
    <p class="chart-peak muted small" aria-hidden="true">${max}</p>
    <svg
      viewBox="0 0 ${width} ${height}"
      preserveAspectRatio="none"
      role="img"
      aria-labelledby="chart-title chart-desc"
    >
      <title id="chart-title">Events per day, last ${DAYS} days</title>
      <desc id="chart-desc">${total} events in all; the busiest day had ${max === 1 && total === 0 ? 0 : max}.</desc>
      <line x1="0" y1="${height - 0.5}" x2="${width}" y2="${height - 0.5}" class="axis"></line>
      ${days.map((d, i) => {
        const h = Math.round(d.count * scale);
        return html`<rect
          class="bar"
          x="${(i * slot + 2).toFixed(1)}"
          y="${height - h}"
          width="${bar.toFixed(1)}"
          height="${h}"
          ><title>${d.day}: ${d.count}</title></rect
        >`;
      })}
    </svg>
    <p class="chart-days muted small" aria-hidden="true">${ticks.map((day) => html`<span>${dayLabel(day)}</span>`)}</p>
    <figcaption class="muted small">
      ${total} event${total === 1 ? "" : "s"} in the last ${DAYS} days (UTC), this environment.
    </figcaption>
  </figure>`;
}

export async function eventsPage(app: AppContext, request: Request): Promise<Response> {
  const visit = visitOf(request);
  const scope = { tenantId: visit.principal.tenantId, environmentId: visit.principal.environmentId };
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const start = new Date(today - (DAYS - 1) * DAY_MS).toISOString();
  const end = new Date(today + DAY_MS).toISOString();
  const result = await attempt(async () => {
    // Both on the reader threads: every event of the environment counts, whatever its name.
    const [latest, counted] = await Promise.all([
      app.reads.query(scope, { page_size: SHOWN }),
      app.reads.daily(scope, { start, end }),
    ]);
    const perDay = new Map(counted.map((d) => [d.day, d.count]));
    const days: DayCount[] = Array.from({ length: DAYS }, (_, i) => {
      const day = new Date(today - (DAYS - 1 - i) * DAY_MS).toISOString().slice(0, 10);
      return { day, count: perDay.get(day) ?? 0 };
    });
    return { latest: latest.events, days };
  });
  const content = result.ok
    ? html`${dayChart(result.value.days)}
        <h2>Latest events</h2>
        ${table(
          "Latest events",
          ["Time", "Event", "Customer", "Source", "Properties"],
          result.value.latest.map(
            (e) =>
              html`<tr>
                <td>${when(e.timestamp)}</td>
                <th scope="row" class="mono">${e.event_name}</th>
                <td class="mono">${e.external_customer_id}</td>
                <td>${e.source ?? html`<span class="muted">—</span>`}</td>
                <td class="mono small props">${JSON.stringify(e.properties)}</td>
              </tr>`,
          ),
          "No events in this environment yet.",
        )}`
    : (banner("error", result.message) as Html);
  return htmlResponse(await signedInPage(app, visit, EVENTS_PATH, "Events", content), {
    status: result.ok ? 200 : result.status,
  });
}
