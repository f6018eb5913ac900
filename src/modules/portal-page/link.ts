import type { Config } from "../../config";
import { publicBaseUrl } from "../../http/urls";

/** Where Tollgate serves the customer portal page. */
export const PORTAL_PAGE_PATH = "/portal";

/**
 * Where portal links point: `customer_portal.url` when it is set, else Tollgate's own page on
 * `server.public_url`, or without it on the address it listens on (the port it actually got,
 * so port 0 works too; a wildcard host links through loopback, as the start-up guide does).
 * Behind a proxy, or for customers on other machines, set `server.public_url` (or
 * `customer_portal.url` for a page of your own).
 */
export function portalPageUrl(config: Config, listeningPort: number | undefined): string {
  if (config.customer_portal.url) return config.customer_portal.url;
  return publicBaseUrl(config, listeningPort) + PORTAL_PAGE_PATH;
}
