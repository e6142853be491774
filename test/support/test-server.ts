/**
 * One scanqueue process per test file, on a database of its own (created here, dropped on stop),
 * reached over real HTTP on a loopback port. Nest 12 ships as ES modules, which Jest's CommonJS
 * runtime cannot load on Node 20, so the server runs as a child process from the build in dist/
 * (`npm test` builds first) — the same artefact `npm start` runs.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { Client, Pool } from 'pg';
import { exitOf, Resource, runEnvironment, tempDir, terminate, track } from './resources';

export interface Envelope<T = unknown> {
  message: string;
  success: boolean;
  responseCode: number;
  object: T;
}

export interface RestResult<T = unknown> {
  status: number;
  body: Envelope<T>;
}

type Fields = Record<string, string | number | undefined>;
export interface UploadFile {
  field?: string;
  name: string;
  content: Buffer | string;
  type?: string;
}

const ROOT = path.resolve(__dirname, '../..');

function adminUrl(): string {
  const url = process.env.SCANQUEUE_TEST_ADMIN_URL;
  if (!url)
    throw new Error(
      'SCANQUEUE_TEST_ADMIN_URL is not set: run the tests through jest (globalSetup)',
    );
  return url;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * A new database on the run's server, dropped on release. Its name carries the run's id, so the
 * global teardown drops it too if the file could not.
 */
