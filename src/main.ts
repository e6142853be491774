import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app';
import { ConfigError, loadAppConfig } from './config/app-config';
import { leaveSignalsToCaller } from './database/embedded-postgres';
import { createRootLogger } from './observability/logger';
import { connectServiceMessages } from './nats/service-transport';

async function main(): Promise<void> {
  const config = loadAppConfig();
  const app = await createApp(config);
  const logger = new Logger('scanqueue');
  // A fleet of long-polling agents reconnects in bursts: Node's default backlog (511) overflows
  // and resets them. The kernel still caps it at net.core.somaxconn.
  await app.listen({ port: config.PORT, host: config.HOST, backlog: 4096 });
  if (config.NATS_URL) connectServiceMessages(app, config);
  logger.log(
    `Listening on http://${config.HOST}:${config.PORT}${config.CONTEXT_PATH} (docs: ${config.CONTEXT_PATH}/docs)`,
  );

  // Graceful shutdown: refuse new requests at once, give in-flight ones (uploads) the grace period,
  // then close the database (and stop the embedded PostgreSQL).
  const shutdown = async (signal: string) => {
    logger.log(
      `${signal}: refusing new requests; in-flight ones have ${config.SHUTDOWN_GRACE_SECONDS}s`,
    );
    app.getHttpAdapter().getInstance().draining = true;
    setTimeout(() => {
      logger.warn('Grace period over; exiting with requests still in flight');
      process.exit(1);
    }, config.SHUTDOWN_GRACE_SECONDS * 1000).unref();
    await app.close();
    process.exit(0);
  };
  const signals = ['SIGTERM', 'SIGINT'] as const;
  for (const signal of signals) process.once(signal, () => void shutdown(signal));
  // The embedded PostgreSQL's library would otherwise stop the database at the same signal.
  leaveSignalsToCaller([...signals]);
}

main().catch((error: unknown) => {
  // A JSON line like every other (LOG_LEVEL may be the bad value): a bad configuration names the
  // variable; anything else is a startup failure with its stack.
  const logger = createRootLogger();
  if (error instanceof ConfigError) logger.fatal(error.message);
  else logger.fatal({ err: error }, 'scanqueue failed to start');
  process.exit(1);
});
