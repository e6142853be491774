/**
 * One run of a scanner command: argv with the task's values filled in, no shell, its own process
 * group (so the agent can stop the scanner and anything it started, and a Ctrl-C in the agent's
 * terminal reaches only the agent, which decides), output appended to a log file in the task's
 * folder, and the last bytes of stderr kept for failTask.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { Placeholder } from './agent-config';

export const STDERR_TAIL_BYTES = 2048;
/** How long stderr may stay open after the command exited (held by a process outside its group). */
const STRAGGLER_WAIT_MS = 2000;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** At most the last STDERR_TAIL_BYTES of stderr, from the first whole line kept. */
  stderrTail: string;
  /** Set when the agent killed the command, with the reason. */
  killedBecause?: string;
  /** The command could not be started (ENOENT, EACCES, …). */
  startError?: Error;
}

/** Replaces every `{name}` of a known placeholder in each argument; unknown ones were refused at config load. */
export function fillPlaceholders(
  command: readonly string[],
  values: Record<Placeholder, string>,
): string[] {
  return command.map((arg) =>
    arg.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) =>
      name in values ? values[name as Placeholder] : whole,
    ),
  );
}

/** Live children, killed on any exit of the agent so none is left orphaned. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) signalGroup(child, 'SIGKILL');
});

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

export class ScannerRun {
  readonly done: Promise<RunResult>;
  private readonly child: ChildProcess;
  private tail = Buffer.alloc(0);
  private truncated = false;
  private killedBecause?: string;
  private exited = false;

  constructor(argv: string[], options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string }) {
    const log = openSync(options.logFile, 'a');
    this.child = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', log, 'pipe'],
    });
    running.add(this.child);
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.tail = Buffer.concat([this.tail, chunk]);
      if (this.tail.length > STDERR_TAIL_BYTES) {
        this.tail = this.tail.subarray(this.tail.length - STDERR_TAIL_BYTES);
        this.truncated = true;
      }
    });
    // stderr also goes to the log file, complete, for whoever investigates later; a full disk
    // costs the log, not the scan.
    this.child.stderr?.pipe(
      createWriteStream(options.logFile, { flags: 'a' }).on('error', () => undefined),
    );
    this.done = new Promise<RunResult>((resolve) => {
      let startError: Error | undefined;
      this.child.once('error', (error) => {
        startError = error;
        // 'close' does not follow a failed spawn on every Node version.
        if (this.child.pid === undefined) finish(null, null);
      });
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.exited) return;
        this.exited = true;
        running.delete(this.child);
        clearTimeout(stragglers);
        closeSync(log);
        resolve({
          code,
          signal,
          stderrTail: this.stderrTail(),
          killedBecause: this.killedBecause,
          startError,
        });
      };
      // 'close' waits for stderr to end, so the tail is complete…
      this.child.once('close', finish);
      let stragglers: NodeJS.Timeout | undefined;
      this.child.once('exit', (code, signal) => {
        // …but a helper the command left running holds stderr open. A scan is over when its
        // command exits: the rest of its process group goes, and one that escaped the group
        // (setsid) is not waited for beyond a moment.
        signalGroup(this.child, 'SIGKILL');
        stragglers = setTimeout(() => {
          this.child.stderr?.destroy();
          finish(code, signal);
        }, STRAGGLER_WAIT_MS);
      });
    });
  }

  /** The kept bytes of stderr; when older output was dropped, without the cut first line. */
  private stderrTail(): string {
    const text = this.tail.toString('utf8');
    const firstBreak = text.indexOf('\n');
    return this.truncated && firstBreak >= 0 && firstBreak < text.length - 1
      ? text.slice(firstBreak + 1)
      : text;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * SIGTERM to the command's process group, SIGKILL after `graceMs`; resolves once the command
   * has exited. Safe to call more than once (the first reason is kept).
   */
  async kill(reason: string, graceMs: number): Promise<RunResult> {
    this.killedBecause ??= reason;
    if (!this.exited) {
      signalGroup(this.child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(this.child, 'SIGKILL'), graceMs);
      await this.done;
      clearTimeout(timer);
    }
    return this.done;
  }
}
