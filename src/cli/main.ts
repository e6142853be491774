/**
 * The admin CLI beside the server: `npm run cli -- api-key create --name N --permission P …`.
 * It uses the same configuration and database as the server (the embedded one when DATABASE_URL
 * is unset, joining it if the server is running).
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { toApiKeyDto } from '../auth/api-key.dto';
import { ApiKeysRepository } from '../auth/api-keys.repository';
import { ApiKeysService } from '../auth/api-keys.service';
import { ALL_PERMISSIONS, Permission } from '../auth/permission';
import { ConfigError, loadAppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { DatabaseModule } from '../database/database.module';

const USAGE = `Usage:
  npm run cli -- api-key create --name NAME --permission PERMISSION [--permission …] [--restricted] [--team TEAM_ID …]
  npm run cli -- api-key list
  npm run cli -- api-key revoke --id ID
  npm run cli -- migration run
Permissions: ${ALL_PERMISSIONS.join(', ')}`;

class UsageError extends Error {}

async function run(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      permission: { type: 'string', multiple: true },
      restricted: { type: 'boolean', default: false },
      team: { type: 'string', multiple: true },
      id: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals.join(' ');
  if (
    values.help ||
    !['api-key create', 'api-key list', 'api-key revoke', 'migration run'].includes(command)
  ) {
    throw new UsageError(USAGE);
  }
  const config = loadAppConfig({ ...process.env, BOOTSTRAP_API_KEY: undefined });

  @Module({
    imports: [ConfigModule.forRoot(config), DatabaseModule],
    providers: [ApiKeysService, ApiKeysRepository],
  })
  class CliModule {}

  // Migrations run as the DataSource starts; logs go to stderr so stdout carries only results.
  const context = await NestFactory.createApplicationContext(CliModule, {
    logger: ['error', 'warn'],
  });
  try {
    const apiKeys = context.get(ApiKeysService);
    if (command === 'api-key create') {
      const permissions = (values.permission ?? [])
        .flatMap((p) => p.split(','))
        .map((p) => p.trim());
      const unknown = permissions.filter((p) => !ALL_PERMISSIONS.includes(p as Permission));
      if (!values.name || permissions.length === 0 || unknown.length > 0) {
        throw new UsageError(
          `${unknown.length ? `Unknown permission(s): ${unknown.join(', ')}\n` : ''}${USAGE}`,
        );
      }
      const teams = (values.team ?? []).flatMap((t) => t.split(',')).map((t) => t.trim());
      if (teams.some((t) => !/^\d{1,9}$/.test(t))) throw new UsageError(USAGE);
      const { key, plaintext } = await apiKeys.create({
        name: values.name,
        permissions: permissions as Permission[],
        restricted: values.restricted ?? false,
        teamIds: teams.length > 0 ? teams.map(Number) : null,
      });
      console.error(
        `Created API key ${key.id} (${key.name}): ${key.permissions.join(', ')}. It is shown only now:`,
      );
      console.log(plaintext);
    } else if (command === 'api-key list') {
      console.log(JSON.stringify((await apiKeys.list()).map(toApiKeyDto), null, 2));
    } else if (command === 'api-key revoke') {
      if (!values.id || !/^\d+$/.test(values.id)) throw new UsageError(USAGE);
      console.log(JSON.stringify(toApiKeyDto(await apiKeys.revoke(Number(values.id))), null, 2));
    } else {
      console.error('Migrations applied; the schema is up to date.');
    }
  } finally {
    await context.close();
  }
}

run(process.argv.slice(2)).catch((error: unknown) => {
  console.error(
    error instanceof UsageError || error instanceof ConfigError ? error.message : error,
  );
  process.exit(error instanceof UsageError ? 2 : 1);
});
