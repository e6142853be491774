/**
 * The agent's side of ThreadFix's Tasks API: one method per call, each returning the envelope's
 * `object` or throwing a typed error. Keys travel only in headers and form bodies, never in URLs
 * (proxies log URLs), and no error message here ever contains one.
 */
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type {
  AgentTask,
  NoTaskMessage,
  RequestTaskForm,
  TaskKeysForm,
  TaskMessageForm,
  TaskOperation,
  ThreadFixEnvelope,
} from '@scanqueue/wire';
import { parsePollInterval, POLL_INTERVAL_HEADER, WAIT_HEADER } from './pacing';

export interface TaskKeys {
  taskId: number;
  secureTaskKey: string;
  agentKey: string;
}

/** An answer as parsed, before it is checked: the envelope's fields, any of them missing or wrong. */
type Envelope = { [field in keyof ThreadFixEnvelope<unknown>]?: unknown };

/** The server could not be reached or answered 5xx/408/429: worth retrying later. */
export class TransientError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The server refused the call (4xx): retrying the same call will not help. */
export class RefusedError extends Error {
  constructor(
    readonly status: number,
    readonly serverMessage: string,
  ) {
    super(`HTTP ${status}: ${serverMessage}`);
  }
  /** The task was cancelled, timed out or otherwise left the agent's hands. */
  get isConflict(): boolean {
    return this.status === 409;
  }
  /** The API key or agent key is wrong, revoked or lacks permission. */
  get isAuth(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** A long poll given up because the agent is stopping (before any answer came). */
export class PollAbandoned extends Error {
  constructor() {
    super('requestTask abandoned: the agent is stopping');
  }
}

/** The server answered with a redirect the agent will not follow (another origin, or a POST turned GET). */
export class RedirectRefused extends RefusedError {
  constructor(status: number, reason: string) {
    super(status, reason);
  }
}

const NO_TASK: NoTaskMessage = 'No task found.';
const REQUEST_TIMEOUT_MS = 60_000;
/**
 * A long poll's timeout is its wait plus this: the server answers when the wait ends, then claims
 * once more. (Node's fetch gives up on headers after 300 s of its own: pollWaitSeconds stays under
 * 300 − this margin.)
 */
export const LONG_POLL_MARGIN_SECONDS = 30;
/** Same-origin redirects followed per call (a proxy adding a slash, say); more is a loop. */
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Where a redirect may be followed: only to the server's own origin (scheme, host and port), so
 * the API key and the form (agent and task keys) never go anywhere else; and only when the request
 * can go as it was (307/308, or any redirect of a GET), since a POST turned GET would lose its form.
 */
export function redirectTarget(
  from: URL,
  status: number,
  location: string | null,
  method: string,
): URL {
  if (!location) throw new RedirectRefused(status, 'redirect without a Location');
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw new RedirectRefused(status, 'redirect to an invalid Location');
  }
  if (to.origin !== from.origin)
    throw new RedirectRefused(
      status,
      `redirect to another origin (${to.origin}) not followed: the API key and the keys in the form would go with it; if the server moved, set serverUrl to its new address`,
    );
  if (method !== 'GET' && status !== 307 && status !== 308)
    throw new RedirectRefused(status, `redirect (${status}) of a ${method} not followed`);
  return to;
}

/** A plain http:// server that is not this machine: keys cross the network unencrypted. */
export function isCleartextRemote(serverUrl: string): boolean {
  const url = new URL(serverUrl);
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return !(
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host === '::1'
  );
}

function retryAfter(value: string | null | undefined): number | undefined {
  const seconds = value ? Number(value) : NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** Turns an HTTP answer into the envelope's object, or the error that says what to do next. */
function settle(status: number, text: string, retryAfterHeader?: string | null): Envelope {
  let envelope: Envelope | undefined;
  try {
    envelope = JSON.parse(text) as Envelope;
  } catch {
    envelope = undefined;
  }
  const message =
    typeof envelope?.message === 'string' && envelope.message
      ? envelope.message
      : `unexpected answer (${text.length} bytes, not the ThreadFix envelope)`;
  if (status >= 500 || status === 408 || status === 429)
    throw new TransientError(`HTTP ${status}: ${message}`, retryAfter(retryAfterHeader));
  if (status >= 400 || !envelope) throw new RefusedError(status, message);
  return envelope;
}

/** requestTask's answer: a task or none, and the server's pacing. */
export interface PollAnswer {
  task: AgentTask | null;
  /** X-Scanqueue-Poll-Interval, seconds; undefined when the server sent none (or garbage). */
  pollIntervalSeconds?: number;
}

interface CallOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Aborts the call while its answer has not begun (PollAbandoned); ignored after. */
  abandon?: AbortSignal;
}

export class ThreadFixClient {
  private readonly base: string;

