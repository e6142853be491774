/**
 * A PostgreSQL server of a test's own, which it may stop and start again under a running scanqueue
 * (same folder, same port): embedded-pg.mjs as a child process, its folder in the run's temporary
 * folder. Both are released with the test file if the test does not stop them.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { Resource, tempDir, terminate, track } from './resources';
import { freePort, TestServer } from './test-server';

export class RestartablePostgres {
  private child?: ChildProcess;
  private readonly resource: Resource;

  private constructor(
    readonly port: number,
    private readonly folder: { path: string } & Resource,
  ) {
    this.resource = track(`embedded PostgreSQL on port ${port}`, async () => {
      await this.stop();
      await folder.release();
    });
  }

  /** A port and a folder; the server is not started yet. */
  static async create(): Promise<RestartablePostgres> {
    return new RestartablePostgres(await freePort(), await tempDir('scanqueue-test-pg'));
  }

  /** Its admin URL (the `postgres` database). */
  get url(): string {
    return `postgres://postgres:test@127.0.0.1:${this.port}/postgres`;
  }

  /** The wrapper process's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  async start(): Promise<void> {
    const child = spawn(
      process.execPath,
      [path.join(__dirname, 'embedded-pg.mjs'), this.folder.path, String(this.port)],
      // stdin stays open while this process lives: the wrapper stops PostgreSQL when it closes.
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited with ${code}`)));
    });
  }

  /** Stops the server (a clean shutdown); start() brings it back with its data. */
  async stop(): Promise<void> {
    if (this.child) await terminate(this.child, 30_000);
  }

  /** Stops it and removes its folder. */
  remove(): Promise<void> {
    return this.resource.release();
  }
}

/**
 * For a describe block: a scanqueue server on a PostgreSQL of its own, which the block's tests may
 * stop and start under it. Both are started before the block's tests and removed after them.
 */
export function serverOnRestartablePostgres(): { pg: RestartablePostgres; server: TestServer } {
  const setup = {} as { pg: RestartablePostgres; server: TestServer };
  beforeAll(async () => {
    setup.pg = await RestartablePostgres.create();
    await setup.pg.start();
    setup.server = await TestServer.start({ DATABASE_URL: setup.pg.url });
  }, 120_000);
  afterAll(async () => {
    // Each may be missing when beforeAll failed; the server goes before its database.
    await setup.server?.stop();
    await setup.pg?.remove();
  });
  return setup;
}
