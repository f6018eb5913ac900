import type { AppContext } from "../../../context";
import type { DayCount } from "../../events/counts";
import { attempt } from "../forms";
import { html, type Html } from "../html";
import { banner, htmlResponse, signedInPage, table, when } from "../layout";
import { DASHBOARD_PATH, visitOf } from "../session";

export const EVENTS_PATH = `${DASHBOARD_PATH}/events`;
const DAYS = 30;
const DAY_MS = 86_400_000;
/** The latest events shown under the chart. */
const SHOWN = 25;

/** Counts per UTC day as bars, drawn here: no script, no style attribute (the CSP allows neither). */
export function dayChart(days: DayCount[]): Html {
  const width = 720;
  const height = 200;
  const top = 16;
  const bottom = 24;
  const max = Math.max(1, ...days.map((d) => d.count));
  const slot = width / days.length;
  const bar = Math.max(2, slot - 4);
  const scale = (height - top - bottom) / max;
  const total = days.reduce((sum, d) => sum + d.count, 0);
  return html`<figure class="chart">
    <svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title chart-desc">
      <title id="chart-title">Events per day, last ${DAYS} days</title>
      <desc id="chart-desc">${total} events in all; the busiest day had ${max === 1 && total === 0 ? 0 : max}.</desc>
      <line x1="0" y1="${height - bottom}" x2="${width}" y2="${height - bottom}" class="axis"></line>
      ${days.map((d, i) => {
        const h = Math.round(d.count * scale);
        return html`<rect
          class="bar"
          x="${(i * slot + 2).toFixed(1)}"
          y="${height - bottom - h}"
          width="${bar.toFixed(1)}"
          height="${h}"
          ><title>${d.day}: ${d.count}</title></rect
        >`;
      })}
      ${[0, Math.floor(days.length / 2), days.length - 1].map((i) => {
        const d = days[i];
        return d
          ? html`<text
              x="${i === 0 ? 2 : i === days.length - 1 ? width - 2 : (i * slot + slot / 2).toFixed(1)}"
              y="${height - 6}"
              text-anchor="${i === 0 ? "start" : i === days.length - 1 ? "end" : "middle"}"
              class="tick"
              >${d.day.slice(5)}</text
            >`
          : null;
      })}
      <text x="4" y="12" class="tick">${max}</text>
    </svg>
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
