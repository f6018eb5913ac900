import { DEV_KEY_HASH, type Config } from "./config";
import { createTollgate } from "./app";
import type { Logger } from "./http/logging";

/** Bun's own ceiling; the real limits (1 MiB, 32 MiB for bulk) are enforced with the error envelope. */
const TRANSPORT_BODY_CEILING = 1024 ** 3;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Starts serving and arranges a graceful stop on SIGTERM and SIGINT. */
export function serve(config: Config, logger: Logger): void {
  const tollgate = createTollgate({ config, logger });
  const devKey = config.auth.api_key.keys[DEV_KEY_HASH];
  if (devKey?.is_active && !LOOPBACK.test(config.server.host)) {
    logger.warn(
      "THE DEFAULT DEVELOPMENT API KEY IS ACTIVE ON A NON-LOOPBACK ADDRESS: anyone who can reach this port has full access. Remove it from auth.api_key.keys.",
      { host: config.server.host },
    );
  }
  tollgate.app.listen({
    hostname: config.server.host,
    port: config.server.port,
    maxRequestBodySize: TRANSPORT_BODY_CEILING,
  });
  const port = tollgate.app.server?.port ?? config.server.port;
  logger.info("listening", { host: config.server.host, port });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info("shutting down");
      // Stop accepting, let in-flight requests finish, then flush pending writes and close the store.
      await tollgate.app.stop();
      await tollgate.close();
      logger.info("stopped");
    })();
    return stopping;
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      stop().then(
        () => process.exit(0),
        (err) => {
          logger.error("shutdown failed", { error: (err as Error).message });
          process.exit(1);
        },
      );
    });
  }
}
