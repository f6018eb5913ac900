import { randomBytes } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { type Db, sql, sqlPluck } from "../../db";
import { nextUlid, nowIso } from "../../db/ids";
import { ApiError } from "../../http/errors";

/** A portal token names this audience; an API-key JWT or any other token of ours never does. */
const AUDIENCE = "tollgate:customer-portal";
const ISSUER = "tollgate";
const SIGNING_KEY_SETTING = "customer_portal.signing_key";

export interface PortalSession {
  tenantId: string;
  environmentId: string;
  customerId: string;
  externalId: string;
}

export const INVALID_SESSION = () => new ApiError(401, "permission_denied", "Invalid or expired session token");
export const SESSION_REQUIRED = () => new ApiError(401, "permission_denied", "Session token required");

/**
 * Customer-portal session tokens: HS256 JWTs signed with a key used for nothing else, bound to
 * one customer in one tenant and environment, with an audience and an expiry.
 */
export class PortalTokens {
  readonly #key: Uint8Array;

  constructor(
    db: Db,
    configuredKey: string,
    readonly ttlSeconds: number,
  ) {
    this.#key = new TextEncoder().encode(configuredKey || storedSigningKey(db));
  }

  async issue(session: PortalSession): Promise<{ token: string; expiresAt: string }> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + this.ttlSeconds;
    const token = await new SignJWT({ tid: session.tenantId, env: session.environmentId, ext: session.externalId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(session.customerId)
      .setJti(nextUlid())
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** The session a token carries; any defect (signature, audience, expiry, shape) is a 401. */
  async verify(token: string): Promise<PortalSession> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: ["HS256"],
        audience: AUDIENCE,
        issuer: ISSUER,
        requiredClaims: ["sub", "exp"],
      });
      const { tid, env, ext, sub } = payload;
      if (typeof tid !== "string" || typeof env !== "string" || typeof ext !== "string" || typeof sub !== "string") {
        throw INVALID_SESSION();
      }
      return { tenantId: tid, environmentId: env, customerId: sub, externalId: ext };
    } catch (error) {
      if (error instanceof ApiError || error instanceof joseErrors.JOSEError) throw INVALID_SESSION();
      throw error;
    }
  }
}

/** The generated signing key, created on first use and kept so tokens outlive a restart. */
function storedSigningKey(db: Db): string {
  sql(db, "INSERT OR IGNORE INTO settings (key, value, created_at) VALUES (?, ?, ?)").run(
    SIGNING_KEY_SETTING,
    randomBytes(32).toString("base64url"),
    nowIso(),
  );
  return sqlPluck(db, "SELECT value FROM settings WHERE key = ?").get(SIGNING_KEY_SETTING) as string;
}
