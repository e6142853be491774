/**
 * redis-server for the rate-limit tests over Redis: found by REDIS_SERVER_BIN or on PATH (no npm
 * package ships it), started by the test itself on a free loopback port, with a password, no
 * persistence and a temporary working folder, so a run needs no Redis of the machine's and leaves
 * none behind.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Resource, tempDir, terminate, track } from './resources';
import { requireProgram } from './requirements';
import { freePort } from './test-server';

/** redis-server's path, or undefined after the suite's skip line. */
export function requireRedisServer(skips: string): string | undefined {
  return requireProgram('redis-server', {
    skips,
    envVariable: 'REDIS_SERVER_BIN',
    how: 'install redis-server (Debian/Ubuntu: apt-get install redis-server) on PATH, or set REDIS_SERVER_BIN to its path',
  });
}

export class RedisTestServer {
  private output = '';
  private readonly resource: Resource;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly password: string,
    folder: Resource,
  ) {
    this.resource = track(`redis-server on port ${port}`, async () => {
      await terminate(child);
      await folder.release();
    });
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  /** Started and answering PING. */
  static async start(program: string): Promise<RedisTestServer> {
    const port = await freePort();
    const folder = await tempDir('scanqueue-test-redis');
    const password = randomBytes(12).toString('hex');
    const child = spawn(
      program,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--requirepass',
        password,
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        folder.path,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const server = new RedisTestServer(child, port, password, folder);
    await server.waitUntilReady();
    return server;
  }

  /** redis://:password@127.0.0.1:port, as REDIS_URL takes it. */
  get url(): string {
    return `redis://:${this.password}@127.0.0.1:${this.port}`;
  }

  /** A client of the test's own (closed by the caller). */
  client(): Redis {
    return new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  }

  private async waitUntilReady(): Promise<void> {
    for (const deadline = Date.now() + 20_000; ;) {
      if (this.child.exitCode !== null)
        throw new Error(`redis-server exited with ${this.child.exitCode}:\n${this.output}`);
      const client = new Redis(this.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        if ((await client.ping()) === 'PONG') return;
      } catch {
        if (Date.now() > deadline)
          throw new Error(`redis-server did not listen on port ${this.port}:\n${this.output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        client.disconnect();
      }
    }
  }

  /** Stops it and removes its folder. */
  stop(): Promise<void> {
    return this.resource.release();
  }
}
