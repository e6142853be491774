import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app';
import { ConfigError, loadAppConfig } from './config/app-config';

async function main(): Promise<void> {
  const config = loadAppConfig();
  const app = await createApp(config);
  await app.listen({ port: config.PORT, host: config.HOST });
  new Logger('scanqueue').log(
    `Listening on http://${config.HOST}:${config.PORT}${config.CONTEXT_PATH} (docs: ${config.CONTEXT_PATH}/docs)`,
  );
}

main().catch((error: unknown) => {
  // A bad configuration names the variable; anything else is a startup failure with its stack.
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
