/**
 * What a test file started through the helpers (servers, processes, temporary folders, databases),
 * so that the end of the file releases whatever its own afterAll did not: a beforeAll that threw
 * half-way, a test that failed before its `finally`, a stop forgotten. test-environment.js calls
 * releaseAll() once the file is done; the global teardown (test-run.mjs) then sweeps the whole run,
 * including what was started without these helpers.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export interface Resource {
  /** Releases it once; later calls wait for the same release. */
  release(): Promise<void>;
}

interface Entry extends Resource {
  what: string;
  /** Whether releasing it had anything to do. */
  held?: boolean;
}

const live = new Set<Entry>();

/**
 * `release` frees the resource; it may answer false when there was nothing left to free (a
 * server whose process a test already killed), which keeps it out of the leftovers reported.
 */
export function track(what: string, release: () => Promise<boolean | void>): Resource {
  let released: Promise<void> | undefined;
  const entry: Entry = {
    what,
    release: () =>
      (released ??= (async () => {
        live.delete(entry);
        entry.held = (await release()) !== false;
      })()),
  };
  live.add(entry);
  return entry;
}

/** Releases what is still tracked, newest first; returns what was still held. */
export async function releaseAll(): Promise<string[]> {
  const left = [...live].reverse();
  const failures: string[] = [];
  for (const entry of left)
    await entry.release().catch((error: Error) => failures.push(`${entry.what}: ${error.message}`));
  if (failures.length > 0) throw new Error(`could not release ${failures.join('; ')}`);
  return left.filter((entry) => entry.held).map((entry) => entry.what);
}
// The test environment reads it from the file's global scope (it lives outside the module registry).
(globalThis as { __scanqueueReleaseAll?: () => Promise<string[]> }).__scanqueueReleaseAll =
  releaseAll;

/**
 * The variables that tie a child process to this test run (its id and temporary folder), for
 * children started with a trimmed environment: test-run.mjs finds the run's processes by them.
 */
export function runEnvironment(): Record<string, string> {
  const run = process.env.SCANQUEUE_TEST_RUN;
  return { ...(run ? { SCANQUEUE_TEST_RUN: run } : {}), TMPDIR: tmpdir() };
}

/** A new temporary folder (inside the run's folder), removed on release. */
export async function tempDir(prefix: string): Promise<{ path: string } & Resource> {
  const dir = await mkdtemp(path.join(tmpdir(), `${prefix}-`));
  const resource = track(`temporary folder ${dir}`, () =>
    rm(dir, { recursive: true, force: true }),
  );
  return { path: dir, release: resource.release };
}

/** Resolves when the child has exited (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL if it is still running after `graceMs`; resolves once it has exited. */
export async function terminate(child: ChildProcess, graceMs = 10_000): Promise<void> {
  const exited = exitOf(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A child process the helpers started: terminated on release. */
export function trackProcess(what: string, child: ChildProcess): Resource {
  return track(`${what} (pid ${child.pid})`, () => terminate(child));
}
