/**
 * The agent's configuration: a JSON file (`--config` or SCANQUEUE_AGENT_CONFIG) overlaid by the
 * environment, validated once at start. Every error names the field (and its variable), so a
 * wrong value stops the agent with exit code 2 before it talks to the server.
 *
 * Validated by hand rather than with class-validator: the file is nested (a map of scanners to
 * argv arrays) and the messages must point at paths such as `scanners.zap.command[1]`.
 */
import { readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { resolveScanner, Scanner, SCANNER_SHORT_NAMES } from './scanners';

/** Placeholders a scanner command may use; each is replaced inside every argv element. */
export const PLACEHOLDERS = [
  'targetUrl',
  'configFile',
  'outputFile',
  'taskId',
  'taskDir',
  'scanner',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export interface ScannerCommand {
  scanner: Scanner;
  /** argv, program first; run without a shell so a target URL can never inject a command. */
  command: string[];
  /** File name (in the task's folder) the command writes its report to. */
  outputFileName: string;
  /** File name (in the task's folder) the task's config blob is written to. */
  configFileName: string;
  /** Kill the command and fail the task after this long; undefined = no limit (the server's timeout applies). */
  timeoutSeconds?: number;
}

export interface AgentConfig {
  /** e.g. http://host:8080/threadfix (no trailing slash). */
  serverUrl: string;
  apiVersion: string;
  apiKey: string;
  /** Shown to admins in the task's assignment status (agentConfig). */
  agentName: string;
  scanners: ScannerCommand[];
  /**
   * Long poll: how long each requestTask asks the server to hold it while no task is queued
   * (X-Scanqueue-Wait); 0: plain polling, as ThreadFix's agents do.
   */
  pollWaitSeconds: number;
  /** Floor of the backoff (errors, or a server that sends no X-Scanqueue-Poll-Interval). */
  pollIntervalMinSeconds: number;
  /** Ceiling of every wait between polls, the server's interval included. */
  pollIntervalMaxSeconds: number;
  statusIntervalSeconds: number;
  /** How long a killed command gets between SIGTERM and SIGKILL. */
  killGraceSeconds: number;
  workDir: string;
  keepWorkFiles: boolean;
}

export class AgentConfigError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** Environment variables, by field; each overrides the file's value. */
export const ENVIRONMENT: Record<string, string> = {
  serverUrl: 'SCANQUEUE_AGENT_SERVER_URL',
  apiVersion: 'SCANQUEUE_AGENT_API_VERSION',
  apiKey: 'SCANQUEUE_AGENT_API_KEY',
  agentName: 'SCANQUEUE_AGENT_NAME',
  scanners: 'SCANQUEUE_AGENT_SCANNERS',
  pollWaitSeconds: 'SCANQUEUE_AGENT_POLL_WAIT_SECONDS',
  pollIntervalMinSeconds: 'SCANQUEUE_AGENT_POLL_INTERVAL_MIN_SECONDS',
  pollIntervalMaxSeconds: 'SCANQUEUE_AGENT_POLL_INTERVAL_MAX_SECONDS',
  statusIntervalSeconds: 'SCANQUEUE_AGENT_STATUS_INTERVAL_SECONDS',
  killGraceSeconds: 'SCANQUEUE_AGENT_KILL_GRACE_SECONDS',
  workDir: 'SCANQUEUE_AGENT_WORK_DIR',
  keepWorkFiles: 'SCANQUEUE_AGENT_KEEP_WORK_FILES',
};
export const CONFIG_FILE_VARIABLE = 'SCANQUEUE_AGENT_CONFIG';

const JSON_FIELDS = new Set(['scanners']);
const NUMBER_FIELDS = new Set([
  'pollWaitSeconds',
  'pollIntervalMinSeconds',
  'pollIntervalMaxSeconds',
  'statusIntervalSeconds',
  'killGraceSeconds',
]);
const BOOLEAN_FIELDS = new Set(['keepWorkFiles']);

type Raw = Record<string, unknown>;

const isObject = (value: unknown): value is Raw =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function readFile(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AgentConfigError('--config', `cannot read ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AgentConfigError('--config', `${file} is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) throw new AgentConfigError('--config', `${file} must hold a JSON object`);
  return parsed;
}

function fromEnvironment(env: NodeJS.ProcessEnv): Raw {
  const raw: Raw = {};
  for (const [field, variable] of Object.entries(ENVIRONMENT)) {
    const value = env[variable];
    if (value === undefined || value.trim() === '') continue;
    const name = `${field} (${variable})`;
    if (JSON_FIELDS.has(field)) {
      try {
        raw[field] = JSON.parse(value);
      } catch {
        throw new AgentConfigError(name, 'must be JSON');
      }
    } else if (NUMBER_FIELDS.has(field)) {
      raw[field] = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
    } else if (BOOLEAN_FIELDS.has(field)) {
      raw[field] =
        value === 'true' || value === '1'
          ? true
          : value === 'false' || value === '0'
            ? false
            : value;
    } else {
      raw[field] = value.trim();
    }
  }
  return raw;
}

/** The field's name as the error shows it: with its environment variable, where it has one. */
const label = (field: string) => (ENVIRONMENT[field] ? `${field} (${ENVIRONMENT[field]})` : field);

function string(raw: Raw, field: string, fallback?: string): string {
  const value = raw[field] ?? fallback;
  if (value === undefined) throw new AgentConfigError(label(field), 'is required');
  if (typeof value !== 'string' || value.trim() === '')
    throw new AgentConfigError(label(field), 'must be a non-empty string');
  return value;
}

function seconds(raw: Raw, field: string, fallback: number, max = 86_400): number {
  const value = raw[field] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max)
    throw new AgentConfigError(label(field), `must be a number of seconds > 0 and <= ${max}`);
  return value;
}

/**
 * The long poll's wait: whole seconds (the server takes no fraction), 0 for none, and under Node
 * fetch's own 300 s limit on an answer's headers once the client's margin is added.
 */
export const MAX_POLL_WAIT_SECONDS = 240;

function pollWait(raw: Raw): number {
  const value = raw.pollWaitSeconds ?? 30;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 0 ||
    value > MAX_POLL_WAIT_SECONDS
  )
    throw new AgentConfigError(
      label('pollWaitSeconds'),
      `must be a whole number of seconds from 0 (no long poll) to ${MAX_POLL_WAIT_SECONDS}`,
    );
  return value;
}

