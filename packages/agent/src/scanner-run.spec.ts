import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fillPlaceholders, ScannerRun } from './scanner-run';

describe('fillPlaceholders', () => {
  const values = {
    targetUrl: 'http://app.example/?q=1;rm -rf /',
    configFile: '/work/task-7/scan-config',
    outputFile: '/work/task-7/result.xml',
    taskId: '7',
    taskDir: '/work/task-7',
    scanner: 'zap',
  };

  it('fills every placeholder inside each argument, keeping arguments apart', () => {
    expect(
      fillPlaceholders(
        [
          'zap.sh',
          '-quickurl',
          '{targetUrl}',
          '-quickout={outputFile}',
          '--id',
          'task-{taskId}-{scanner}',
        ],
        values,
      ),
    ).toEqual([
      'zap.sh',
      '-quickurl',
      'http://app.example/?q=1;rm -rf /',
      '-quickout=/work/task-7/result.xml',
      '--id',
      'task-7-zap',
    ]);
  });

  it('does not expand placeholders found in substituted values', () => {
    expect(
      fillPlaceholders(['{targetUrl}'], { ...values, targetUrl: 'http://x/{taskId}' }),
    ).toEqual(['http://x/{taskId}']);
  });
});

/** Running, not merely a zombie waiting for a reaper (PID 1 in a container may never reap it). */
function isRunning(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('ScannerRun', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'scanner-run-spec-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const start = (script: string) =>
    new ScannerRun(['sh', '-c', script], {
      cwd: dir,
      env: { PATH: process.env.PATH },
      logFile: path.join(dir, 'scanner.log'),
    });

  it('reports the exit code and keeps only the tail of stderr, from a whole line', async () => {
    const result = await start(
      'i=0; while [ $i -lt 300 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 7',
    ).done;
    expect(result.code).toBe(7);
    expect(Buffer.byteLength(result.stderrTail)).toBeLessThanOrEqual(2048);
    expect(result.stderrTail).toMatch(/^line \d+\n/);
    expect(result.stderrTail.endsWith('line 299\n')).toBe(true);
  });

  it('does not hang on a helper the command left running, and kills it', async () => {
    const run = start('sleep 30 & echo $! > helper.pid; exit 0');
    const started = Date.now();
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    const helper = Number(readFileSync(path.join(dir, 'helper.pid'), 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isRunning(helper)).toBe(false);
  });

  it('kills the whole process group, SIGKILL after the grace period for one ignoring SIGTERM', async () => {
    const run = start("trap '' TERM; sleep 30 & echo $! > child.pid; wait");
    while (!existsSync(path.join(dir, 'child.pid')))
      await new Promise((resolve) => setTimeout(resolve, 20));
    const result = await run.kill('test', 300);
    expect(result.killedBecause).toBe('test');
    expect(result.signal).toBe('SIGKILL');
    const child = Number(readFileSync(path.join(dir, 'child.pid'), 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isRunning(child)).toBe(false);
  });

  it('reports a command that cannot start', async () => {
    const run = new ScannerRun([path.join(dir, 'missing')], {
      cwd: dir,
      env: {},
      logFile: path.join(dir, 'scanner.log'),
    });
    const result = await run.done;
    expect(result.startError?.message).toMatch(/ENOENT/);
  });
});
