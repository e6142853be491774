/**
 * Issue 13: `npm run lint` enforces the module graph (.dependency-cruiser.cjs) and the SQL homes
 * (scripts/check-sql-homes.mjs). Each check is run on a probe file written into src/ for the
 * test: it fails with the forbidden line in the file and passes without it.
 */
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '..');
const run = promisify(execFile);
const probes: string[] = [];

interface CheckResult {
  code: number;
  output: string;
}

async function check(command: string, args: string[]): Promise<CheckResult> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

/** Writes `src/<relative>` (a name unique to this run), to be removed after the suite. */
async function probe(relative: string, source: string): Promise<string> {
  const file = path.join('src', relative.replace('PROBE', `graph-probe-${process.pid}`));
  await writeFile(path.join(ROOT, file), source);
  probes.push(file);
  return file;
}

const depcruise = (...files: string[]) =>
  check(path.join(ROOT, 'node_modules/.bin/depcruise'), [
    ...files,
    '--config',
    '.dependency-cruiser.cjs',
  ]);
const sqlHomes = (...files: string[]) =>
  check(process.execPath, ['scripts/check-sql-homes.mjs', ...files]);

afterAll(async () => {
  await Promise.all(probes.map((file) => rm(path.join(ROOT, file), { force: true })));
});

describe('module graph (dependency-cruiser)', () => {
  it('fails when an infrastructure folder imports a domain module, passes without it', async () => {
    const generic =
      "import { AppConfig } from '../config/app-config';\nexport const a = AppConfig;\n";
    const file = await probe('events/PROBE.ts', generic);
    expect(await depcruise(file)).toEqual({ code: 0, output: expect.any(String) });

    await probe(
      'events/PROBE.ts',
      `${generic}import { TaskStatus } from '../tasks/task-status';\nexport const b = TaskStatus;\n`,
    );
    const failed = await depcruise(file);
    expect(failed.code).not.toBe(0);
    expect(failed.output).toContain('infrastructure-knows-no-domain');
    expect(failed.output).toContain(`${file} → src/tasks/task-status.ts`);
  }, 60_000);

  it('fails when a domain module imports upwards (scans → tasks), passes without it', async () => {
    const file = await probe('scans/PROBE.ts', "export { ScanEntity } from './scan.entity';\n");
    expect((await depcruise(file)).code).toBe(0);

    await probe(
      'scans/PROBE.ts',
      "export { ScanEntity } from './scan.entity';\nexport { TaskStatus } from '../tasks/task-status';\n",
    );
    const failed = await depcruise(file);
    expect(failed.code).not.toBe(0);
    expect(failed.output).toContain('no-upward-from-scans');
  }, 60_000);

  it('fails on a cycle of files', async () => {
    const first = await probe(
      'teams/PROBE-a.ts',
      `import { b } from './graph-probe-${process.pid}-b';\nexport const a = () => b;\n`,
    );
    await probe(
      'teams/PROBE-b.ts',
      `import { a } from './graph-probe-${process.pid}-a';\nexport const b = () => a;\n`,
    );
    const failed = await depcruise(first);
    expect(failed.code).not.toBe(0);
    expect(failed.output).toContain('no-file-cycle');
  }, 60_000);
});

describe('SQL homes (scripts/check-sql-homes.mjs)', () => {
  const statement = 'export const q = `SELECT id FROM scans WHERE application_id = $1`;\n';

  it('fails on an SQL string outside a repository, passes without it', async () => {
    const file = await probe('scans/PROBE.service.ts', 'export const q = `Select a scan file`;\n');
    expect(await sqlHomes(file)).toEqual({ code: 0, output: '' });

    await probe('scans/PROBE.service.ts', statement);
    const failed = await sqlHomes(file);
    expect(failed.code).toBe(1);
    expect(failed.output).toContain(
      `${file}:1: error: SQL outside a repository: SELECT id FROM scans`,
    );
  });

  it('passes the same SQL in the module repository', async () => {
    const file = await probe('scans/PROBE.repository.ts', statement);
    expect(await sqlHomes(file)).toEqual({ code: 0, output: '' });
  });
});
