import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { errorResponses } from "../../http/openapi";
import { authPlugin } from "../auth";
import { VerifyKeyBody, VerifyKeyResponse } from "./model";
import { verifyKey } from "./service";

/**
 * POST /v1/keys/verify (SPEC §13): a service asks whether a key its caller presented is good,
 * with its own credential holding secret:verify (the key_verifier role). The answer is always
 * 200 for a caller that may ask; `valid` and `code` say what was found.
 */
export function verifyController(app: AppContext) {
  return new Elysia({ prefix: "/v1/keys", tags: ["Verify"] })
    .use(authPlugin(app))
    .post("/verify", ({ principal, body }) => verifyKey(app, principal, body), {
      permission: "secret:verify",
      body: VerifyKeyBody,
      response: { 200: VerifyKeyResponse, ...errorResponses(400, 401, 403) },
      detail: {
        summary: "Verify a key presented to your service: valid, and why not (NOT_FOUND, EXPIRED, DISABLED, …)",
      },
    });
}
