/**
 * Scheduled scans (src/schedules): the scheduler's loop.
 */
import { FleetConfig } from './fleet-config';

export class SchedulesConfig extends FleetConfig {}
