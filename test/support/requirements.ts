/**
 * Outside programs a suite needs, and the one way a suite skips when one is missing: one line on
 * stderr that names what is skipped, what is missing and how to get it. Under
 * SCANQUEUE_TEST_NO_SKIP=1 (CI) a skip is a failure instead: the suite fails to load with that line.
 */
import { accessSync, constants, statSync } from 'node:fs';
import * as path from 'node:path';

export const NO_SKIP_VARIABLE = 'SCANQUEUE_TEST_NO_SKIP';

const ROOT = path.resolve(__dirname, '../..');

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The file `envVariable` names when it is set, else the first `program` on PATH. */
export function findProgram(program: string, envVariable?: string): string | undefined {
  const named = envVariable ? process.env[envVariable] : undefined;
  if (named) return isExecutable(named) ? named : undefined;
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => path.join(dir, program))
    .find(isExecutable);
}

export interface Need {
  /** What the suite skips without it: "the tests over NATS". */
  skips: string;
  /** What is missing: "nats-server not found (NATS_SERVER_BIN unset, not on PATH)". */
  missing: string;
  /** How to get it: "apt-get install nats-server, or set NATS_SERVER_BIN". */
  how: string;
}

/**
 * `found` when it is there; otherwise prints the one skip line and returns undefined, or throws
 * under SCANQUEUE_TEST_NO_SKIP=1.
 */
export function requireOrSkip<T>(found: T | undefined, need: Need): T | undefined {
  if (found !== undefined) return found;
  const testPath = expect.getState().testPath;
  const suite = testPath ? path.relative(ROOT, testPath) : 'a test suite';
  const line = `${suite} (${need.skips}): ${need.missing}; to run them: ${need.how}`;
  if (process.env[NO_SKIP_VARIABLE] === '1')
    throw new Error(`${line} (${NO_SKIP_VARIABLE}=1: a skip is a failure)`);
  process.stderr.write(`SKIPPED ${line}\n`);
  return undefined;
}

/** An outside program, found by `envVariable` or PATH; undefined after the skip line when missing. */
export function requireProgram(
  program: string,
  need: { skips: string; how: string; envVariable?: string },
): string | undefined {
  const where = need.envVariable
    ? process.env[need.envVariable]
      ? `${need.envVariable}=${process.env[need.envVariable]} is not an executable file`
      : `${need.envVariable} unset, not on PATH`
    : 'not on PATH';
  return requireOrSkip(findProgram(program, need.envVariable), {
    skips: need.skips,
    missing: `${program} not found (${where})`,
    how: need.how,
  });
}
