/**
 * nats-server for the events suite: found by NATS_SERVER_BIN or on PATH (no npm package ships it),
 * started by the test itself on a free loopback port with JetStream in a temporary store, so a run
 * needs no NATS of the machine's and leaves none behind. Stoppable and restartable (same port, same
 * store) to test NATS going down.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { connect } from '@nats-io/transport-node';
import { Resource, tempDir, terminate, track } from './resources';
import { requireProgram } from './requirements';
import { freePort } from './test-server';

/** nats-server's path, or undefined after the suite's skip line. */
export function requireNatsServer(skips: string): string | undefined {
  return requireProgram('nats-server', {
    skips,
    envVariable: 'NATS_SERVER_BIN',
    how: 'install nats-server (Debian/Ubuntu: apt-get install nats-server; or a release binary of nats-io/nats-server) on PATH, or set NATS_SERVER_BIN to its path',
  });
}

export class NatsTestServer {
  private child?: ChildProcess;
  private output = '';
  private readonly resource: Resource;

  private constructor(
    private readonly program: string,
    readonly port: number,
    private readonly store: { path: string } & Resource,
  ) {
    this.resource = track(`nats-server on port ${port}`, async () => {
      await this.down();
      await store.release();
    });
  }

  /** A port and a JetStream store folder; the server is not started yet. */
  static async create(program: string): Promise<NatsTestServer> {
    return new NatsTestServer(program, await freePort(), await tempDir('scanqueue-test-nats'));
  }

  /** Created and started. */
  static async start(program: string): Promise<NatsTestServer> {
    const server = await NatsTestServer.create(program);
    await server.up();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts it and waits until it accepts connections. */
  async up(): Promise<void> {
    const child = spawn(
      this.program,
      ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.store.path],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    for (const deadline = Date.now() + 20_000; ;) {
      if (child.exitCode !== null)
        throw new Error(`nats-server exited with ${child.exitCode}:\n${this.output}`);
      try {
        const nc = await connect({ servers: this.url, reconnect: false });
        await nc.close();
        return;
      } catch {
        if (Date.now() > deadline)
          throw new Error(`nats-server did not listen on ${this.url}:\n${this.output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /** Stops it; up() starts it again with the same store. */
  async down(): Promise<void> {
    if (this.child) await terminate(this.child);
  }

  /** Stops it and removes its store. */
  stop(): Promise<void> {
    return this.resource.release();
  }
}
