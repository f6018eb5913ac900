import { BlockList, isIP } from "node:net";
import type { Config } from "../config";
import { validationError } from "./errors";

/** The names every machine gives itself; a browser never lets another site's page claim them. */
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];

const LOOPBACK_ADDRESS = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK_ADDRESS.test(host);
}

/** Whether a request's Host (its host name, port and brackets removed, lower case) is served. */
export type HostPolicy = (hostname: string) => boolean;

export const ANY_HOST: HostPolicy = () => true;

/**
 * The hosts this server answers to (issue 23, DNS rebinding). A page on another site whose name
 * an attacker re-points at 127.0.0.1 reaches a loopback server with the attacker's name in Host,
 * and with the development key that would be full access; only the Host header tells such a
 * request apart. So:
 * - on loopback: `localhost`, `127.0.0.1`, `[::1]`, the address listened on, the host of
 *   `server.public_url`, and `server.allowed_hosts`;
 * - elsewhere: when `server.allowed_hosts` is set, those and the public URL's host; when it is
 *   empty, any host (a server on 0.0.0.0 is reached under names Tollgate cannot guess: container
 *   addresses, load balancers; the README says to set the list).
 * `*` in the list serves any host; `*.example.com` any name under example.com.
 */
export function hostPolicy(server: Config["server"]): HostPolicy {
  const { allowed_hosts: allowed, host, public_url } = server;
  if (allowed.includes("*") || (allowed.length === 0 && !isLoopback(host))) return ANY_HOST;
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of allowed) {
    if (entry.startsWith("*.")) suffixes.push(entry.slice(1).toLowerCase());
    else exact.add(normalHost(entry));
  }
  if (public_url) exact.add(normalHost(new URL(public_url).hostname));
  if (isLoopback(host)) for (const name of [...LOOPBACK_NAMES, host]) exact.add(normalHost(name));
  return (hostname) => exact.has(hostname) || suffixes.some((suffix) => hostname.endsWith(suffix));
}

/** Host header values remembered per policy; past this many, the rest are judged each time. */
const REMEMBERED_HOSTS = 256;

/**
 * Whether a Host header value is served, remembered per value: nearly every request of a server
 * names one of a handful of hosts, so the parse is done once per value, not once per request
 * (it was about 4% of a forward-auth request's time). Bounded: a client sending random hosts
 * only stops being remembered.
 */
export function hostHeaderPolicy(serves: HostPolicy): (hostHeader: string) => boolean {
  if (serves === ANY_HOST) return () => true;
  const remembered = new Map<string, boolean>();
  return (hostHeader) => {
    let served = remembered.get(hostHeader);
    if (served === undefined) {
      served = serves(hostnameOf(hostHeader));
      if (remembered.size < REMEMBERED_HOSTS) remembered.set(hostHeader, served);
    }
    return served;
  };
}

/** A host as compared: lower case, without IPv6 brackets or a final dot. */
function normalHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
}

/** The host name of a Host header value (`name:port`, `[v6]:port`), normalised. */
export function hostnameOf(hostHeader: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(hostHeader);
  if (bracketed) return normalHost(bracketed[1] as string);
  // A bare IPv6 address has colons of its own and no port.
  if (isIP(hostHeader) === 6) return normalHost(hostHeader);
  return normalHost(hostHeader.replace(/:\d*$/, ""));
}

export const unknownHost = () =>
  validationError("This server does not answer to the host named in the Host header", {
    host: "is not one of the hosts this server serves (server.allowed_hosts)",
  });

/** An entry of server.allowed_hosts: `*`, `*.` and a name, or a host name or IP address (no scheme, no port). */
export function isAllowedHostEntry(entry: string, isValidHost: (host: string) => boolean): boolean {
  if (entry === "*") return true;
  if (entry.startsWith("*.")) return isValidHost(entry.slice(2)) && isIP(entry.slice(2)) === 0;
  return isValidHost(entry.replace(/^\[(.*)\]$/, "$1"));
}

/** An address or a CIDR range (`10.0.0.0/8`, `::1/128`, `127.0.0.1`), or null when it is neither. */
export function parseCidr(text: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | null {
  const [address = "", prefixText, extra] = text.split("/");
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
  if (prefix < 0 || prefix > max) return null;
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/** Whether an address is inside any of the ranges (validated config entries); IPv4-mapped IPv6 counts as IPv4. */
export function addressMatcher(ranges: readonly string[]): (address: string | null) => boolean {
  const list = new BlockList();
  for (const range of ranges) {
    const cidr = parseCidr(range);
    if (cidr) list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return (address) => {
    if (address === null) return false;
    const version = isIP(address);
    return version !== 0 && list.check(address, version === 4 ? "ipv4" : "ipv6");
  };
}

/**
 * Whether the ranges trust every loopback address, 127.0.0.0/8 and ::1 whole: then a server bound
 * to loopback, whose every connection comes from this machine, need not ask who each peer is.
 */
export function trustsAllLoopback(ranges: readonly string[]): boolean {
  const parsed = ranges.map(parseCidr).filter((range) => range !== null);
  const v4 = parsed.some(
    (range) =>
      range.family === "ipv4" && range.prefix <= 8 && addressMatcher([`${range.address}/${range.prefix}`])("127.0.0.1"),
  );
  const v6 = parsed.some(
    (range) => range.family === "ipv6" && addressMatcher([`${range.address}/${range.prefix}`])("::1"),
  );
  return v4 && v6;
}
