/**
 * An application's scheduled scans: create, list, read, update, delete, enable, disable. One use
 * case = one method = one transaction. A key limited to teams reaches its teams' applications'
 * schedules only; a schedule is looked up within its application (spec §6.4: ThreadFix checked
 * neither), and anything else answers as missing.
 */
import { Injectable } from '@nestjs/common';
import { isURL } from 'class-validator';
import { DataSource, EntityManager } from 'typeorm';
import { ApplicationNotFound } from '../applications/applications.service';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { TeamScope } from '../auth/team-scope';
import { AppConfig } from '../config/app-config';
import { HTTP_URL_RULES } from '../rest/param-rules';
import { BadRestParameter, NotFound, StateConflict } from '../rest/rest-error';
import { resolveScanner } from '../scans/scanner-types';
import { TargetUrlPolicy } from '../tasks/target-url-policy';
import { badScannerType } from '../tasks/task-wording';
import { CreateScheduleParams, ScheduleJson, UpdateScheduleParams } from './schedule.dto';
import { scannerDisplayName, threadFixTimingOf, toScheduleJson } from './schedule.mapper';
import {
  canonicalTimeZone,
  ScheduleTiming,
  serverTimeZone,
  threadFixCron,
  threadFixTiming,
} from './schedule-timing';
import {
  ApplicationRow,
  ScheduleRow,
  SchedulesRepository,
  ScheduleValues,
} from './schedules.repository';

/** ThreadFix's text; the same for a schedule of another application. */
export class ScheduleNotFound extends NotFound {
  constructor() {
    super('That scheduled scan was not found.');
  }
}

const THREADFIX_FIELDS = ['frequency', 'hour', 'minute', 'period', 'day'] as const;