  constructor(
    serverUrl: string,
    apiVersion: string,
    private readonly apiKey: string,
  ) {
    this.base = `${serverUrl}/rest/${apiVersion}/tasks/`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `APIKEY ${this.apiKey}`, accept: 'application/json', ...extra };
  }

  private async call(
    operation: TaskOperation,
    form?: RequestTaskForm | TaskMessageForm,
    options: CallOptions = {},
  ): Promise<{ envelope: Envelope; headers: Headers }> {
    const method = form ? 'POST' : 'GET';
    let url = new URL(this.base + operation);
    let response: Response;
    for (let redirects = 0; ; redirects++) {
      // `abandon` cuts the call only until the answer's headers arrive: once the server has
      // answered (it may have claimed a task for us) the answer is read to the end.
      const abandoned = new AbortController();
      const abandon = () => abandoned.abort();
      if (options.abandon?.aborted) throw new PollAbandoned();
      options.abandon?.addEventListener('abort', abandon, { once: true });
      try {
        // Redirects are the agent's to judge (redirectTarget), not fetch's to follow.
        response = await fetch(url, {
          method,
          redirect: 'manual',
          headers: this.headers(options.headers),
          body: form
            ? new URLSearchParams(
                Object.entries(form).map(([k, v]): [string, string] => [k, String(v)]),
              )
            : undefined,
          signal: AbortSignal.any([
            AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),
            abandoned.signal,
          ]),
        });
      } catch (error) {
        if (abandoned.signal.aborted) throw new PollAbandoned();
        throw new TransientError(`cannot reach the server: ${describe(error)}`);
      } finally {
        options.abandon?.removeEventListener('abort', abandon);
      }
      if (!REDIRECT_STATUSES.has(response.status)) break;
      await response.body?.cancel();
      if (redirects === MAX_REDIRECTS)
        throw new RedirectRefused(response.status, `more than ${MAX_REDIRECTS} redirects`);
      url = redirectTarget(url, response.status, response.headers.get('location'), method);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new TransientError(`connection lost while reading the answer: ${describe(error)}`);
    }
    return {
      envelope: settle(response.status, text, response.headers.get('retry-after')),
      headers: response.headers,
    };
  }

  async requestScanAgentKey(): Promise<string> {
    const { envelope } = await this.call('requestScanAgentKey');
    if (envelope.success !== true || typeof envelope.object !== 'string')
      throw new RefusedError(200, String(envelope.message || 'no agent key in the answer'));
    return envelope.object;
  }

  /**
   * The next task for one of `scanners` (null when the queue has none), and the seconds the server
   * asks the agent to wait before polling again (undefined: it said nothing, or nothing readable).
   * With `waitSeconds` > 0 it is a long poll: the server holds the request until a task is queued
   * or the wait is over; a server that does not long-poll ignores the header and answers at once.
   * `abandon` (the agent stopping) gives up a poll still waiting for its answer: PollAbandoned.
   */
  async requestTask(
    agentKey: string,
    scanners: string[],
    agentConfig: string,
    poll: { waitSeconds: number; abandon?: AbortSignal },
  ): Promise<PollAnswer> {
    const form: RequestTaskForm = {
      scanners: scanners.join(','),
      agentConfig,
      scanAgentSecureKey: agentKey,
    };
    const { envelope, headers } = await this.call('requestTask', form, {
      headers: poll.waitSeconds > 0 ? { [WAIT_HEADER]: String(poll.waitSeconds) } : {},
      timeoutMs: Math.max(REQUEST_TIMEOUT_MS, (poll.waitSeconds + LONG_POLL_MARGIN_SECONDS) * 1000),
      abandon: poll.abandon,
    });
    const pollIntervalSeconds = parsePollInterval(headers.get(POLL_INTERVAL_HEADER));
    if (envelope.success !== true) {
      if (envelope.message === NO_TASK) return { task: null, pollIntervalSeconds };
      throw new RefusedError(200, String(envelope.message || 'requestTask failed'));
    }
    const task = envelope.object as AgentTask | null;
    if (!task || typeof task.taskId !== 'number' || typeof task.secureTaskKey !== 'string')
      throw new TransientError('requestTask answered success without a task');
    return { task, pollIntervalSeconds };
  }

  async taskStatusUpdate(keys: TaskKeys, message: string): Promise<void> {
    await this.call('taskStatusUpdate', { ...keyFields(keys), message });
  }

  async failTask(keys: TaskKeys, message: string): Promise<void> {
    await this.call('failTask', { ...keyFields(keys), message });
  }

  /**
   * Uploads the result as multipart, streamed from disk (the encoder is Node's own FormData over
   * a file-backed Blob). Sent through node:http rather than fetch: Node 20's fetch buffers a
   * streamed request body, so a 1 GB report would take 1 GB of memory. The keys go before the
   * file so the server can refuse a stale task before reading the upload.
   */
  async completeTask(
    keys: TaskKeys,
    file: string,
    onProgress: (sentBytes: number, totalBytes: number) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const { size } = await stat(file);
    const form = new FormData();
    for (const [name, value] of Object.entries(keyFields(keys))) form.append(name, String(value));
    form.append('file', await openAsBlob(file), path.basename(file));
    const encoded = new Response(form);
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sent += chunk.length;
        onProgress(Math.min(sent, size), size);
        done(null, chunk);
      },
    });
    const url = new URL(this.base + 'completeTask');
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      headers: this.headers({ 'content-type': encoded.headers.get('content-type') ?? '' }),
      signal,
    });
    // A server that stops reading (or answering) for this long is given up on; the upload is retried.
    request.setTimeout(REQUEST_TIMEOUT_MS, () =>
      request.destroy(new Error(`no progress for ${REQUEST_TIMEOUT_MS / 1000}s`)),
    );
    const answer = new Promise<{ status: number; text: string; retryAfter?: string }>(
      (resolve, reject) => {
        request.once('error', reject);
        request.once('response', (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.once('error', reject);
          response.once('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
              retryAfter: response.headers['retry-after'],
            }),
          );
        });
      },
    );
    // A server that refuses early (stale task, wrong key) answers and closes before the body is
    // sent; the answer, not the broken pipe, is what matters then.
    answer.catch(() => undefined);
    const body = Readable.fromWeb(encoded.body as WebReadableStream);
    const sending = pipeline(body, counter, request).then(
      () => undefined,
      (error: unknown) => error,
    );
    let result: Awaited<typeof answer>;
    try {
      result = await answer;
    } catch (error) {
      if (signal.aborted) throw error;
      throw new TransientError(`upload interrupted: ${describe((await sending) ?? error)}`);
    }
    // An early refusal leaves the rest of the file unsent: stop sending it.
    if (!request.writableFinished) request.destroy();
    // node:http follows no redirect; say why the upload went nowhere (the stream cannot be replayed).
    if (REDIRECT_STATUSES.has(result.status))
      throw new RedirectRefused(result.status, 'redirect of the upload not followed');
    settle(result.status, result.text, result.retryAfter);
  }
}

function keyFields(keys: TaskKeys): TaskKeysForm {
  return {
    scanQueueTaskId: keys.taskId,
    scanAgentSecureKey: keys.agentKey,
    secureTaskKey: keys.secureTaskKey,
  };
}

/** An error's message and cause, for a log line (no request details, so no keys). */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}
