// The mutations `npm run mutate` applies, one at a time, to a copy of the tree. Each is a
// behaviour a user relies on, broken in the smallest way; the named tests must then fail. Add
// one with each feature: the exact text to find (it must occur once in the file), what to put
// instead, and the tests that should notice. Not listed, because no test can tell: the event
// writer's synchronous=NORMAL under events.durability: process (only a power cut shows it), and
// the constant-time hash comparison after a lookup by that same hash (equal by construction).

export interface Mutation {
  name: string;
  file: string;
  find: string;
  replace: string;
  tests: string[];
}

export const MUTATIONS: Mutation[] = [
  {
    name: "the event writer commits without looking at the store's files",
    file: "src/modules/events/commit.ts",
    find: "  const stored = files.ok ? commitBatch(db, rows) : unavailable(files, rows.length);",
    replace: "  const stored = commitBatch(db, rows);",
    tests: ["test/hardening-store.test.ts"],
  },
  {
    name: "the event writer thread answers 'written' without inserting",
    file: "src/modules/events/writer-thread.ts",
    find: "        outcome: commitUnits(db as Db, fromWire(message.batch), () => (health as StoreHealth).fileProblem()),",
    replace: "        outcome: { failures: [], events: [] },",
    tests: ["test/events.test.ts", "test/hardening-events.test.ts"],
  },
  {
    name: "a bulk request is not all or nothing when its batch is retried",
    file: "src/modules/events/store.ts",
    find: "      insertEvents(db, unit);",
    replace:
      "      for (const row of unit) {\n        try {\n          insertEvents(db, [row]);\n        } catch {}\n      }",
    tests: ["test/hardening-events.test.ts"],
  },
  {
    name: "no audit row when an account (a user too) is archived",
    file: "src/modules/users/service.ts",
    find: "        action: `${before.type}.archived`,",
    replace: "        action: before.type === 'user' ? '' : `${before.type}.archived`,",
    tests: ["test/audit.test.ts", "test/users.test.ts"],
  },
  {
    name: "the audit row's ip is always null",
    file: "src/modules/audit/context.ts",
    find: "    ip: server?.requestIP(request)?.address ?? null,",
    replace: "    ip: null,",
    tests: ["test/audit.test.ts", "test/server.test.ts"],
  },
  {
    name: "last_used_at is never flushed periodically",
    file: "src/modules/secrets/last-used.ts",
    find: "    this.#timer = setInterval(() => this.flush(), flushIntervalMs);",
    replace: "    this.#timer = setInterval(() => {}, flushIntervalMs);",
    tests: ["test/secrets.test.ts", "test/server.test.ts"],
  },
  {
    name: "a person may be given a service account's role",
    file: "src/modules/users/service.ts",
    find: "  const misplaced = roles.find((role) => !catalog.assignable(role, type));",
    replace: "  const misplaced = roles.find((role) => !catalog.has(role));",
    tests: ["test/users.test.ts"],
  },
  {
    name: "a webhook delivery without a stored secret is checked against the stand-in and let in if it matches",
    file: "src/modules/webhooks/service.ts",
    find: "  if (!secret.found) return WebhookRefusal.NoSigningSecret;",
    replace: "",
    tests: ["test/webhooks.test.ts"],
  },
  {
    name: "a stale Stripe signature is accepted",
    file: "src/modules/webhooks/stripe-signature.ts",
    find: "  if (Math.abs(Math.floor(nowMs / 1000) - timestamp) > STRIPE_TOLERANCE_SECONDS) {",
    replace: "  if (false) {",
    tests: ["test/webhooks.test.ts"],
  },
  {
    name: "a replayed webhook event is stored again",
    file: "src/modules/webhooks/service.ts",
    find: "     ON CONFLICT (tenant_id, environment_id, provider, provider_event_id) DO NOTHING`,",
    replace: "`,",
    tests: ["test/webhooks.test.ts"],
  },
  {
    name: "a saved integration secret's new signing secret is not picked up",
    file: "src/modules/integrations/service.ts",
    find: "  deps.signing.saved(scope, provider, input.credentials);",
    replace: "",
    tests: ["test/webhooks.test.ts", "test/integrations.test.ts"],
  },
  {
    name: "refused webhook deliveries do not count against the address",
    file: "src/modules/webhooks/index.ts",
    find: "      throw app.authenticator.refused(WEBHOOK_RESPONSES[verdict], request);",
    replace: "      throw WEBHOOK_RESPONSES[verdict];",
    tests: ["test/webhooks.test.ts"],
  },
  {
    name: "the request thread checkpoints the WAL again",
    file: "src/app.ts",
    find: '  if (!db.memory) db.pragma("wal_autocheckpoint = 0");',
    replace: "",
    tests: ["test/hardening-events.test.ts"],
  },
  {
    name: "integration credentials are sealed without binding them to their row",
    file: "src/modules/integrations/cipher.ts",
    find: '  return Buffer.from(JSON.stringify(["tollgate.integration.v1", secretId, tenantId, environmentId]), "utf8");',
    replace: '  return Buffer.from("tollgate.integration.v1", "utf8");',
    tests: ["test/integrations.test.ts"],
  },
  {
    name: "a key lacking the permission is let through",
    file: "src/modules/auth/service.ts",
    find: "      if (!key.permissions.allows(access.permission)) {",
    replace: "      if (false) {",
    tests: ["test/rbac.test.ts"],
  },
  {
    name: "a publishable key is let onto permission routes",
    file: "src/modules/auth/service.ts",
    find: '      if (key.credential.type === "publishable_key") throw accessDenied(AccessOutcome.PublishableKeyRefused);',
    replace: "",
    tests: ["test/rbac.test.ts", "test/secrets.test.ts"],
  },
  {
    name: "a revoked key stays in the cache",
    file: "src/modules/secrets/revoke.ts",
    find: "  deps.keyCache.invalidate([revoked.key_hash]);",
    replace: "",
    tests: ["test/secrets.test.ts"],
  },
  {
    name: "a customer is read by id across environments",
    file: "src/modules/customers/read.ts",
    find: 'const row = sql(db, "SELECT * FROM customers WHERE tenant_id = ? AND environment_id = ? AND id = ?").get(',
    replace: 'const row = sql(db, "SELECT * FROM customers WHERE tenant_id = ? AND (? OR 1) AND id = ?").get(',
    tests: ["test/customers.test.ts", "test/isolation.test.ts"],
  },
  {
    name: "a repeated event_id is stored twice",
    file: "src/modules/events/store.ts",
    find: "     ON CONFLICT (scope, id) DO NOTHING`,",
    replace: "`,",
    tests: ["test/events.test.ts"],
  },
  {
    name: "a bad bulk body is stored anyway when prepared on the writer thread",
    file: "src/modules/events/bulk.ts",
    find: "  const body = checkLike(BulkIngestBody, parseJsonBytes(bytes) as { events: EventInput[] });",
    replace: "  const body = parseJsonBytes(bytes) as { events: EventInput[] };",
    tests: ["test/events.test.ts", "test/hardening-events.test.ts"],
  },
  {
    name: "a dashboard form is read whole before its size is measured",
    file: "src/modules/dashboard/session.ts",
    find: "  return new URLSearchParams(formText.decode(await readBody(request, FORM_LIMIT)));",
    replace: "  return new URLSearchParams(await request.text());",
    tests: ["test/hardening-body-limits.test.ts"],
  },
  {
    name: "a chunked body is read to its end, past the limit",
    file: "src/http/body.ts",
    find: "    if (size > limit) {",
    replace: "    if (size > limit * 1024) {",
    tests: ["test/hardening-body-limits.test.ts"],
  },
  {
    name: "the store lock is named after the path as spelled",
    file: "src/db/lock.ts",
    find: "  const real = realPathOf(databasePath);",
    replace: "  const real = resolve(databasePath);",
    tests: ["test/hardening-store-lock.test.ts"],
  },
  {
    name: "a database with a second name (hard link) is opened",
    file: "src/db/lock.ts",
    find: "  if (names > 1) throw new StoreLinkedError(databasePath, names);",
    replace: "",
    tests: ["test/hardening-store-lock.test.ts"],
  },
  {
    name: "any Host header is served on loopback",
    file: "src/http/index.ts",
    find: '      if (!anyHost && !servesHostHeader(request.headers.get("host") ?? new URL(request.url).host)) {',
    replace: "      if (false) {",
    tests: ["test/hardening-host.test.ts"],
  },
  {
    name: "*.example.com also serves example.com and xexample.com",
    file: "src/http/hosts.ts",
    find: '    if (entry.startsWith("*.")) suffixes.push(entry.slice(1).toLowerCase());',
    replace: '    if (entry.startsWith("*.")) suffixes.push(entry.slice(2).toLowerCase());',
    tests: ["test/hardening-host.test.ts"],
  },
  {
    name: "a page of a list is read on the main thread",
    file: "src/reads/pool.ts",
    find: '    return this.#run({ kind: "page", scope: { tenantId }, query }) as Promise<Paged<T>>;',
    replace:
      '    return Promise.resolve(runStoreRead(this.db, { kind: "page", scope: { tenantId }, query }, this.budgetMs) as Paged<T>);',
    tests: ["test/hardening-lists.test.ts"],
  },
  {
    name: "a page of a list has no time budget",
    file: "src/reads/pages.ts",
    find: "  const bounded = { ...q, where: `(${q.where}) AND ${WITHIN_BUDGET}` };",
    replace: "  const bounded = q;",
    tests: ["test/hardening-lists.test.ts"],
  },
  {
    name: "the audit log's action filter has no index",
    file: "src/db/migrations/013_list_indexes.sql",
    find: "CREATE INDEX audit_logs_by_action ON audit_logs (tenant_id, environment_id, action, created_at, id);",
    replace: "",
    tests: ["test/hardening-lists.test.ts"],
  },
  {
    name: "verify answers for a key of another environment of the same tenant",
    file: "src/modules/verify/service.ts",
    find: "    key.environmentId !== caller.environmentId",
    replace: "    false",
    tests: ["test/verify.test.ts"],
  },
  {
    name: "forward-auth believes any peer's X-Forwarded-* headers",
    file: "src/modules/forward-auth/index.ts",
    find: "    if (!trusted(peer)) throw accessDenied(AccessOutcome.UntrustedProxy);",
    replace: "",
    tests: ["test/forward-auth.test.ts"],
  },
  {
    name: "forward-auth judges a forwarded path without decoding it",
    file: "src/modules/forward-auth/rules.ts",
    find: "      segment = decodeURIComponent(encoded);",
    replace: "      segment = encoded;",
    tests: ["test/forward-auth.test.ts"],
  },
  {
    name: "forward-auth lets the last matching rule decide",
    file: "src/modules/forward-auth/rules.ts",
    find: "    return compiled.find(",
    replace: "    return compiled.findLast(",
    tests: ["test/forward-auth.test.ts"],
  },
  {
    name: "forward-auth passes a 429 to nginx, which would answer the client 500",
    file: "src/modules/forward-auth/index.ts",
    find: "  if (nginx && status !== 401 && status !== 403) {",
    replace: "  if (false) {",
    tests: ["test/forward-auth.test.ts", "test/proxies.test.ts"],
  },
  {
    name: "forward-auth leaves the account header out for a public rule's anonymous caller",
    file: "src/modules/forward-auth/index.ts",
    find: '    [IDENTITY_HEADERS.accountId]: principal?.userId ?? "",',
    replace: "    ...(principal ? { [IDENTITY_HEADERS.accountId]: principal.userId } : {}),",
    tests: ["test/forward-auth.test.ts"],
  },
  {
    name: "a role's *:* no longer allows an operator's own permissions",
    file: "src/modules/rbac/service.ts",
    find: '      granted.has("*:*") || granted.has(`${permission.slice(0, at)}:*`) || granted.has(`*:${permission.slice(at + 1)}`)',
    replace: "      granted.has(`${permission.slice(0, at)}:*`) || granted.has(`*:${permission.slice(at + 1)}`)",
    tests: ["test/verify.test.ts"],
  },
  {
    name: "anyone who may create accounts hands out any role",
    file: "src/modules/rbac/service.ts",
    find: "    for (const permission of wanted.#declared) if (!this.allows(permission)) return false;",
    replace: "",
    tests: ["test/rbac-custom-roles.test.ts"],
  },
  {
    name: "the nginx setup lets a client's X-Tollgate-Account-Id through",
    file: "docs/proxies/nginx.conf.template",
    find: "        proxy_set_header X-Tollgate-Account-Id $tollgate_account_id;\n",
    replace: "",
    tests: ["test/proxies.test.ts"],
  },
];