@Injectable()
export class SchedulesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly schedules: SchedulesRepository,
    private readonly targets: TargetUrlPolicy,
  ) {}

  create(
    caller: AuthenticatedCaller,
    applicationId: number,
    params: CreateScheduleParams,
  ): Promise<ScheduleJson> {
    return this.dataSource.transaction(async (tx) => {
      // Locked: two concurrent creates cannot both pass the count below.
      const app = await this.activeApplication(tx, applicationId, caller, { lock: true });
      const max = this.config.SCHEDULES_PER_APPLICATION;
      if ((await this.schedules.countOfApplication(tx, app.id)) >= max)
        throw new StateConflict(
          `Application ${app.id} has ${max} scheduled scans, the most it may have (SCHEDULES_PER_APPLICATION).`,
        );
      const values = await this.valuesOf(tx, app, params, undefined);
      const id = await this.schedules.insert(tx, app.id, caller.apiKeyId, values);
      return this.json(tx, app.id, id);
    });
  }

  async list(scope: TeamScope, applicationId: number): Promise<ScheduleJson[]> {
    const manager = this.dataSource.manager;
    if (!(await this.schedules.applicationInScope(manager, applicationId, scope, { lock: false })))
      throw new ApplicationNotFound(applicationId);
    return (await this.schedules.listOfApplication(manager, applicationId)).map(toScheduleJson);
  }

  async get(scope: TeamScope, applicationId: number, id: number): Promise<ScheduleJson> {
    const manager = this.dataSource.manager;
    if (!(await this.schedules.applicationInScope(manager, applicationId, scope, { lock: false })))
      throw new ApplicationNotFound(applicationId);
    return this.json(manager, applicationId, id);
  }

  /** Changes the fields given; a new timing (or enabling) reckons the next due time from now. */
  update(
    caller: AuthenticatedCaller,
    applicationId: number,
    id: number,
    params: UpdateScheduleParams,
  ): Promise<ScheduleJson> {
    return this.dataSource.transaction(async (tx) => {
      const app = await this.activeApplication(tx, applicationId, caller, { lock: false });
      const row = await this.locked(tx, app.id, id);
      await this.schedules.update(tx, id, await this.valuesOf(tx, app, params, row));
      return this.json(tx, app.id, id);
    });
  }

  setEnabled(
    caller: AuthenticatedCaller,
    applicationId: number,
    id: number,
    enabled: boolean,
  ): Promise<ScheduleJson> {
    return this.update(caller, applicationId, id, { enabled });
  }

  /** ThreadFix's answer: "<frequency> Scan for <scanner> Scheduled Scan successfully deleted." */
  delete(scope: TeamScope, applicationId: number, id: number): Promise<string> {
    return this.dataSource.transaction(async (tx) => {
      if (!(await this.schedules.applicationInScope(tx, applicationId, scope, { lock: false })))
        throw new ApplicationNotFound(applicationId);
      const row = await this.locked(tx, applicationId, id);
      await this.schedules.delete(tx, id);
      return `${row.frequency ?? 'Cron'} Scan for ${scannerDisplayName(row.scanner)} Scheduled Scan successfully deleted.`;
    });
  }

  private async activeApplication(
    tx: EntityManager,
    id: number,
    scope: TeamScope,
    options: { lock: boolean },
  ): Promise<ApplicationRow> {
    const app = await this.schedules.applicationInScope(tx, id, scope, options);
    if (!app || !app.active) throw new ApplicationNotFound(id);
    return app;
  }

  private async locked(tx: EntityManager, applicationId: number, id: number): Promise<ScheduleRow> {
    const row = await this.schedules.find(tx, applicationId, id, { lock: true });
    if (!row) throw new ScheduleNotFound();
    return row;
  }

  private async json(tx: EntityManager, applicationId: number, id: number): Promise<ScheduleJson> {
    const row = await this.schedules.find(tx, applicationId, id);
    if (!row) throw new ScheduleNotFound();
    return toScheduleJson(row);
  }

  /** The stored values after `params` (over `current`, for an update), every rule checked. */
  private async valuesOf(
    tx: EntityManager,
    app: ApplicationRow,
    params: UpdateScheduleParams,
    current: ScheduleRow | undefined,
  ): Promise<ScheduleValues> {
    const scannerName = params.scanner ?? current?.scanner;
    const scanner = scannerName === undefined ? undefined : resolveScanner(scannerName);
    if (!scanner) throw badScannerType(scannerName ?? '');
    const timing = this.timingOf(params, current);
    const targetUrl = params.targetUrl ?? current?.target_url ?? null;
    const scanConfigId = params.scanConfigId ?? current?.scan_config_id ?? null;
    if (scanConfigId !== null) {
      const config = await this.schedules.scanConfig(tx, scanConfigId);
      if (!config || config.application_id !== app.id)
        throw new NotFound(
          `Scan Config file is invalid. (scan config ${scanConfigId} was not found for application ${app.id})`,
        );
      if (config.scanner_short_name !== scanner.shortName)
        throw new BadRestParameter(
          `Scan Config file is invalid. (scan config ${scanConfigId} is for ${config.scanner_short_name}, not ${scanner.shortName})`,
        );
    }
    // The checks queueScan makes, now rather than at every due time.
    if (!targetUrl && !(app.url && isURL(app.url, HTTP_URL_RULES)))
      throw new BadRestParameter(`URL for application ${app.id} needs to be set.`);
    this.targets.check(
      targetUrl ?? (app.url as string),
      targetUrl ? 'targetUrl' : `the URL of application ${app.id}`,
    );
    const enabled = params.enabled ?? current?.enabled ?? true;
    const retimed =
      !current ||
      timing.cron_expression !== current.cron_expression ||
      timing.timezone !== current.timezone ||
      (enabled && !current.enabled);
    const nextRunAt = retimed
      ? ScheduleTiming.of(timing.cron_expression, timing.timezone).nextAfter(new Date())
      : current.next_run_at;
    return {
      scanner: scanner.shortName,
      ...timing,
      target_url: targetUrl,
      scan_config_id: scanConfigId,
      enabled,
      when_pending: params.whenPending ?? current?.when_pending ?? 'skip',
      priority: params.priority ?? current?.priority ?? null,
      retry_limit: params.retryLimit ?? current?.retry_limit ?? null,
      retry_delay_seconds: params.retryDelaySeconds ?? current?.retry_delay_seconds ?? null,
      retry_backoff: params.retryBackoff ?? current?.retry_backoff ?? null,
      next_run_at: nextRunAt,
    };
  }

  /** The cron expression and zone, from a cron expression or ThreadFix's fields (not both). */
  private timingOf(
    params: UpdateScheduleParams,
    current: ScheduleRow | undefined,
  ): Pick<
    ScheduleValues,
    'cron_expression' | 'timezone' | 'frequency' | 'hour' | 'minute' | 'period' | 'day'
  > {
    const threadFixGiven = THREADFIX_FIELDS.some((field) => params[field] !== undefined);
    if (params.cronExpression !== undefined && threadFixGiven)
      throw new BadRestParameter(
        'Give cronExpression or frequency, hour, minute, period and day, not both.',
      );
    const timezone = canonicalTimeZone(
      params.timezone ??
        current?.timezone ??
        (this.config.SCHEDULE_DEFAULT_TIMEZONE || serverTimeZone()),
    );
    const minInterval = this.config.SCHEDULE_MIN_INTERVAL_SECONDS;
    if (threadFixGiven || (params.cronExpression === undefined && !current)) {
      if (!threadFixGiven && !current)
        throw new BadRestParameter(
          "Required parameter 'cronExpression' is missing (or give ThreadFix's frequency, hour, minute, period and day).",
        );
      const stored = current && threadFixTimingOf(current);
      const fields = threadFixTiming({ ...(stored ?? {}), ...definedOf(params) });
      const cron = ScheduleTiming.parse(threadFixCron(fields), timezone, minInterval);
      return { cron_expression: cron.expression, timezone, ...fields };
    }
    if (params.cronExpression === undefined && current) {
      // Only the zone (or nothing of the timing) changes.
      ScheduleTiming.parse(current.cron_expression, timezone, 1);
      return {
        cron_expression: current.cron_expression,
        timezone,
        frequency: current.frequency,
        hour: current.hour,
        minute: current.minute,
        period: current.period,
        day: current.day,
      };
    }
    const cron = ScheduleTiming.parse(params.cronExpression as string, timezone, minInterval);
    return {
      cron_expression: cron.expression,
      timezone,
      frequency: null,
      hour: null,
      minute: null,
      period: null,
      day: null,
    };
  }
}

function definedOf(params: UpdateScheduleParams): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  for (const field of THREADFIX_FIELDS)
    if (params[field] !== undefined) given[field] = params[field];
  return given;
}
