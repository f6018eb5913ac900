import { Type as T, type Static } from "@sinclair/typebox";

/** SHA-256 of the documented Flexprice development key; the key itself never appears in config. */
export const DEV_KEY_HASH = "c3b3fa371183f0df159d659da0b42c5270c8d53c22e180df2286e059c75802ab";

/** The default tenant and its default user, as Flexprice documents them. */
export const DEFAULT_TENANT_ID = "00000000-0000-0000-0000-000000000000";
export const DEFAULT_USER_ID = "00000000-0000-0000-0000-000000000000";

export const ConfigKeySchema = T.Object(
  {
    tenant_id: T.String({ minLength: 1, maxLength: 64 }),
    user_id: T.String({ minLength: 1, maxLength: 64 }),
    name: T.String({ default: "Config key", maxLength: 255 }),
    is_active: T.Boolean({ default: true }),
  },
  { additionalProperties: false },
);

const strict = { additionalProperties: false } as const;

export const ConfigSchema = T.Object(
  {
    server: T.Object(
      {
        host: T.String({ minLength: 1 }),
        port: T.Integer({ minimum: 0, maximum: 65535 }),
        // Where people and customers reach this server (scheme://host[:port], no path): every
        // link Tollgate hands out (setup, invites' set-password links, its own portal page) is
        // built on it, never on a request's Host header. Empty: http://<host>:<port> as it
        // listens (src/http/urls.ts). Set it behind a reverse proxy.
        public_url: T.String({ maxLength: 2048 }),
        // The names a request's Host header may carry (src/http/hosts.ts): host names or IP
        // addresses without a port, "*.example.com" for every name under it, "*" for any. On
        // loopback, localhost, 127.0.0.1 and [::1] are always served; elsewhere an empty list
        // serves any host. The public_url's host is always served.
        allowed_hosts: T.Array(T.String({ minLength: 1, maxLength: 253 }), { maxItems: 100 }),
      },
      strict,
    ),
    database: T.Object(
      {
        path: T.String({ minLength: 1 }),
        // Empty: the embedded SQLite store at `path`. A postgres:// URL: that PostgreSQL database
        // instead (SPEC §15), shared by any number of Tollgate instances; `path` is then unused.
        url: T.String(),
      },
      strict,
    ),
    auth: T.Object(
      {
        api_key: T.Object(
          {
            header: T.String({ pattern: "^[A-Za-z0-9-]+$" }),
            keys: T.Record(T.String({ pattern: "^[0-9a-fA-F]{64}$" }), ConfigKeySchema, {
              additionalProperties: false,
            }),
            cache_size: T.Integer({ minimum: 1 }),
            negative_cache_size: T.Integer({ minimum: 1 }),
          },
          strict,
        ),
        // Failed credential checks (401s) per client address: past max_failures in a window,
        // failures are answered 429 until the window ends. Valid credentials are never refused.
        failed_attempts: T.Object(
          {
            // 0 turns the per-address limit off (failure log lines are still sampled).
            max_failures: T.Integer({ minimum: 0, maximum: 1_000_000 }),
            window_seconds: T.Integer({ minimum: 1, maximum: 86_400 }),
            // Addresses tracked at once (IPv6 by /64); the least recently failing are forgotten first.
            max_addresses: T.Integer({ minimum: 1, maximum: 10_000_000 }),
            // Failure log lines written per second at most; one summary per window counts the rest.
            log_lines_per_second: T.Integer({ minimum: 0, maximum: 1_000_000 }),
          },
          strict,
        ),
        // Failed sign-ins (SPEC §10: 5 in 15 minutes per email, and per address for that email).
        sign_in: T.Object(
          {
            // Failures from one address alone (IPv6 by /64), on any emails, in 15 minutes: a
            // spraying limit, high because everyone behind one reverse proxy or NAT shares it.
            max_failures_per_address: T.Integer({ minimum: 1, maximum: 1_000_000 }),
          },
          strict,
        ),
        // Sessions of people who signed in (POST /v1/auth/login): how long one lasts.
        session: T.Object(
          {
            ttl_seconds: T.Integer({ minimum: 60, maximum: 365 * 24 * 3600 }),
          },
          strict,
        ),
        // POST /v1/auth/signup: anyone who can reach the server may create a tenant. Off by default.
        signup: T.Object(
          {
            enabled: T.Boolean(),
          },
          strict,
        ),
      },
      strict,
    ),
    // Roles of the operator's, beside the built-in ones (SPEC §13): id → what it allows.
    rbac: T.Object(
      {
        roles: T.Record(
          T.String(),
          T.Object(
            {
              name: T.String({ minLength: 1, maxLength: 255 }),
              description: T.String({ maxLength: 1000, default: "" }),
              // entity → actions, each a name of the operator's choosing or "*".
              permissions: T.Record(T.String(), T.Array(T.String(), { minItems: 1, maxItems: 100 })),
            },
            strict,
          ),
        ),
      },
      strict,
    ),
    // GET /v1/auth/forward for Caddy forward_auth, Traefik ForwardAuth and nginx auth_request (SPEC §13).
    forward_auth: T.Object(
      {
        // Peers whose X-Forwarded-* / X-Original-* headers are believed (CIDRs or addresses).
        trusted_proxies: T.Array(T.String({ minLength: 1, maxLength: 64 }), { maxItems: 1000 }),
        // In order; the first that matches the request decides. None matches: 403.
        rules: T.Array(
          T.Object(
            {
              // The original request's host (X-Forwarded-Host / X-Original-Host), exact; absent: any.
              host: T.Optional(T.String({ minLength: 1, maxLength: 253 })),
              // A path prefix ("/api" covers /api and /api/…), or a glob: * within a segment, ** across.
              path: T.String({ minLength: 1, maxLength: 2048 }),
              // Absent: any method.
              methods: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 32 }), { minItems: 1, maxItems: 16 })),
              // What the credential must allow (entity:action); or public: true, no credential needed.
              permission: T.Optional(T.String({ minLength: 3, maxLength: 255 })),
              public: T.Optional(T.Boolean()),
              // SPEC §14: the key's named rate limits this request counts against, each with its cost
              // (default 1), and the credits it spends (default 1). Auto-applied limits count anyway.
              ratelimits: T.Optional(
                T.Array(
                  T.Object(
                    {
                      name: T.String({ minLength: 1, maxLength: 64 }),
                      cost: T.Optional(T.Integer({ minimum: 0, maximum: 1_000_000 })),
                    },
                    strict,
                  ),
                  { maxItems: 20 },
                ),
              ),
              cost: T.Optional(T.Integer({ minimum: 0, maximum: 1_000_000 })),
            },
            strict,
          ),
          { maxItems: 1000 },
        ),
      },
      strict,
    ),
    // Leaked keys (SPEC §16): POST /v1/secrets/leaked, and GitHub's secret scanning partner endpoint.
    leaked_keys: T.Object(
      {
        // Reports POST /v1/secrets/leaked takes from one client address (IPv6 by /64) per window;
        // past that, 429 until the window ends. Each report names at most 100 keys.
        max_reports_per_address: T.Integer({ minimum: 1, maximum: 1_000_000 }),
        window_seconds: T.Integer({ minimum: 1, maximum: 86_400 }),
        github: T.Object(
          {
            // The keys GitHub signs its deliveries with, as https://api.github.com/meta/public_keys/secret_scanning
            // lists them (its `public_keys` array; `is_current` is accepted and ignored). Never
            // fetched at run time: the README says how to refresh them. Empty: every delivery is refused.
            public_keys: T.Array(
              T.Object(
                {
                  key_identifier: T.String({ minLength: 1, maxLength: 256 }),
                  // PEM (-----BEGIN PUBLIC KEY-----), an ECDSA P-256 key.
                  key: T.String({ minLength: 1, maxLength: 4096 }),
                  is_current: T.Optional(T.Boolean()),
                },
                strict,
              ),
              { maxItems: 100 },
            ),
            // true: a key GitHub found is revoked at once; false: its owner is only warned (the
            // dashboard's banner and the audit log) and the key keeps working.
            revoke: T.Boolean(),
          },
          strict,
        ),
      },
      strict,
    ),
    customer_portal: T.Object(
      {
        // Where portal links point (the token is added as ?token=). Empty: Tollgate's own page,
        // /portal on the address it listens on (src/modules/portal-page/link.ts).
        url: T.String({ maxLength: 2048 }),
        // Origins whose pages may call /v1/customer/portal/* from a browser (CORS), each
        // scheme://host[:port]. Empty: the origin of `url` (none when `url` is empty: the page
        // Tollgate serves is same-origin).
        allowed_origins: T.Array(T.String({ maxLength: 2048 }), { maxItems: 100 }),
        session_ttl_seconds: T.Integer({ minimum: 60, maximum: 7 * 24 * 3600 }),
        // HMAC key for portal tokens. When empty, one is generated once into a key file beside
        // the database (`<database.path>.portal-key`, mode 0600), never into the database itself;
        // an in-memory store uses a random key per start.
        signing_key: T.String({ maxLength: 512 }),
      },
      strict,
    ),
    events: T.Object(
      {
        // When POST /v1/events and /v1/events/bulk answer 202: "fsync", once the events are on
        // the disk (they survive a power loss); "process", once they are in SQLite's write-ahead
        // log (synchronous=NORMAL: they survive a crash of Tollgate, not of the machine).
        durability: T.Union([T.Literal("fsync"), T.Literal("process")]),
      },
      strict,
    ),
    secrets: T.Object(
      {
        // The master key integration credentials are sealed with (AES-256-GCM): 32 bytes as 64 hex
        // characters or base64; `tollgate secrets generate-key` prints one. Never in the database.
        // Empty: integration secrets are refused (400 naming this setting).
        encryption_key: T.String({ maxLength: 256 }),
      },
      strict,
    ),
    metrics: T.Object(
      {
        // GET /metrics (Prometheus text format), public when on: bind or firewall accordingly.
        enabled: T.Boolean(),
      },
      strict,
    ),
    logging: T.Object(
      {
        level: T.Union([
          T.Literal("debug"),
          T.Literal("info"),
          T.Literal("warn"),
          T.Literal("error"),
          T.Literal("silent"),
        ]),
        // auto: readable lines when stdout is a terminal, one JSON object per line otherwise.
        format: T.Union([T.Literal("auto"), T.Literal("pretty"), T.Literal("json")]),
      },
      strict,
    ),
  },
  strict,
);

