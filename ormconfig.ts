/**
 * The DataSource the TypeORM CLI uses (migration:generate|run|revert). It needs DATABASE_URL;
 * the service itself also runs pending migrations at boot.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadAppConfig } from './src/config/app-config';
import { dataSourceOptions } from './src/database/data-source-options';

const config = loadAppConfig();
if (!config.DATABASE_URL) {
  throw new Error(
    'Set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) for the TypeORM CLI.',
  );
}

export default new DataSource(dataSourceOptions(config.DATABASE_URL));
