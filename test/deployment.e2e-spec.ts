/**
 * Deployment: docker-compose.yml must wire PostgreSQL, NATS and scanqueue with health checks, and be
 * accepted by `docker compose config` (or Debian's docker-compose 1.29); the Dockerfile's command and
 * the compose health check must point at what the build and the server really provide. The file
 * itself is read with the yaml package; only the compose CLI's rendering needs the CLI, and is
 * skipped with one line when there is none (a failure under SCANQUEUE_TEST_NO_SKIP=1). No Docker
 * engine runs here, so nothing is started in containers.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { findProgram, requireOrSkip } from './support/requirements';
import { TestServer } from './support/test-server';

const ROOT = path.resolve(__dirname, '..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const KEY = 'k'.repeat(40);

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
    expect(written.nats.command).toContain('-js');
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
    expect(app.environment?.NATS_URL).toBe('nats://nats:4222');
  });

  it('requires BOOTSTRAP_API_KEY from the environment, with a message naming it', () => {
    // ${VAR:?message}: compose refuses to render without the variable (checked below with the CLI).
    expect(written.scanqueue.environment?.BOOTSTRAP_API_KEY).toMatch(
      /^\$\{BOOTSTRAP_API_KEY:\?[^}]*BOOTSTRAP_API_KEY[^}]*\}$/,
    );
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
    const result = compose(['config'], { ...process.env, BOOTSTRAP_API_KEY: KEY });
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    const rendered = (parse(result.stdout) as { services: Services }).services;
    expect(Object.keys(rendered).sort()).toEqual(Object.keys(written).sort());
    for (const name of Object.keys(written))
      expect(rendered[name].healthcheck?.test).toEqual(written[name].healthcheck?.test);
    expect(rendered.scanqueue.depends_on).toEqual(written.scanqueue.depends_on);
    expect(rendered.scanqueue.environment).toMatchObject({
      DATABASE_URL: written.scanqueue.environment?.DATABASE_URL,
      NATS_URL: 'nats://nats:4222',
      BOOTSTRAP_API_KEY: KEY,
    });
  });

  it('refuses to render without BOOTSTRAP_API_KEY, naming it', () => {
    const env = { ...process.env };
    delete env.BOOTSTRAP_API_KEY;
    const result = compose(['config'], env);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('BOOTSTRAP_API_KEY');
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