export async function createTestDatabase(): Promise<{
  name: string;
  url: string;
  drop(): Promise<void>;
}> {
  const run = process.env.SCANQUEUE_TEST_RUN ?? 'norun';
  const name = `scanqueue_test_${run}_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const resource = track(`database ${name}`, () =>
    adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  );
  return { name, url: url.toString(), drop: resource.release };
}

export const apiKeyHeader = (key: string) => ({ authorization: `APIKEY ${key}` });

function formBody(fields: Fields): URLSearchParams {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields))
    if (value !== undefined) params.append(name, String(value));
  return params;
}

export class TestServer {
  /** Everything the server printed: read by tests that check what is (not) logged. */
  output = '';

  private child: ChildProcess | undefined;
  /** This instance: its process and its pool. */
  private readonly own: Resource;

  private constructor(
    readonly baseUrl: string,
    readonly adminKey: string,
    readonly db: Pool,
    readonly dataDir: string,
    readonly env: Record<string, string>,
    /** The cluster's database and storage folder: released by the first instance's stop. */
    private readonly shared: Resource | undefined,
  ) {
    // A dropped database (a test's end, or the sweep) ends idle connections; that is no error here.
    db.on('error', () => undefined);
    this.own = track(`scanqueue server ${baseUrl}`, async () => {
      const running = this.child?.exitCode === null && this.child.signalCode === null;
      await this.kill('SIGTERM');
      if (db.ended || db.ending) return running;
      await db.end();
      return true;
    });
  }

  static async start(env: Record<string, string> = {}): Promise<TestServer> {
    return (await TestServer.startCluster(1, env))[0];
  }

  /**
   * One server with no DATABASE_URL, as `npm start` runs on a fresh machine: it starts the embedded
   * PostgreSQL in its DATA_DIR (on a port of its own) and stops it on shutdown. `query` reaches it.
   */
  static async startEmbedded(env: Record<string, string> = {}): Promise<TestServer> {
    return (await TestServer.startCluster(1, env, await freePort()))[0];
  }

  /**
   * `count` scanqueue processes started at the same moment on one new database and one storage
   * folder (instances behind a load balancer). The first one owns the database and drops it on stop.
   * With `embeddedPgPort`, no test database: the servers start the embedded PostgreSQL on that port.
   */
  static async startCluster(
    count: number,
    env: Record<string, string> = {},
    embeddedPgPort?: number,
  ): Promise<TestServer[]> {
    const database = embeddedPgPort === undefined ? await createTestDatabase() : undefined;
    const databaseEnv: Record<string, string> = database
      ? { DATABASE_URL: database.url }
      : { DATABASE_URL: '', EMBEDDED_PG_PORT: String(embeddedPgPort) };
    const dataDir = await tempDir('scanqueue-test-data');
    // Under root the embedded PostgreSQL runs as the OS user postgres, who must enter the folder.
    if (!database) await chmod(dataDir.path, 0o755);
    const shared: Resource = {
      release: async () => {
        await database?.drop();
        await dataDir.release();
      },
    };
    const adminKey = randomBytes(32).toString('base64url');
    const servers: TestServer[] = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const fullEnv: Record<string, string> = {
        ...databaseEnv,
        DATA_DIR: dataDir.path,
        STORAGE_DIR: path.join(dataDir.path, 'scans'),
        BOOTSTRAP_API_KEY: adminKey,
        REAPER_INTERVAL_SECONDS: '0',
        // Background imports would append task history rows other suites count; imports' suite turns them on.
        IMPORT_POLL_INTERVAL_SECONDS: '0',
        RATE_LIMIT_PER_MINUTE: '0',
        // Suites send thousands of requests from 127.0.0.1; the edge suites set their own budgets.
        RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '0',
        INSTANCE_ID: `test-${port}`,
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        ...env,
      };
      servers.push(
        new TestServer(
          `http://127.0.0.1:${port}`,
          adminKey,
          new Pool({
            connectionString: database
              ? fullEnv.DATABASE_URL
              : // The credentials src/database/embedded-postgres.ts gives its server.
                `postgres://postgres:scanqueue-embedded@127.0.0.1:${embeddedPgPort}/scanqueue`,
            max: 4,
          }),
          dataDir.path,
          fullEnv,
          i === 0 ? shared : undefined,
        ),
      );
    }
    const started = await Promise.allSettled(servers.map((server) => server.spawn()));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) {
      // Nobody gets these servers: stop the ones that did start.
      for (const server of servers) await server.stop();
      await shared.release();
      throw failed.reason;
    }
    return servers;
  }

  /** Starts (or restarts) the server process and waits until it is ready. */
  async spawn(): Promise<void> {
    const { PATH, HOME, LANG } = process.env;
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
      cwd: ROOT,
      env: { PATH, HOME, LANG, ...runEnvironment(), ...this.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    // The embedded PostgreSQL's first start runs initdb as well.
    const deadline = Date.now() + (this.env.DATABASE_URL === '' ? 120_000 : 30_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`scanqueue exited with ${child.exitCode}:\n${this.output}`);
      try {
        if ((await fetch(`${this.baseUrl}/threadfix/health`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGKILL');
    throw new Error(`scanqueue did not become ready:\n${this.output}`);
  }

  /** The server process's pid (to sample its memory or signal it). */
  get pid(): number {
    if (!this.child?.pid) throw new Error('scanqueue is not running');
    return this.child.pid;
  }

  /** Resolves when the current server process exits, with its exit code. */
  async exited(): Promise<number | null> {
    const child = this.child;
    if (child) await exitOf(child);
    return child?.exitCode ?? null;
  }

  /**
   * Stops the process and waits for it to exit: SIGKILL simulates a crash; SIGTERM is followed by
   * SIGKILL if the server has not exited 30 s later.
   */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    if (signal === 'SIGTERM') await terminate(child, 30_000);
    else {
      const exited = exitOf(child);
      child.kill(signal);
      await exited;
    }
    return child.exitCode;
  }

  /** Stops this instance; the first of a cluster also drops the database and removes the folder. */
  async stop(): Promise<void> {
    try {
      await this.own.release();
    } finally {
      await this.shared?.release();
    }
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.db.query(sql, params)).rows as T[];
  }

  async request<T = unknown>(
    method: string,
    url: string,
    init: { key?: string; headers?: Record<string, string>; body?: RequestInit['body'] } = {},
  ): Promise<RestResult<T>> {
    const response = await fetch(this.baseUrl + url, {
      method,
      headers: { ...(init.key ? apiKeyHeader(init.key) : {}), ...init.headers },
      body: init.body,
    });
    const text = await response.text();
    try {
      return { status: response.status, body: JSON.parse(text) as Envelope<T> };
    } catch {
      throw new Error(`Not JSON (${response.status}) from ${method} ${url}: ${text.slice(0, 300)}`);
    }
  }

  get<T = unknown>(url: string, key?: string): Promise<RestResult<T>> {
    return this.request<T>('GET', url, { key });
  }

  postForm<T = unknown>(
    url: string,
    key: string | undefined,
    fields: Fields = {},
  ): Promise<RestResult<T>> {
    return this.request<T>('POST', url, { key, body: formBody(fields) });
  }

  postJson<T = unknown>(
    url: string,
    key: string | undefined,
    json: unknown,
    method = 'POST',
  ): Promise<RestResult<T>> {
    return this.request<T>(method, url, {
      key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(json),
    });
  }

  /** A multipart body as curl -F sends it: the fields first, then the file. */
  postMultipart<T = unknown>(
    url: string,
    key: string | undefined,
    fields: Fields,
    file?: UploadFile,
  ): Promise<RestResult<T>> {
    const data = new FormData();
    for (const [name, value] of Object.entries(fields))
      if (value !== undefined) data.append(name, String(value));
    if (file)
      data.append(
        file.field ?? 'file',
        new Blob([file.content], { type: file.type ?? 'application/xml' }),
        file.name,
      );
    return this.request<T>('POST', url, { key, body: data });
  }
}
