import type { Config } from "../../config";
import { listeningBaseUrl } from "../../http/urls";

/** Where Tollgate serves the customer portal page. */
export const PORTAL_PAGE_PATH = "/portal";

/**
 * Where portal links point: `customer_portal.url` when it is set, else Tollgate's own page on
 * the address it listens on (the port it actually got, so port 0 works too; a wildcard host
 * links through loopback, as the start-up guide does). Behind a proxy, or for customers on
 * other machines, set `customer_portal.url` to the address they can reach.
 */
export function portalPageUrl(config: Config, listeningPort: number | undefined): string {
  if (config.customer_portal.url) return config.customer_portal.url;
  return listeningBaseUrl(config.server.host, listeningPort ?? config.server.port) + PORTAL_PAGE_PATH;
}
