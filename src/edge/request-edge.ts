/**
 * What every request goes through before its route runs, in this order:
 * 1. the body deadline starts (BODY_TIMEOUT_SECONDS; src/rest/body-deadline.ts);
 * 2. the client address's rate limit, before any key is looked up, so random keys cost nothing
 *    once an address is limited;
 * 3. on the API (`/rest/…`), the API key from the `Authorization: APIKEY` header or the `apiKey`
 *    query parameter is authenticated before the body is read: a caller without a valid key never
 *    gets a body read, an upload least of all;
 * 4. the key's rate limit (by key id, so one key has one budget however it is presented);
 * 5. an authenticated upload is released from the body deadline (its own timeouts apply).
 *
 * The one exception is ThreadFix's legacy `apiKey` form field: a urlencoded request without a key
 * in its header or query string has its body read (under the body deadline and MAX_FIELD_BYTES)
 * and is authenticated just after, before validation. The guard (src/auth/api-key.guard.ts) then
 * reuses the caller found here and checks the route's permission.
 */
import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { andThen, MaybePromise } from '../async/maybe-promise';
import { presentedApiKey } from '../auth/api-key.guard';
import { ApiKeysService } from '../auth/api-keys.service';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { armBodyDeadline, releaseBodyDeadline } from '../rest/body-deadline';
import { isUrlencoded } from '../rest/buffered-form';
import { TooManyRequests } from '../rest/rest-error';
import { addressBucket } from './client-address';
import { RateLimiter, RateVerdict } from './rate-limiter';
import { isUploadRoute } from './upload-routes';

const isApiRoute = (request: FastifyRequest) => request.routeUrl?.startsWith('/rest/') === true;

const seconds = (n: number) => `${n} second${n === 1 ? '' : 's'}`;

/** A step that returns a promise only when it has to wait. */
type Step = MaybePromise<void>;

/**
 * Runs a hook's step and tells Fastify when it is done. The steps are written to wait only when
 * they must (a rate limit's sync with the store, a key not cached here), not as async functions:
 * while the request context's AsyncLocalStorage is enabled (Node 20), every promise runs Node's
 * async hooks. An agent's empty poll made 32 promises, 12 of them here; 18 now (app.ts's shutdown
 * refusal was the other two).
 */
function runStep(step: () => Step, done: (error?: Error) => void): void {
  let waiting: Step;
  try {
    waiting = step();
  } catch (error) {
    return done(error as Error);
  }
  if (waiting) waiting.then(() => done(), done);
  else done();
}

@Injectable()
export class RequestEdge {
  constructor(
    private readonly config: AppConfig,
    private readonly apiKeys: ApiKeysService,
    private readonly limiter: RateLimiter,
    private readonly metrics: MetricsService,
  ) {}

  /** Adds the hooks; after the request context and the shutdown refusal (app.ts). */
  install(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', (request, reply, done) =>
      runStep(() => this.beforeBody(request, reply), done),
    );
    fastify.addHook('preValidation', (request, reply, done) =>
      runStep(() => this.afterFormBody(request, reply), done),
    );
  }

  private beforeBody(request: FastifyRequest, reply: FastifyReply): Step {
    armBodyDeadline(request, reply, this.config.BODY_TIMEOUT_SECONDS * 1000);
    return andThen(this.enforce(reply, `a:${addressBucket(request.ip)}`, 'address'), () =>
      this.keyBeforeBody(request, reply),
    );
  }

  private keyBeforeBody(request: FastifyRequest, reply: FastifyReply): Step {
    // Health, metrics and the docs need no key; an unknown path gets its 404 either way.
    if (!isApiRoute(request)) return;
    const presented = presentedApiKey(request); // header or query: the body is not read yet
    if (presented === undefined && isUrlencoded(request)) return; // afterFormBody
    return andThen(this.admit(request, reply, presented), () => {
      if (isUploadRoute(request.routeUrl)) releaseBodyDeadline(request);
    });
  }

  /** The legacy `apiKey` form field, read with the small body under the body deadline. */
  private afterFormBody(request: FastifyRequest, reply: FastifyReply): Step {
    if (request.caller !== undefined || !isApiRoute(request)) return;
    return this.admit(request, reply, presentedApiKey(request));
  }

  /** Authenticates the key, then takes its rate limit. */
  private admit(request: FastifyRequest, reply: FastifyReply, presented?: string): Step {
    const recent = this.apiKeys.recentCaller(presented);
    if (recent === undefined)
      return this.apiKeys
        .authenticate(presented)
        .then((caller) => this.admitCaller(request, reply, caller));
    return this.admitCaller(request, reply, recent);
  }

  private admitCaller(
    request: FastifyRequest,
    reply: FastifyReply,
    caller: AuthenticatedCaller,
  ): Step {
    return andThen(this.enforce(reply, `k:${caller.apiKeyId}`, 'key'), () => {
      request.caller = caller;
    });
  }

  private enforce(reply: FastifyReply, bucket: string, budget: 'address' | 'key'): Step {
    const limit =
      budget === 'key'
        ? this.config.RATE_LIMIT_PER_MINUTE
        : this.config.RATE_LIMIT_PER_ADDRESS_PER_MINUTE;
    if (limit === 0) return;
    const verdict = this.limiter.takeNow(bucket, limit);
    if (verdict === undefined)
      return this.limiter
        .take(bucket, limit)
        .then((synced) => this.refuseOver(reply, synced, limit, budget));
    this.refuseOver(reply, verdict, limit, budget);
  }

  private refuseOver(
    reply: FastifyReply,
    verdict: RateVerdict,
    limit: number,
    budget: 'address' | 'key',
  ): void {
    if (verdict.allowed) return;
    this.metrics.rateLimited(budget);
    void reply.header('retry-after', String(verdict.retryAfterSeconds));
    const who = budget === 'key' ? 'for this API key' : 'from this address';
    throw new TooManyRequests(
      `Rate limit exceeded: ${limit} requests per minute ${who}; retry in ${seconds(verdict.retryAfterSeconds)}.`,
    );
  }
}
