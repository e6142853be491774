/**
 * No test run leaves anything behind, even a failing one: jest runs a suite that fails on purpose
 * (test/fixtures/failing-suite/, outside the normal testRegex) after starting servers, PostgreSQL,
 * databases, folders and a process of a process group of its own without cleaning any up. Jest must
 * exit by itself with a failure, and none of it may remain.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import type { Started } from './fixtures/failing-suite/leaves-everything.fail-spec';
import { tempDir } from './support/resources';

const ROOT = path.resolve(__dirname, '..');

/** Running, not merely a zombie waiting for its parent. */
function isAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Live processes whose environment says they belong to the test run `run`. */
function processesOfRun(run: string): number[] {
  const mark = `SCANQUEUE_TEST_RUN=${run}`;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(mark);
      } catch {
        return false;
      }
    })
    .filter(isAlive);
}

async function existingDatabases(names: string[]): Promise<string[]> {
  const client = new Client({ connectionString: process.env.SCANQUEUE_TEST_ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname = ANY($1)',
      [names],
    );
    return rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
}

it('a failing suite that cleans up nothing: jest exits by itself with a failure and nothing it started remains', async () => {
  const scratch = await tempDir('scanqueue-cleanup-test');
  const reportFile = path.join(scratch.path, 'started.jsonl');
  try {
    const jest = spawn(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/jest/bin/jest.js'),
        '--config',
        path.join(ROOT, 'test/fixtures/failing-suite/jest.config.mjs'),
      ],
      {
        cwd: ROOT,
        // Its databases on this run's server, so that this test can look for them there.
        env: {
          ...process.env,
          DATABASE_URL: process.env.SCANQUEUE_TEST_ADMIN_URL,
          SCANQUEUE_FAILING_SUITE_REPORT: reportFile,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    jest.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    jest.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exit = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        jest.kill('SIGKILL');
        resolve('did not exit within 150 s');
      }, 150_000);
      jest.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(code ?? `killed by ${signal}`);
      });
    });
    expect({ exit, output }).toMatchObject({ exit: 1 });

    const started = readFileSync(reportFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Partial<Started>);
    const { run, runDir } = started[0];
    const pids = started.flatMap((s) => s.pids ?? []);
    const databases = started.flatMap((s) => s.databases ?? []);
    const folders = started.flatMap((s) => s.folders ?? []);
    expect(run).toMatch(/^[0-9a-f]{8}$/);
    expect(pids).toHaveLength(4);
    expect(databases).toHaveLength(3);

    // It failed the way it was meant to, and said what it had to clean up.
    expect(output).toContain('deliberate failure in beforeAll');
    expect(output).toContain('deliberate failure in a test');
    expect(output).toMatch(
      /leaves-everything\.fail-spec\.ts left running, released at its end: .*scanqueue server/,
    );
    expect(output).toMatch(
      new RegExp(
        `test run ${run} cleaned up what was left behind: .*sleep.*_past_the_helpers.*forgotten-`,
      ),
    );

    expect(pids.filter(isAlive)).toEqual([]);
    expect(processesOfRun(run as string)).toEqual([]);
    expect([runDir as string, ...folders].filter((folder) => existsSync(folder))).toEqual([]);
    expect(await existingDatabases(databases)).toEqual([]);
  } finally {
    await scratch.release();
  }
}, 180_000);
