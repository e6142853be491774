import { AgentLog } from './agent-log';

describe('AgentLog', () => {
  it('writes one line per event and scrubs registered secrets', () => {
    const lines: string[] = [];
    const log = new AgentLog((line) => lines.push(line));
    log.secret('s3cr3t-agent-key-value');
    log.warn('server said: key s3cr3t-agent-key-value\nwas not recognized');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\S+Z warn  server said: key \[redacted\] ⏎ was not recognized\n$/,
    );
  });
});
