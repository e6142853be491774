/**
 * One line per event on stderr: `<ISO time> <level> <message>`. Messages are flattened to a
 * single line (a scanner's stderr tail may hold newlines) and scrubbed of every secret the agent
 * holds, as a last guard: callers never pass keys, but a server or scanner message might echo one.
 */
export type Level = 'info' | 'warn' | 'error';

export class AgentLog {
  private readonly secrets = new Set<string>();

  constructor(
    private readonly write: (line: string) => void = (line) => process.stderr.write(line),
  ) {}

  /** Registers a value that must never appear in a log line. */
  secret(value: string): void {
    if (value.length >= 8) this.secrets.add(value);
  }

  /** A task's key, once the task is over: the set stays as small as the work in hand. */
  forget(value: string): void {
    this.secrets.delete(value);
  }

  scrub(text: string): string {
    let clean = text;
    for (const secret of this.secrets) clean = clean.split(secret).join('[redacted]');
    return clean;
  }

  info(message: string): void {
    this.line('info', message);
  }

  warn(message: string): void {
    this.line('warn', message);
  }

  error(message: string): void {
    this.line('error', message);
  }

  private line(level: Level, message: string): void {
    const flat = this.scrub(message).replace(/\r?\n/g, ' ⏎ ');
    this.write(`${new Date().toISOString()} ${level.padEnd(5)} ${flat}\n`);
  }
}
