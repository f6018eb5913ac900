import type { EventInput } from "../src/modules/events/service";

export const CUSTOMERS = 1000;
export const EVENT_NAMES = ["api_call", "tokens_used", "storage_gb", "seat_active"];
const DAY_MS = 24 * 3600 * 1000;

/**
 * Events spread over the 30 days before now, across 1,000 customers and 4 event names, with a
 * numeric and a text property: the shape of a month of a usage-billing workload.
 */
export function syntheticEvents(first: number, count: number, now = Date.now()): EventInput[] {
  return Array.from({ length: count }, (_, k) => {
    const i = first + k;
    return {
      event_name: EVENT_NAMES[i % EVENT_NAMES.length] as string,
      external_customer_id: `cus_${i % CUSTOMERS}`,
      timestamp: new Date(now - ((i * 7919) % (30 * DAY_MS))).toISOString(),
      source: "bench",
      properties: { tokens: i % 100, region: i % 2 === 0 ? "us" : "eu" },
    };
  });
}
