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

/**
 * A wrk script's request(): bulk bodies of the next 1,000 events of syntheticEvents, event by
 * event the same JSON, so an HTTP benchmark can send new events in every request as the
 * in-process baseline inserts them. init(args): the first event's number, and `now` in ms.
 */
export const SYNTHETIC_BULK_LUA = `
local names = { ${EVENT_NAMES.map((name) => `"${name}"`).join(", ")} }
local SPAN = 30 * ${DAY_MS}
local nextEvent, now
function init(args)
  nextEvent = tonumber(args[1])
  now = tonumber(args[2])
end
local function iso(ms)
  local s = math.floor(ms / 1000)
  return os.date("!%Y-%m-%dT%H:%M:%S", s) .. string.format(".%03dZ", ms - s * 1000)
end
request = function()
  local parts = {}
  for k = 0, 999 do
    local i = nextEvent + k
    parts[k + 1] = string.format(
      '{"event_name":"%s","external_customer_id":"cus_%d","timestamp":"%s","source":"bench","properties":{"tokens":%d,"region":"%s"}}',
      names[i % ${EVENT_NAMES.length} + 1], i % ${CUSTOMERS}, iso(now - ((i % SPAN) * 7919) % SPAN), i % 100,
      i % 2 == 0 and "us" or "eu")
  end
  nextEvent = nextEvent + 1000
  return wrk.format(nil, nil, nil, '{"events":[' .. table.concat(parts, ",") .. ']}')
end
`;
