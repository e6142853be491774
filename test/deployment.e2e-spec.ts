/**
 * Deployment: docker-compose.yml must wire PostgreSQL, NATS and scanqueue with health checks, and be
 * accepted by `docker compose config` (or Debian's docker-compose 1.29); the Dockerfile's command and
 * the compose health check must point at what the build and the server really provide. The file
 * itself is read with the yaml package; only the compose CLI's rendering needs the CLI, and is
 * skipped with one line when there is none (a failure under SCANQUEUE_TEST_NO_SKIP=1). No Docker
 * engine runs here, so nothing is started in containers.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { parse } from 'yaml';
import { givenApplication, queueScan } from './support/agent-flow';
import { requireNatsServer } from './support/nats-server';
import { findProgram, requireOrSkip } from './support/requirements';
import { tempDir, trackProcess } from './support/resources';
import { freePort, TestServer } from './support/test-server';

const ROOT = path.resolve(__dirname, '..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const KEY = 'k'.repeat(40);
const NATS_CONF = path.join(ROOT, 'docker/nats.conf');
/** The variables compose needs from the environment, with values a test sets. */
const SECRETS = {
  BOOTSTRAP_API_KEY: KEY,
  POSTGRES_PASSWORD: 'pg-password-from-env',
  NATS_SCANQUEUE_PASSWORD: 'nats-scanqueue-from-env',
  NATS_SERVICE_PASSWORD: 'nats-service-from-env',
};

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  healthcheck?: { test: string[] | string };
}
type Services = Record<string, ComposeService>;

/** `docker compose` where the plugin exists, else `docker-compose`; undefined when neither does. */
function findCompose(): string[] | undefined {
  const docker = findProgram('docker');
  if (docker && spawnSync(docker, ['compose', 'version']).status === 0) return [docker, 'compose'];
  const legacy = findProgram('docker-compose');
  return legacy ? [legacy] : undefined;
}

const COMPOSE = requireOrSkip(findCompose(), {
  skips: 'the `docker compose config` checks',
  missing: 'no compose CLI (neither `docker compose` nor docker-compose on PATH)',
  how: "apt-get install docker-compose, or Docker's compose plugin",
});
const describeWithCompose = COMPOSE ? describe : describe.skip;

const written = (parse(readFileSync(COMPOSE_FILE, 'utf8')) as { services: Services }).services;

