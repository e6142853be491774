/**
 * requestTask in front of Nest (issue 15): an idle fleet's polls, thousands a second, skip Nest's
 * router, guard, pipe and interceptor chain, three quarters of an empty poll's CPU (measured: a
 * constant answer from this hook ran 3.7 times the rate of the route). They run the route's own
 * work, TasksController.pollForTask (requestTask but for its NoTaskFound), with what that chain
 * would have done done here, each by the code the chain uses: the permission the route declares
 * (assertRouteAccess, as the guard), the parameters' global check (checkParamValues, as the pipe
 * for an untyped parameter), the success envelope (restSuccess, as the interceptor) and the
 * failures (sendRestFailure, as the exception filter; "No task found.", the answer to nearly every
 * poll, as the filter writes it, serialized once). Everything before the route (the edge: rate
 * limits, authentication, body deadline) and after it (logs, metrics) is Fastify's and runs as
 * for any route. A poll whose form came whole with its headers (nearly all: src/rest/buffered-form.ts)
 * is answered in an onRequest hook, before Fastify reads a body; one still arriving, after Fastify
 * has read it. A multipart poll (ThreadFix's Python client sends one) takes Nest's way, which reads
 * its parts.
 */
import type { Reflector } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertRouteAccess } from '../auth/api-key.guard';
import type { AuthenticatedCaller } from '../auth/authenticated-caller';
import { ROUTE_ACCESS, RouteAccess } from '../auth/require-permission.decorator';
import { takeBufferedForm } from '../rest/buffered-form';
import { checkParamValues } from '../rest/param-values';
import { restParamsOf } from '../rest/rest-params';
import { REST_CONTENT_TYPE, restFailure, restSuccess } from '../rest/rest-response';
import { sendRestFailure } from '../rest/rest-exception.filter';
import { NoTaskFound } from '../tasks/task-errors';
import type { AgentTaskJson } from '../tasks/task-json.mapper';
import { TasksController } from '../tasks/tasks.controller';

/** NoTaskFound's envelope, serialized once: an idle fleet's polls get it thousands of times a second. */
const NO_TASK_FOUND_JSON = JSON.stringify(restFailure(new NoTaskFound().message));

/** The route, as Fastify names it after the URL rewrite (src/rest/rest-url.ts). */
export const REQUEST_TASK_ROUTE = '/rest/tasks/requestTask';

export function installRequestTaskLane(
  fastify: FastifyInstance,
  controller: TasksController,
  reflector: Reflector,
): void {
  const access = reflector.getAllAndOverride<RouteAccess | undefined>(ROUTE_ACCESS, [
    TasksController.prototype.requestTask,
    TasksController,
  ]);
  // Fastify fills in its default when none is given; with none, no form is taken from the buffer.
  const bodyLimit = fastify.initialConfig.bodyLimit ?? 0;
  // Callback hooks: every other request passes with no promise made for it. A poll is answered
  // in one and `done` is not called, which ends Fastify's chain (a hook that replied).
  // Nearly every poll: its form is in the request's buffer already (src/rest/buffered-form.ts),
  // so it is answered before Fastify reads a body. After the edge, whose caller it needs.
  fastify.addHook('onRequest', (request, reply, done) => {
    const caller = request.caller;
    if (!isPoll(request) || caller === undefined) return done();
    const form = takeBufferedForm(request, bodyLimit);
    if (form === undefined) return done();
    request.body = form;
    answerPoll(controller, access, caller, request, reply, done);
  });
  // The others, their body read by Fastify. The edge authenticated every API request by now
  // (a urlencoded one by its form's apiKey at the latest); none would be a bug: Nest's way
  // refuses it.
  fastify.addHook('preHandler', (request, reply, done) => {
    const caller = request.caller;
    if (!isPoll(request) || caller === undefined || request.isMultipart()) return done();
    answerPoll(controller, access, caller, request, reply, done);
  });
}

const isPoll = (request: FastifyRequest) =>
  request.routeUrl === REQUEST_TASK_ROUTE && request.method === 'POST';

/**
 * Answers the poll: at once when the controller answered at once (a known agent's empty poll),
 * else when its promise settles. `done` only if even the failure could not be sent.
 */
function answerPoll(
  controller: TasksController,
  access: RouteAccess | undefined,
  caller: AuthenticatedCaller,
  request: FastifyRequest,
  reply: FastifyReply,
  done: (error: Error) => void,
): void {
  try {
    assertRouteAccess(access, caller);
    const params = restParamsOf(request);
    checkParamValues(params);
    const task = controller.pollForTask(caller, request, reply, params);
    if (!(task instanceof Promise)) return sendTask(reply, task);
    task
      .then((found) => sendTask(reply, found))
      .catch((error: unknown) => sendFailure(request, reply, done, error));
  } catch (error) {
    sendFailure(request, reply, done, error);
  }
}

function sendFailure(
  request: FastifyRequest,
  reply: FastifyReply,
  done: (error: Error) => void,
  error: unknown,
): void {
  try {
    sendRestFailure(request, reply, error);
  } catch (failure) {
    done(failure as Error); // Fastify's error path answers
  }
}

function sendTask(reply: FastifyReply, task: AgentTaskJson | undefined): void {
  if (reply.sent) return; // as sendRestFailure: the one answer went already
  if (task) void reply.send(restSuccess(task));
  else void reply.header('content-type', REST_CONTENT_TYPE).send(NO_TASK_FOUND_JSON);
}
