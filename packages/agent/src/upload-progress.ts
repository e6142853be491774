/**
 * Upload progress: a cli-progress bar on stdout when it is a terminal (the agent's log lines go
 * to stderr, so `scanqueue-agent 2>agent.log` shows the bar and keeps the log clean), otherwise a
 * log line at each quarter, so a log file shows a long upload advancing without a flood of lines.
 */
import { SingleBar } from 'cli-progress';
import { AgentLog } from './agent-log';

export class UploadProgress {
  private readonly bar?: SingleBar;
  private loggedQuarter = 0;

  constructor(
    private readonly log: AgentLog,
    private readonly label: string,
    total: number,
    onTerminal: boolean,
  ) {
    if (onTerminal) {
      this.bar = new SingleBar({
        format: `${label} upload [{bar}] {percentage}% | {value}/{total} bytes | {eta_formatted}`,
        stream: process.stdout,
        hideCursor: true,
        clearOnComplete: false,
      });
      this.bar.start(total, 0);
    }
  }

  update(sent: number, total: number): void {
    if (this.bar) {
      this.bar.update(sent);
      return;
    }
    const quarter = total > 0 ? Math.floor((sent / total) * 4) : 4;
    if (quarter > this.loggedQuarter && quarter < 4) {
      this.loggedQuarter = quarter;
      this.log.info(`${this.label}: upload ${quarter * 25}% (${sent} of ${total} bytes)`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
