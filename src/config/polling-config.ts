/**
 * The agents' polls (long-poll requestTask, wake-ups, pacing).
 */
import { SchedulesConfig } from './schedules-config';

export class PollingConfig extends SchedulesConfig {}
