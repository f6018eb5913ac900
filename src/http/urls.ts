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