describe('docker-compose.yml', () => {
  it('defines PostgreSQL, NATS (with JetStream) and scanqueue, each with a health check', () => {
    expect(Object.keys(written).sort()).toEqual(['nats', 'postgres', 'scanqueue']);
    for (const name of Object.keys(written)) expect(written[name].healthcheck?.test).toBeTruthy();
    expect(written.nats.image).toMatch(/^nats:/);
    // JetStream and users come from docker/nats.conf (tested below with a real nats-server).
    expect(written.nats.command).toEqual(['-c', '/etc/nats/nats.conf', '-sd', '/data']);
    expect(readFileSync(NATS_CONF, 'utf8')).toMatch(/^jetstream: enabled$/m);
    expect(written.postgres.image).toMatch(/^postgres:/);
  });

  it('starts scanqueue only once PostgreSQL and NATS are healthy, and points it at both', () => {
    const app = written.scanqueue;
    expect(app.build).toBeTruthy();
    expect(app.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      nats: { condition: 'service_healthy' },
    });
    expect(app.environment?.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
    expect(app.environment?.NATS_URL).toMatch(/^nats:\/\/scanqueue:[^@]+@nats:4222$/);
  });

  it('requires BOOTSTRAP_API_KEY from the environment, with a message naming it', () => {
    // ${VAR:?message}: compose refuses to render without the variable (checked below with the CLI).
    expect(written.scanqueue.environment?.BOOTSTRAP_API_KEY).toMatch(
      /^\$\{BOOTSTRAP_API_KEY:\?[^}]*BOOTSTRAP_API_KEY[^}]*\}$/,
    );
  });

  it('holds no fixed password: every one is required from the environment, by name', () => {
    const required = (name: string) => new RegExp(`\\$\\{${name}:\\?[^}]*${name}[^}]*\\}`);
    expect(written.postgres.environment?.POSTGRES_PASSWORD).toMatch(
      new RegExp(`^${required('POSTGRES_PASSWORD').source}$`),
    );
    // The password inside each URL is the variable, nothing else.
    expect(written.scanqueue.environment?.DATABASE_URL).toMatch(
      new RegExp(`^postgres://scanqueue:${required('POSTGRES_PASSWORD').source}@`),
    );
    expect(written.scanqueue.environment?.NATS_URL).toMatch(
      new RegExp(`^nats://scanqueue:${required('NATS_SCANQUEUE_PASSWORD').source}@`),
    );
    for (const name of ['NATS_SCANQUEUE_PASSWORD', 'NATS_SERVICE_PASSWORD'])
      expect(written.nats.environment?.[name]).toMatch(new RegExp(`^${required(name).source}$`));
    // And the NATS configuration takes them from there.
    const conf = readFileSync(NATS_CONF, 'utf8');
    expect(conf).toMatch(/user: scanqueue, password: \$NATS_SCANQUEUE_PASSWORD \}/);
    expect(conf).toMatch(/password: \$NATS_SERVICE_PASSWORD$/m);
  });

  it("scanqueue's health check asks a route the server answers 200 on when ready", async () => {
    const test = written.scanqueue.healthcheck?.test as string[];
    const url = /fetch\('([^']+)'\)/.exec(test.join(' '))?.[1];
    expect(url).toBeDefined();
    const { pathname, port } = new URL(url as string);
    expect(port).toBe('8080');
    const server = await TestServer.start();
    try {
      expect((await fetch(`${server.baseUrl}${pathname}`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

describeWithCompose('docker compose config', () => {
  function compose(args: string[], env: NodeJS.ProcessEnv) {
    const [command, ...prefix] = COMPOSE as string[];
    const result = spawnSync(command, [...prefix, '-f', COMPOSE_FILE, ...args], {
      env,
      encoding: 'utf8',
    });
    if (result.error) throw result.error;
    return result;
  }

  it('accepts the file and renders the same services, with the key from the environment', () => {
    const result = compose(['config'], { ...process.env, ...SECRETS });
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    const rendered = (parse(result.stdout) as { services: Services }).services;
    expect(Object.keys(rendered).sort()).toEqual(Object.keys(written).sort());
    for (const name of Object.keys(written))
      expect(rendered[name].healthcheck?.test).toEqual(written[name].healthcheck?.test);
    expect(rendered.scanqueue.depends_on).toEqual(written.scanqueue.depends_on);
    expect(rendered.scanqueue.environment).toMatchObject({
      DATABASE_URL: `postgres://scanqueue:${SECRETS.POSTGRES_PASSWORD}@postgres:5432/scanqueue`,
      NATS_URL: `nats://scanqueue:${SECRETS.NATS_SCANQUEUE_PASSWORD}@nats:4222`,
      BOOTSTRAP_API_KEY: KEY,
    });
    expect(rendered.postgres.environment).toMatchObject({
      POSTGRES_PASSWORD: SECRETS.POSTGRES_PASSWORD,
    });
  });

  it.each(Object.keys(SECRETS))('refuses to render without %s, naming it', (name) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...SECRETS };
    delete env[name];
    const result = compose(['config'], env);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(name);
  });
});

const NATS_SERVER = requireNatsServer('the docker/nats.conf checks');
const describeWithNats = NATS_SERVER ? describe : describe.skip;

describeWithNats('docker/nats.conf in a real nats-server', () => {
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    const store = await tempDir('scanqueue-test-nats-conf');
    // The compose file's configuration; only the ports and the store move for the test.
    const child = spawn(
      NATS_SERVER as string,
      [
        '-c',
        NATS_CONF,
        '-a',
        '127.0.0.1',
        '-p',
        String(port),
        '-m',
        String(await freePort()),
        '-sd',
        store.path,
      ],
      {
        env: {
          ...process.env,
          NATS_SCANQUEUE_PASSWORD: SECRETS.NATS_SCANQUEUE_PASSWORD,
          NATS_SERVICE_PASSWORD: SECRETS.NATS_SERVICE_PASSWORD,
        },
        stdio: 'ignore',
      },
    );
    trackProcess('nats-server with docker/nats.conf', child);
    for (const deadline = Date.now() + 20_000; ;) {
      try {
        const nc = await connect({
          servers: `127.0.0.1:${port}`,
          user: 'scanqueue',
          pass: SECRETS.NATS_SCANQUEUE_PASSWORD,
          reconnect: false,
        });
        await nc.close();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });

  const as = (user?: 'scanqueue' | 'service') =>
    connect({
      servers: `127.0.0.1:${port}`,
      reconnect: false,
      ...(user === 'scanqueue' ? { user, pass: SECRETS.NATS_SCANQUEUE_PASSWORD } : {}),
      ...(user === 'service' ? { user, pass: SECRETS.NATS_SERVICE_PASSWORD } : {}),
    });

  it('refuses anonymous clients and wrong passwords', async () => {
    await expect(as()).rejects.toThrow(/Authorization Violation/);
    await expect(
      connect({ servers: `127.0.0.1:${port}`, reconnect: false, user: 'service', pass: 'guess' }),
    ).rejects.toThrow(/Authorization Violation/);
  });

  it('lets a service call scanqueue, but not read the requests (API keys) nor publish events', async () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const scanqueue = await as('scanqueue');
    const service = await as('service');
    // A permission violation is reported to the client asynchronously; it keeps its connection.
    service.closed().catch(() => undefined);
    try {
      const requests: string[] = [];
      const events: string[] = [];
      scanqueue.subscribe('scanqueue.tasks.>', {
        callback: (_e: unknown, m: { string(): string }) => requests.push(m.string()),
      });
      scanqueue.subscribe('scanqueue.task.>', {
        callback: (_e: unknown, m: { string(): string }) => events.push(m.string()),
      });
      const overheard: string[] = [];
      const refusals: string[] = [];
      // The server refuses the subscription: the callback gets the error, and no message.
      service.subscribe('scanqueue.tasks.>', {
        callback: (e: Error | null, m: { string(): string }) =>
          e ? refusals.push(e.message) : overheard.push(m.string()),
      });
      await scanqueue.flush();
      await sleep(200);
      service.publish('scanqueue.tasks.queue', '{"apiKey":"from-the-service"}');
      service.publish('scanqueue.task.completed', '{"forged":true}');
      scanqueue.publish('scanqueue.tasks.get', '{"apiKey":"another-caller"}');
      await scanqueue.flush();
      await sleep(300);
      expect(requests.sort()).toEqual([
        '{"apiKey":"another-caller"}',
        '{"apiKey":"from-the-service"}',
      ]);
      expect(events).toEqual([]); // the forged event never arrived
      expect(overheard).toEqual([]); // nor did the service hear another caller's key
      expect(refusals.join('\n')).toMatch(/permissions violation/i);
    } finally {
      await Promise.race([service.close().catch(() => undefined), sleep(1000)]);
      await scanqueue.close();
    }
  });

  it('scanqueue connects with the credentials in NATS_URL and publishes its events', async () => {
    const server = await TestServer.start({
      NATS_URL: `nats://scanqueue:${SECRETS.NATS_SCANQUEUE_PASSWORD}@127.0.0.1:${port}`,
    });
    try {
      await queueScan(server, await givenApplication(server), 'zap');
      let unpublished = -1;
      for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
        const [row] = await server.query<{ n: string }>(
          'SELECT count(*) AS n FROM outbox_events WHERE published_at IS NULL',
        );
        unpublished = Number(row.n);
        if (unpublished === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(unpublished).toBe(0);
      expect(server.output).not.toContain(SECRETS.NATS_SCANQUEUE_PASSWORD);
    } finally {
      await server.stop();
    }
  });
});

describe('Dockerfile', () => {
  it('runs the built server, which the build really produces', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const cmd = /^CMD \[(.+)\]$/m.exec(dockerfile)?.[1];
    expect(cmd).toBeDefined();
    const [binary, script] = JSON.parse(`[${cmd}]`) as string[];
    expect(binary).toBe('node');
    expect(existsSync(path.join(ROOT, script))).toBe(true); // `npm test` builds first
    expect(dockerfile).toMatch(/npm run build/);
    expect(execFileSync('node', ['--version']).toString()).toMatch(/^v20\./); // the image's Node line
    expect(dockerfile).toMatch(/^FROM node:20-/m);
  });
});
