import { Counter, Gauge, Histogram, Registry } from "prom-client";

interface CacheStats {
  hits: number;
  misses: number;
  size: number;
}

/**
 * The Prometheus metrics of one Tollgate: requests by route and status, their duration,
 * authentication outcomes, key-cache effectiveness and events ingested. Labels hold route
 * patterns and outcome names only, never ids or keys.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #requests = new Counter({
    name: "tollgate_http_requests_total",
    help: "HTTP requests by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  readonly #duration = new Histogram({
    name: "tollgate_http_request_duration_seconds",
    help: "HTTP request duration by method and route pattern",
    labelNames: ["method", "route"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly #auth = new Counter({
    name: "tollgate_auth_outcomes_total",
    help: "Credential checks by outcome: the credential kind when accepted, the reason when refused (too_many_failures: a failure answered 429 by the per-address limit)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly #events = new Counter({
    name: "tollgate_events_ingested_total",
    help: "Usage events accepted (202), single and bulk",
    registers: [this.registry],
  });

  constructor(cacheStats: () => CacheStats) {
    new Counter({
      name: "tollgate_key_cache_lookups_total",
      help: "Key-cache lookups of stored keys by result",
      labelNames: ["result"] as const,
      registers: [this.registry],
      collect() {
        const stats = cacheStats();
        this.reset();
        this.inc({ result: "hit" }, stats.hits);
        this.inc({ result: "miss" }, stats.misses);
      },
    });
    new Gauge({
      name: "tollgate_key_cache_entries",
      help: "Verified keys held in the key cache",
      registers: [this.registry],
      collect() {
        this.set(cacheStats().size);
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.#requests.inc({ method, route, status });
    this.#duration.observe({ method, route }, seconds);
  }

  authOutcome(outcome: string): void {
    this.#auth.inc({ outcome });
  }

  eventsIngested(count: number): void {
    this.#events.inc(count);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
