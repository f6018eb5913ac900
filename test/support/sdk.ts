// The official Flexprice TypeScript client (@flexprice/sdk), unmodified, pointed at a real
// Tollgate process over loopback: the way a Flexprice user's code meets Tollgate. The SDK
// validates every response against its own schemas, so a missing field or a wrong type fails
// the call with "Response validation failed" before the test sees a value.
import { expect } from "bun:test";
import { Flexprice } from "@flexprice/sdk";
import { FlexPriceError } from "@flexprice/sdk/sdk/models";
import { DEV_KEY } from "./harness";
import { type ServerProcess, startServer } from "./process";

export { DEV_KEY };

export interface SdkServer {
  server: ServerProcess;
  /** A client authenticated with `key` (default: the development key, a user account's). */
  client(key?: string): Flexprice;
  stop(): Promise<number>;
}

export async function startSdkServer(env: Record<string, string> = {}): Promise<SdkServer> {
  const server = await startServer({ env });
  return {
    server,
    client: (key = DEV_KEY) =>
      new Flexprice({ serverURL: `${server.baseUrl}/v1`, apiKeyAuth: key, retryConfig: { strategy: "none" } }),
    stop: () => server.stop("SIGTERM"),
  };
}

/**
 * Creates a service account with `roles` and a key for it, through the SDK; returns the key.
 * (The SDK's createUser sends only `type` and `roles`: it has no field for a name.)
 */
export async function serviceAccountKey(sdk: Flexprice, roles: string[], keyName = `${roles.join("+")} key`) {
  const account = await sdk.users.createUser({ type: "service_account", roles });
  const created = await sdk.secrets.createApiKey({ name: keyName, type: "private_key", serviceAccountId: account.id });
  return created.apiKey as string;
}

/** The error a call failed with (the test fails if it succeeded). */
export async function failure(call: Promise<unknown>): Promise<FlexPriceError> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FlexPriceError);
  return error as FlexPriceError;
}
