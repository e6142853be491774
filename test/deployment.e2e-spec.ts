/**
 * Deployment: docker-compose.yml must be accepted by `docker compose config` (or Debian's
 * docker-compose 1.29) and wire PostgreSQL, NATS and scanqueue with health checks; the Dockerfile's
 * command and the compose health check must point at what the build and the server really provide.
 * No Docker engine runs here, so nothing is started in containers.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { TestServer } from './support/test-server';

const ROOT = path.resolve(__dirname, '..');
const KEY = 'k'.repeat(40);

/** `docker compose` where the plugin exists, else `docker-compose`. */
function composeCommand(): string[] {
  if (spawnSync('docker', ['compose', 'version']).status === 0) return ['docker', 'compose'];
  return ['docker-compose'];
}

function compose(args: string[], env: NodeJS.ProcessEnv) {
  const [command, ...prefix] = composeCommand();
  return spawnSync(command, [...prefix, '-f', path.join(ROOT, 'docker-compose.yml'), ...args], {
    env,
    encoding: 'utf8',
  });
}

interface ComposeService {
  image?: string;
  build?: unknown;
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  healthcheck?: { test: string[] | string };
}

describe('docker-compose.yml', () => {
  let services: Record<string, ComposeService>;

  beforeAll(() => {
    const result = compose(['config'], { ...process.env, BOOTSTRAP_API_KEY: KEY });
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    services = (parse(result.stdout) as { services: Record<string, ComposeService> }).services;
  });

  it('is accepted by compose and defines PostgreSQL, NATS and scanqueue, each with a health check', () => {
    expect(Object.keys(services).sort()).toEqual(['nats', 'postgres', 'scanqueue']);
    for (const name of Object.keys(services)) expect(services[name].healthcheck?.test).toBeTruthy();
    expect(services.nats.image).toMatch(/^nats:/);
    expect(services.postgres.image).toMatch(/^postgres:/);
  });

  it('starts scanqueue only once PostgreSQL and NATS are healthy, and points it at both', () => {
    const app = services.scanqueue;
    expect(app.build).toBeTruthy();
    expect(app.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      nats: { condition: 'service_healthy' },
    });
    expect(app.environment?.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
    expect(app.environment?.NATS_URL).toBe('nats://nats:4222');
    expect(app.environment?.BOOTSTRAP_API_KEY).toBe(KEY);
  });

  it('refuses to render without BOOTSTRAP_API_KEY, naming it', () => {
    const env = { ...process.env };
    delete env.BOOTSTRAP_API_KEY;
    const result = compose(['config'], env);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('BOOTSTRAP_API_KEY');
  });

  it("scanqueue's health check asks a route the server answers 200 on when ready", async () => {
    const test = services.scanqueue.healthcheck?.test as string[];
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
