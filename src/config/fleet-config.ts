/**
 * The agent fleet (src/scan-agents): liveness, pausing agents and scanner queues.
 */
import { TaskLifecycleConfig } from './task-lifecycle-config';

export class FleetConfig extends TaskLifecycleConfig {}