function serverUrl(raw: Raw): string {
  const value = string(raw, 'serverUrl');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AgentConfigError(label('serverUrl'), 'must be a URL like http://host:8080/threadfix');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new AgentConfigError(label('serverUrl'), 'must be an http:// or https:// URL');
  if (url.search || url.hash || url.username || url.password)
    throw new AgentConfigError(
      label('serverUrl'),
      'must not carry a query, fragment or credentials (the API key goes in apiKey)',
    );
  return url.toString().replace(/\/+$/, '');
}

function fileName(value: unknown, field: string, fallback: string): string {
  const name = value ?? fallback;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name))
    throw new AgentConfigError(field, 'must be a plain file name (letters, digits, . _ -)');
  return name;
}

function scannerCommands(raw: Raw): ScannerCommand[] {
  const value = raw.scanners;
  const field = label('scanners');
  if (value === undefined) throw new AgentConfigError(field, 'is required');
  if (!isObject(value) || Object.keys(value).length === 0)
    throw new AgentConfigError(field, 'must map at least one scanner name to { "command": [...] }');
  const seen = new Set<string>();
  return Object.entries(value).map(([name, entry]) => {
    const at = `scanners.${name}`;
    const scanner = resolveScanner(name);
    if (!scanner)
      throw new AgentConfigError(
        at,
        `unknown scanner; use one of ${SCANNER_SHORT_NAMES.join(', ')}`,
      );
    if (seen.has(scanner.shortName))
      throw new AgentConfigError(at, `configured twice (as another name of ${scanner.shortName})`);
    seen.add(scanner.shortName);
    if (!isObject(entry)) throw new AgentConfigError(at, 'must be an object with a "command"');
    const command = entry.command;
    if (!Array.isArray(command) || command.length === 0)
      throw new AgentConfigError(`${at}.command`, 'must be a non-empty array of strings (argv)');
    command.forEach((arg: unknown, i) => {
      if (typeof arg !== 'string' || (i === 0 && arg.trim() === ''))
        throw new AgentConfigError(`${at}.command[${i}]`, 'must be a string (the first non-empty)');
      for (const [, placeholder] of arg.matchAll(/\{([A-Za-z]+)\}/g))
        if (!(PLACEHOLDERS as readonly string[]).includes(placeholder))
          throw new AgentConfigError(
            `${at}.command[${i}]`,
            `unknown placeholder {${placeholder}}; known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`,
          );
    });
    const timeout = entry.timeoutSeconds;
    if (
      timeout !== undefined &&
      (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0)
    )
      throw new AgentConfigError(`${at}.timeoutSeconds`, 'must be a number of seconds > 0');
    const outputFileName = fileName(entry.outputFile, `${at}.outputFile`, 'result.xml');
    const configFileName = fileName(entry.configFile, `${at}.configFile`, 'scan-config');
    if (outputFileName === configFileName)
      throw new AgentConfigError(`${at}.outputFile`, 'must differ from configFile');
    return {
      scanner,
      command: command as string[],
      outputFileName,
      configFileName,
      timeoutSeconds: timeout,
    };
  });
}

