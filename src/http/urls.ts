import type { Config } from "../config";

/** A host as it goes in a URL a person can open: the wildcard addresses become loopback. */
export function urlHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

/** `http://host:port` of a server listening on `host` (server.host) and `port`. */
export function listeningBaseUrl(host: string, port: number): string {
  return `http://${urlHost(host)}:${port}`;
}

/**
 * Where people and customers reach this server: `server.public_url` when set, else where it
 * listens (the port it actually got, so port 0 works too). Every link Tollgate hands out is
 * built on this, never on a request's Host header, which the client chooses.
 */
export function publicBaseUrl(config: Config, listeningPort?: number): string {
  if (config.server.public_url) return config.server.public_url.replace(/\/+$/, "");
  return listeningBaseUrl(config.server.host, listeningPort ?? config.server.port);
}
