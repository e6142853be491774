/**
 * The tasks' life after queueing (src/tasks): priorities, retries, QUEUED expiry, task heartbeats.
 */
import { EventsConfig } from './events-config';

export class TaskLifecycleConfig extends EventsConfig {}