/**
 * Reads the file (when one is named) and the environment, and validates the result. Throws
 * AgentConfigError naming the first wrong field.
 */
export function loadAgentConfig(
  configFile: string | undefined,
  env: NodeJS.ProcessEnv,
): AgentConfig {
  const file = configFile ?? env[CONFIG_FILE_VARIABLE];
  const raw: Raw = { ...(file ? readFile(file) : {}), ...fromEnvironment(env) };
  const known = new Set(Object.keys(ENVIRONMENT));
  for (const field of Object.keys(raw))
    if (!known.has(field)) throw new AgentConfigError(field, 'is not a known setting');

  const url = serverUrl(raw);
  const apiVersion = string(raw, 'apiVersion', 'latest');
  if (!/^(latest|v?\d+\.\d+)$/.test(apiVersion))
    throw new AgentConfigError(label('apiVersion'), 'must be latest or like v2.8');
  const apiKey = string(raw, 'apiKey');
  if (!/^[\x21-\x7e]+$/.test(apiKey))
    throw new AgentConfigError(label('apiKey'), 'must be printable ASCII without spaces');
  const pollIntervalMinSeconds = seconds(raw, 'pollIntervalMinSeconds', 5);
  const pollIntervalMaxSeconds = seconds(raw, 'pollIntervalMaxSeconds', 300);
  if (pollIntervalMaxSeconds < pollIntervalMinSeconds)
    throw new AgentConfigError(
      label('pollIntervalMaxSeconds'),
      'must be >= pollIntervalMinSeconds',
    );
  const keepWorkFiles = raw.keepWorkFiles ?? false;
  if (typeof keepWorkFiles !== 'boolean')
    throw new AgentConfigError(label('keepWorkFiles'), 'must be true or false');

  return {
    serverUrl: url,
    apiVersion,
    apiKey,
    agentName: string(raw, 'agentName', hostname()),
    scanners: scannerCommands(raw),
    pollWaitSeconds: pollWait(raw),
    pollIntervalMinSeconds,
    pollIntervalMaxSeconds,
    statusIntervalSeconds: seconds(raw, 'statusIntervalSeconds', 30),
    killGraceSeconds: seconds(raw, 'killGraceSeconds', 10, 600),
    workDir: path.resolve(string(raw, 'workDir', path.join(tmpdir(), 'scanqueue-agent'))),
    keepWorkFiles,
  };
}
