// The upstream of the forward-auth benchmark, and its free auth server: the cheapest answer an
// HTTP server can give (200 "ok" to anything), so what is measured through the proxy is the
// proxy and Tollgate. Writes its port to BENCH_READY_FILE.
import { writeFileSync } from "node:fs";

const readyFile = process.env.BENCH_READY_FILE;
if (!readyFile) throw new Error("BENCH_READY_FILE is required");
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
writeFileSync(readyFile, JSON.stringify({ port: server.port }));
