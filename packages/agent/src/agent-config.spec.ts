import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AgentConfigError, loadAgentConfig } from './agent-config';

const dir = mkdtempSync(path.join(tmpdir(), 'agent-config-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(content: unknown): string {
  const name = path.join(dir, `config-${++files}.json`);
  writeFileSync(name, typeof content === 'string' ? content : JSON.stringify(content));
  return name;
}

const VALID = {
  serverUrl: 'http://scanqueue.example:8080/threadfix/',
  apiKey: 'k'.repeat(43),
  scanners: {
    zap: { command: ['zap.sh', '-quickurl', '{targetUrl}', '-quickout', '{outputFile}'] },
  },
};

function errorOf(run: () => unknown): AgentConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof AgentConfigError) return error;
    throw error;
  }
  throw new Error('expected an AgentConfigError');
}

describe('loadAgentConfig', () => {
  it('reads the file, fills in defaults and resolves scanner names', () => {
    const config = loadAgentConfig(file(VALID), {});
    expect(config).toMatchObject({
      serverUrl: 'http://scanqueue.example:8080/threadfix',
      apiVersion: 'latest',
      pollWaitSeconds: 30,
      pollIntervalMinSeconds: 5,
      pollIntervalMaxSeconds: 300,
      statusIntervalSeconds: 30,
      killGraceSeconds: 10,
      keepWorkFiles: false,
    });
    expect(path.isAbsolute(config.workDir)).toBe(true);
    expect(config.scanners).toEqual([
      {
        scanner: expect.objectContaining({
          shortName: 'zap',
          displayName: 'OWASP Zed Attack Proxy',
        }),
        command: VALID.scanners.zap.command,
        outputFileName: 'result.xml',
        configFileName: 'scan-config',
        timeoutSeconds: undefined,
      },
    ]);
  });

  it('lets the environment override the file, and finds the file through SCANQUEUE_AGENT_CONFIG', () => {
    const config = loadAgentConfig(undefined, {
      SCANQUEUE_AGENT_CONFIG: file(VALID),
      SCANQUEUE_AGENT_SERVER_URL: 'https://other.example/threadfix',
      SCANQUEUE_AGENT_API_KEY: 'from-the-environment',
      SCANQUEUE_AGENT_POLL_INTERVAL_MIN_SECONDS: '0.5',
      SCANQUEUE_AGENT_KEEP_WORK_FILES: 'true',
      SCANQUEUE_AGENT_SCANNERS: '{"Burp Suite":{"command":["burp","{targetUrl}"]}}',
    });
    expect(config.serverUrl).toBe('https://other.example/threadfix');
    expect(config.apiKey).toBe('from-the-environment');
    expect(config.pollIntervalMinSeconds).toBe(0.5);
    expect(config.keepWorkFiles).toBe(true);
    expect(config.scanners.map((entry) => entry.scanner.shortName)).toEqual(['burp']);
  });

  it('runs from the environment alone', () => {
    const config = loadAgentConfig(undefined, {
      SCANQUEUE_AGENT_SERVER_URL: 'http://h/threadfix',
      SCANQUEUE_AGENT_API_KEY: 'abcdefgh',
      SCANQUEUE_AGENT_SCANNERS: '{"webinspect":{"command":["wi"]}}',
    });
    expect(config.scanners[0].scanner.displayName).toBe('WebInspect');
  });

  it.each<[string, Record<string, unknown>, Record<string, string>, string]>([
    ['missing API key', { apiKey: undefined }, {}, 'apiKey (SCANQUEUE_AGENT_API_KEY): is required'],
    [
      'missing server',
      { serverUrl: undefined },
      {},
      'serverUrl (SCANQUEUE_AGENT_SERVER_URL): is required',
    ],
    [
      'ftp server',
      {},
      { SCANQUEUE_AGENT_SERVER_URL: 'ftp://h/' },
      'serverUrl (SCANQUEUE_AGENT_SERVER_URL): must be an http',
    ],
    [
      'server URL with a key in it',
      { serverUrl: 'http://h/threadfix?apiKey=x' },
      {},
      'serverUrl (SCANQUEUE_AGENT_SERVER_URL): must not carry',
    ],
    [
      'not a URL',
      { serverUrl: 'scanqueue' },
      {},
      'serverUrl (SCANQUEUE_AGENT_SERVER_URL): must be a URL',
    ],
    [
      'negative interval',
      { pollIntervalMinSeconds: -1 },
      {},
      'pollIntervalMinSeconds (SCANQUEUE_AGENT_POLL_INTERVAL_MIN_SECONDS)',
    ],
    [
      'text interval in env',
      {},
      { SCANQUEUE_AGENT_STATUS_INTERVAL_SECONDS: '30s' },
      'statusIntervalSeconds (SCANQUEUE_AGENT_STATUS_INTERVAL_SECONDS)',
    ],
    [
      'max below min',
      { pollIntervalMinSeconds: 10, pollIntervalMaxSeconds: 5 },
      {},
      'pollIntervalMaxSeconds (SCANQUEUE_AGENT_POLL_INTERVAL_MAX_SECONDS): must be >= pollIntervalMinSeconds',
    ],
    ['unknown setting', { pollInterval: 5 }, {}, 'pollInterval: is not a known setting'],
    [
      'no scanners',
      { scanners: {} },
      {},
      'scanners (SCANQUEUE_AGENT_SCANNERS): must map at least one',
    ],
    [
      'scanners not JSON',
      {},
      { SCANQUEUE_AGENT_SCANNERS: '{zap' },
      'scanners (SCANQUEUE_AGENT_SCANNERS): must be JSON',
    ],
    [
      'unknown scanner',
      { scanners: { nikto: { command: ['nikto'] } } },
      {},
      'scanners.nikto: unknown scanner',
    ],
    [
      'a scanner twice',
      { scanners: { zap: { command: ['a'] }, 'OWASP ZAP': { command: ['b'] } } },
      {},
      'scanners.OWASP ZAP: configured twice',
    ],
    [
      'command not an array',
      { scanners: { zap: { command: 'zap.sh -quickurl' } } },
      {},
      'scanners.zap.command: must be a non-empty array',
    ],
    ['empty program', { scanners: { zap: { command: [''] } } }, {}, 'scanners.zap.command[0]'],
    [
      'unknown placeholder',
      { scanners: { zap: { command: ['zap', '{url}'] } } },
      {},
      'scanners.zap.command[1]: unknown placeholder {url}',
    ],
    [
      'path as output file',
      { scanners: { zap: { command: ['zap'], outputFile: '../x.xml' } } },
      {},
      'scanners.zap.outputFile: must be a plain file name',
    ],
    [
      'bad timeout',
      { scanners: { zap: { command: ['zap'], timeoutSeconds: 0 } } },
      {},
      'scanners.zap.timeoutSeconds',
    ],
    [
      'bad boolean',
      { keepWorkFiles: 'yes' },
      {},
      'keepWorkFiles (SCANQUEUE_AGENT_KEEP_WORK_FILES)',
    ],
    ['bad version', { apiVersion: '2' }, {}, 'apiVersion (SCANQUEUE_AGENT_API_VERSION)'],
  ])('names the field: %s', (_, overrides, env, expected) => {
    const error = errorOf(() => loadAgentConfig(file({ ...VALID, ...overrides }), env));
    expect(error.message).toContain(expected);
  });

  it('takes a long-poll wait of whole seconds from 0 (plain polling) to 240, from the file or the environment', () => {
    expect(loadAgentConfig(file({ ...VALID, pollWaitSeconds: 0 }), {}).pollWaitSeconds).toBe(0);
    expect(
      loadAgentConfig(file(VALID), { SCANQUEUE_AGENT_POLL_WAIT_SECONDS: '240' }).pollWaitSeconds,
    ).toBe(240);
    for (const wrong of [-1, 241, 2.5, '10', true]) {
      const error = errorOf(() => loadAgentConfig(file({ ...VALID, pollWaitSeconds: wrong }), {}));
      expect(error.message).toBe(
        'pollWaitSeconds (SCANQUEUE_AGENT_POLL_WAIT_SECONDS): must be a whole number of seconds from 0 (no long poll) to 240',
      );
    }
    expect(
      errorOf(() => loadAgentConfig(file(VALID), { SCANQUEUE_AGENT_POLL_WAIT_SECONDS: 'soon' }))
        .message,
    ).toContain('SCANQUEUE_AGENT_POLL_WAIT_SECONDS');
  });

  it('names the config file when it is missing or not JSON', () => {
    expect(errorOf(() => loadAgentConfig(path.join(dir, 'nope.json'), {})).message).toMatch(
      /^--config: cannot read .*nope\.json/,
    );
    expect(errorOf(() => loadAgentConfig(file('{"apiKey": '), {})).message).toMatch(
      /^--config: .* is not JSON/,
    );
    expect(errorOf(() => loadAgentConfig(file('[]'), {})).message).toMatch(/JSON object/);
  });

  it('accepts the example shipped with the package', () => {
    const example = path.resolve(__dirname, '../scanqueue-agent.example.json');
    const config = loadAgentConfig(example, { SCANQUEUE_AGENT_API_KEY: 'k'.repeat(43) });
    expect(config.scanners.map((entry) => entry.scanner.shortName)).toEqual(['zap', 'burp']);
    expect(config.pollWaitSeconds).toBe(30);
  });

  it('never puts the API key into an error message', () => {
    const secret = 'a-secret-api-key with spaces';
    const error = errorOf(() => loadAgentConfig(file({ ...VALID, apiKey: secret }), {}));
    expect(error.message).toContain('apiKey');
    expect(error.message).not.toContain(secret);
  });
});