export type Config = Static<typeof ConfigSchema>;
export type ConfigKey = Static<typeof ConfigKeySchema>;

/** Every value has a default, so Tollgate starts with no config file at all. */
export const DEFAULT_CONFIG: Config = {
  server: { host: "127.0.0.1", port: 8080, public_url: "", allowed_hosts: [] },
  database: { path: "data/tollgate.db", url: "" },
  auth: {
    api_key: {
      header: "x-api-key",
      keys: {
        [DEV_KEY_HASH]: {
          tenant_id: DEFAULT_TENANT_ID,
          user_id: DEFAULT_USER_ID,
          name: "Default development key",
          is_active: true,
        },
      },
      cache_size: 10_000,
      negative_cache_size: 10_000,
    },
    failed_attempts: { max_failures: 30, window_seconds: 60, max_addresses: 10_000, log_lines_per_second: 10 },
    sign_in: { max_failures_per_address: 100 },
    session: { ttl_seconds: 7 * 24 * 3600 },
    signup: { enabled: false },
  },
  rbac: { roles: {} },
  forward_auth: { trusted_proxies: ["127.0.0.0/8", "::1/128"], rules: [] },
  leaked_keys: { max_reports_per_address: 10, window_seconds: 60, github: { public_keys: [], revoke: true } },
  customer_portal: { url: "", allowed_origins: [], session_ttl_seconds: 3600, signing_key: "" },
  events: { durability: "fsync" },
  secrets: { encryption_key: "" },
  metrics: { enabled: false },
  logging: { level: "info", format: "auto" },
};
