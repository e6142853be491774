/**
 * Scheduled scans (issue 14): each due time queues exactly one task across instances and restarts
 * (state in PostgreSQL, FOR UPDATE SKIP LOCKED), a time missed while every instance was down is
 * caught up once, the skip policy holds while the previous task runs, and the API keeps ThreadFix's
 * validation messages, scoping and the schedule's own checks.
 */
import { givenAgentKey, givenApplication, TASKS } from './support/agent-flow';
import { RestResult, TestServer } from './support/test-server';
import { eventually } from './support/eventually';

const R = '/threadfix/rest/latest';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Schedule {
  id: number;
  cronExpression: string;
  timezone: string;
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastRun: { outcome: string; taskId: number | null; message: string } | null;
  frequency: string | null;
  enabled: boolean;
  whenPending: string;
}

interface Run {
  due_at: Date;
  fired_at: Date;
  outcome: string;
  task_id: number | null;
  message: string;
}

const schedulesOf = (applicationId: number) => `${R}/applications/${applicationId}/scheduledScans`;

function createSchedule(
  t: TestServer,
  applicationId: number,
  fields: Record<string, unknown>,
  key = t.adminKey,
): Promise<RestResult<Schedule>> {
  return t.postJson<Schedule>(schedulesOf(applicationId), key, fields);
}

async function givenSchedule(
  t: TestServer,
  applicationId: number,
  fields: Record<string, unknown>,
): Promise<Schedule> {
  const res = await createSchedule(t, applicationId, fields);
  if (res.status !== 200) throw new Error(`givenSchedule: ${res.status} ${res.body.message}`);
  return res.body.object;
}

const runsOf = (t: TestServer, scheduleId: number) =>
  t.query<Run>(
    'SELECT due_at, fired_at, outcome, task_id, message FROM scheduled_scan_runs WHERE schedule_id = $1 ORDER BY due_at',
    [scheduleId],
  );

/** The tasks whose queueing history names the schedule. */
const tasksOf = (t: TestServer, scheduleId: number) =>
  t.query<{ task_id: number; message: string }>(
    `SELECT task_id, message FROM scan_statuses
     WHERE from_status IS NULL AND to_status = 1 AND message LIKE $1 ORDER BY task_id`,
    [`Scan queued by schedule ${scheduleId} for %`],
  );

async function firings(t: TestServer): Promise<number> {
  const text = await (await fetch(`${t.baseUrl}/threadfix/metrics`)).text();
  return Number(/^scanqueue_schedule_firings_total\{outcome="queued"\} (\d+)/m.exec(text)?.[1]);
}

describe('three instances and a 1-second cron', () => {
  let servers: TestServer[];
  beforeAll(async () => {
    servers = await TestServer.startCluster(3, {
      SCHEDULE_MIN_INTERVAL_SECONDS: '1',
      SCHEDULER_INTERVAL_SECONDS: '1',
    });
  }, 120_000);
  afterAll(async () => {
    for (const server of [...(servers ?? [])].reverse()) await server.stop();
  });

  it('queue exactly one task per due time for a minute: none missing, none twice', async () => {
    const [a] = servers;
    const app = await givenApplication(a);
    const schedule = await givenSchedule(a, app, {
      scanner: 'ZAP',
      cronExpression: '* * * * * *',
      timezone: 'UTC',
      whenPending: 'queue',
    });
    await sleep(60_000);
    const off = await a.postForm<Schedule>(
      `${schedulesOf(app)}/${schedule.id}/disable`,
      a.adminKey,
    );
    expect(off.body.object).toMatchObject({ enabled: false, nextRunAt: null });
    await sleep(1_500); // a firing in flight when it was disabled commits

    const runs = await runsOf(a, schedule.id);
    expect(runs.length).toBeGreaterThanOrEqual(55);
    for (const [i, run] of runs.entries()) {
      expect(run.outcome).toBe('queued');
      // Consecutive seconds from the first due time to the last: no gap, no repeat.
      if (i > 0) expect(run.due_at.getTime() - runs[i - 1].due_at.getTime()).toBe(1000);
    }
    const tasks = await tasksOf(a, schedule.id);
    expect(tasks.map((task) => task.task_id)).toEqual(
      runs.map((run) => run.task_id).sort((x, y) => (x as number) - (y as number)),
    );
    expect(new Set(tasks.map((task) => task.message)).size).toBe(runs.length);
    expect(tasks.map((task) => task.message).sort()).toEqual(
      runs
        .map((run) => `Scan queued by schedule ${schedule.id} for ${run.due_at.toISOString()}`)
        .sort(),
    );
    // Every instance counted only its own firings; together, one per due time.
    const counts = await Promise.all(servers.map(firings));
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(runs.length);
    const shown = await a.get<Schedule>(`${schedulesOf(app)}/${schedule.id}`, a.adminKey);
    expect(shown.body.object.lastRunAt).toBe(runs[runs.length - 1].due_at.toISOString());
  }, 120_000);
});

describe('every instance stopped across two due times', () => {
  let servers: TestServer[];
  beforeAll(async () => {
    servers = await TestServer.startCluster(2, {
      SCHEDULE_MIN_INTERVAL_SECONDS: '1',
      SCHEDULER_INTERVAL_SECONDS: '1',
      SCHEDULE_MISFIRE_SECONDS: '3',
    });
  }, 120_000);
  afterAll(async () => {
    for (const server of [...(servers ?? [])].reverse()) await server.stop();
  });

  it('catches up exactly one task when they come back, and goes on', async () => {
    const [a] = servers;
    const app = await givenApplication(a);
    const schedule = await givenSchedule(a, app, {
      scanner: 'burp',
      cronExpression: '*/5 * * * * *',
      timezone: 'UTC',
      whenPending: 'queue',
    });
    await eventually('a first run', async () =>
      (await runsOf(a, schedule.id)).length ? true : undefined,
    );
    await Promise.all(servers.map((server) => server.kill('SIGTERM')));
    const before = await runsOf(a, schedule.id);
    const lastBefore = before[before.length - 1].due_at.getTime();
    await sleep(12_000);
    const restartedAt = Date.now();
    await Promise.all(servers.map((server) => server.spawn()));
    await eventually('a run after the restart', async () =>
      (await runsOf(a, schedule.id)).some((run) => run.due_at.getTime() > restartedAt)
        ? true
        : undefined,
    );
    const runs = await runsOf(a, schedule.id);
    // At least two due times passed while no instance ran.
    const missedTimes = Math.floor((restartedAt - lastBefore) / 5000);
    expect(missedTimes).toBeGreaterThanOrEqual(2);
    const caughtUp = runs.filter(
      (run) => run.due_at.getTime() > lastBefore && run.due_at.getTime() < restartedAt,
    );
    expect(caughtUp).toHaveLength(1);
    expect(caughtUp[0]).toMatchObject({ outcome: 'queued', due_at: new Date(lastBefore + 5000) });
    expect(caughtUp[0].fired_at.getTime()).toBeGreaterThanOrEqual(restartedAt);
    expect(caughtUp[0].message).toContain('(caught up:');
    // And nothing twice: one task per run.
    const tasks = await tasksOf(a, schedule.id);
    expect(tasks).toHaveLength(runs.length);
    expect(new Set(runs.map((run) => run.task_id)).size).toBe(runs.length);
  }, 120_000);
});

describe('the schedule API and its policies', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await TestServer.start({
      SCHEDULE_MIN_INTERVAL_SECONDS: '2',
      SCHEDULER_INTERVAL_SECONDS: '1',
      SCHEDULES_PER_APPLICATION: '3',
      SCHEDULE_RUNS_KEPT: '10',
    });
  }, 60_000);
  afterAll(() => t?.stop());

  it('skips a due time while the previous task is still running, and queues anyway with whenPending=queue', async () => {
    const app = await givenApplication(t);
    const schedule = await givenSchedule(t, app, {
      scanner: 'webinspect',
      cronExpression: '*/2 * * * * *',
      timezone: 'UTC',
    });
    expect(schedule.whenPending).toBe('skip');
    const first = await eventually(
      'the first task',
      async () => (await tasksOf(t, schedule.id))[0],
    );
    const agentKey = await givenAgentKey(t);
    const claim = await t.postForm<{ taskId: number }>(`${TASKS}/requestTask`, t.adminKey, {
      scanners: 'WebInspect',
      agentConfig: 'test',
      scanAgentSecureKey: agentKey,
    });
    expect(claim.body.object.taskId).toBe(first.task_id);
    const claimedAt = Date.now();
    // Two due times pass with the task ASSIGNED: recorded as skips, no task queued.
    await eventually('two skips', async () => {
      const skips = (await runsOf(t, schedule.id)).filter((run) => run.outcome === 'skipped');
      return skips.length >= 2 ? true : undefined;
    });
    const runs = await runsOf(t, schedule.id);
    const afterClaim = runs.filter((run) => run.fired_at.getTime() > claimedAt + 100);
    expect(afterClaim.length).toBeGreaterThanOrEqual(2);
    for (const run of afterClaim) {
      expect(run).toMatchObject({
        outcome: 'skipped',
        task_id: null,
        message: `Not queued: a task of schedule ${schedule.id} is still queued or assigned.`,
      });
    }
    expect(await tasksOf(t, schedule.id)).toHaveLength(1);
    const shown = await t.get<Schedule>(`${schedulesOf(app)}/${schedule.id}`, t.adminKey);
    expect(shown.body.object.lastRun).toMatchObject({ outcome: 'skipped', taskId: null });

    const changed = await t.postJson<Schedule>(
      `${schedulesOf(app)}/${schedule.id}`,
      t.adminKey,
      { whenPending: 'queue' },
      'PATCH',
    );
    expect(changed.body.object.whenPending).toBe('queue');
    await eventually('a second task', async () =>
      (await tasksOf(t, schedule.id)).length >= 2 ? true : undefined,
    );
    const [{ status }] = await t.query<{ status: number }>(
      'SELECT status FROM scan_queue_tasks WHERE id = $1',
      [first.task_id],
    );
    expect(status).toBe(2); // still ASSIGNED: queued anyway
    await t.postForm(`${schedulesOf(app)}/${schedule.id}/disable`, t.adminKey);
  }, 60_000);

  it("gives its tasks the schedule's priority and retry policy, else the defaults", async () => {
    const app = await givenApplication(t);
    const tuned = await givenSchedule(t, app, {
      scanner: 'appscan',
      cronExpression: '*/2 * * * * *',
      timezone: 'UTC',
      priority: 7,
      retryLimit: 2,
      retryDelaySeconds: 30,
      retryBackoff: false,
    });
    const plain = await givenSchedule(t, app, {
      scanner: 'acunetix',
      cronExpression: '*/2 * * * * *',
      timezone: 'UTC',
    });
    const taskOf = (scheduleId: number) =>
      eventually('a task', async () => (await tasksOf(t, scheduleId))[0]);
    const [tunedTask, plainTask] = [await taskOf(tuned.id), await taskOf(plain.id)];
    for (const id of [tuned.id, plain.id]) {
      await t.postForm(`${schedulesOf(app)}/${id}/disable`, t.adminKey);
    }
    const rows = await t.query<{
      id: number;
      priority: number;
      retry_limit: number;
      retry_delay_seconds: number;
      retry_backoff: boolean;
    }>(
      `SELECT id, priority, retry_limit, retry_delay_seconds, retry_backoff FROM scan_queue_tasks
       WHERE id = ANY($1::int[]) ORDER BY id`,
      [[tunedTask.task_id, plainTask.task_id]],
    );
    expect(rows.find((row) => row.id === tunedTask.task_id)).toMatchObject({
      priority: 7,
      retry_limit: 2,
      retry_delay_seconds: 30,
      retry_backoff: false,
    });
    // No TASK_RETRY_POLICY in this server: no retries, priority 0.
    expect(rows.find((row) => row.id === plainTask.task_id)).toMatchObject({
      priority: 0,
      retry_limit: 0,
    });
  }, 60_000);

  it('keeps SCHEDULE_RUNS_KEPT runs of a schedule, and the run of a task still pending', async () => {
    const app = await givenApplication(t);
    const schedule = await givenSchedule(t, app, {
      scanner: 'zap',
      cronExpression: '*/2 * * * * *',
      timezone: 'UTC',
    });
    const queued = await t.postForm<{ id: number }>(`${TASKS}/queueScan`, t.adminKey, {
      applicationId: app,
      scannerType: 'zap',
    });
    // 30 old runs; the oldest queued the task above, which is still QUEUED.
    await t.query(
      `INSERT INTO scheduled_scan_runs (schedule_id, due_at, outcome, task_id, message)
       SELECT $1, timestamptz '2020-01-01T00:00:00Z' + i * interval '1 minute',
              CASE WHEN i = 1 THEN 'queued' ELSE 'skipped' END,
              CASE WHEN i = 1 THEN $2::int END, 'old'
       FROM generate_series(1, 30) AS i`,
      [schedule.id, queued.body.object.id],
    );
    const since = new Date();
    await eventually('a firing after the old runs', async () =>
      (await runsOf(t, schedule.id)).some((run) => run.fired_at > since) ? true : undefined,
    );
    await t.postForm(`${schedulesOf(app)}/${schedule.id}/disable`, t.adminKey);
    const runs = await runsOf(t, schedule.id);
    // The newest 10 (the firing included) and the pending task's run; nothing in between.
    expect(runs.length).toBeLessThanOrEqual(11);
    expect(runs[0]).toMatchObject({ task_id: queued.body.object.id, outcome: 'queued' });
    expect(runs.filter((run) => run.message === 'old').length).toBeLessThanOrEqual(10);
    // That run still holds the schedule back (whenPending=skip).
    expect(runs.filter((run) => run.fired_at > since).map((run) => run.outcome)).not.toContain(
      'queued',
    );
  }, 60_000);

  it("refuses bad fields with ThreadFix's messages in the envelope (400)", async () => {
    const app = await givenApplication(t);
    const cases: [Record<string, unknown>, string | RegExp][] = [
      [
        { scanner: 'zap', frequency: 'Daily', hour: 13, minute: 0, period: 'AM' },
        'Input hour as a number from 0 to 12',
      ],
      [
        { scanner: 'zap', frequency: 'Daily', minute: 0, period: 'AM' },
        'Input hour as a number from 0 to 12',
      ],
      [
        { scanner: 'zap', frequency: 'Daily', hour: 1, minute: 60, period: 'AM' },
        'Input minute as a number from 0 to 59',
      ],
      [{ scanner: 'zap', frequency: 'Daily', hour: 1, minute: 5, period: 'XM' }, 'Select AM or PM'],
      [
        { scanner: 'zap', frequency: 'Weekly', hour: 1, minute: 5, period: 'PM' },
        'Select day from list',
      ],
      [
        { scanner: 'zap', frequency: 'Weekly', hour: 1, minute: 5, period: 'PM', day: 'Funday' },
        'Select day from list',
      ],
      [
        { scanner: 'zap', frequency: 'Monthly', hour: 1, minute: 5, period: 'PM' },
        'Select Daily or Weekly',
      ],
      [{ scanner: 'zap', hour: 1, minute: 5, period: 'PM' }, 'Select Daily or Weekly'],
      [{ scanner: 'zap' }, /^Required parameter 'cronExpression' is missing/],
      [{ cronExpression: '0 2 * * *' }, "Required parameter 'scanner' is missing."],
      [{ scanner: 'nessus', cronExpression: '0 2 * * *' }, /^Bad scanner type of: nessus provided/],
      [
        { scanner: 'zap', cronExpression: '61 * * * *' },
        /^cronExpression is not a valid cron expression/,
      ],
      [{ scanner: 'zap', cronExpression: '* * * * * *' }, /due more often than every 2 s/],
      [{ scanner: 'zap', cronExpression: '0 0 30 2 *' }, 'cronExpression has no due time to come.'],
      [
        { scanner: 'zap', cronExpression: '0 2 * * *', frequency: 'Daily' },
        /^Give cronExpression or frequency/,
      ],
      [
        { scanner: 'zap', cronExpression: '0 2 * * *', timezone: 'Mars/Olympus' },
        'timezone Mars/Olympus is not a known IANA time zone.',
      ],
      [
        { scanner: 'zap', cronExpression: '0 2 * * *', timezone: '+01:00' },
        /^timezone must be an IANA time zone name/,
      ],
      [
        { scanner: 'zap', cronExpression: '0 2 * * *', whenPending: 'maybe' },
        'whenPending must be skip or queue.',
      ],
      [
        { scanner: 'zap', cronExpression: '0 2 * * *', priority: 101 },
        'priority must be an integer from -100 to 100.',
      ],
      [
        { scanner: 'zap', cronExpression: '0 2 * * *', retryLimit: 21 },
        'retryLimit must be an integer from 0 to 20.',
      ],
      [
        { scanner: 'zap', cronExpression: '0 2 * * *', targetUrl: 'ftp://x.example/' },
        'targetUrl must be an http or https URL.',
      ],
      [
        { scanner: 'zap', cronExpression: '0 2 * * *', targetUrl: 'http://127.0.0.1/' },
        /^Target host 127\.0\.0\.1 is not allowed/,
      ],
    ];
    for (const [fields, message] of cases) {
      const res = await createSchedule(t, app, fields);
      expect([fields, res.status, res.body.success, res.body.object]).toEqual([
        fields,
        400,
        false,
        null,
      ]);
      expect([fields, res.body.message]).toEqual([fields, expect.stringMatching(message)]);
    }
    expect(
      await t.query('SELECT id FROM scheduled_scans WHERE application_id = $1', [app]),
    ).toEqual([]);
  });

  it("builds the cron from ThreadFix's fields (12 AM is midnight, 12 PM noon) and answers its delete text", async () => {
    const app = await givenApplication(t);
    const midnight = await givenSchedule(t, app, {
      scanner: 'OWASP ZAP',
      frequency: 'daily',
      hour: 12,
      minute: 0,
      period: 'am',
    });
    expect(midnight).toMatchObject({
      cronExpression: '0 0 * * *',
      frequency: 'Daily',
      enabled: true,
    });
    expect(midnight.timezone).toMatch(/^[A-Za-z]/); // the server's zone, recorded
    expect(Date.parse(midnight.nextRunAt as string)).toBeGreaterThan(Date.now());
    const noon = await givenSchedule(t, app, {
      scanner: 'zap',
      frequency: 'Weekly',
      day: 'friday',
      hour: 0,
      minute: 30,
      period: 'PM',
      timezone: 'Europe/Berlin',
    });
    expect(noon).toMatchObject({ cronExpression: '30 12 * * FRI', timezone: 'Europe/Berlin' });
    const third = await givenSchedule(t, app, {
      scanner: 'zap',
      cronExpression: '0 3 * * *',
      timezone: 'utc',
      enabled: false,
    });
    expect(third).toMatchObject({ timezone: 'UTC', enabled: false, nextRunAt: null });
    // SCHEDULES_PER_APPLICATION is 3 here.
    const fourth = await createSchedule(t, app, { scanner: 'zap', cronExpression: '0 4 * * *' });
    expect(fourth.status).toBe(409);
    const list = await t.get<Schedule[]>(schedulesOf(app), t.adminKey);
    expect(list.body.object.map((s) => s.id)).toEqual([midnight.id, noon.id, third.id]);
    const deleted = await t.request<string>('DELETE', `${schedulesOf(app)}/${midnight.id}`, {
      key: t.adminKey,
    });
    expect(deleted.body.object).toBe(
      'Daily Scan for OWASP Zed Attack Proxy Scheduled Scan successfully deleted.',
    );
    const again = await t.request('DELETE', `${schedulesOf(app)}/${midnight.id}`, {
      key: t.adminKey,
    });
    expect([again.status, again.body.message]).toEqual([404, 'That scheduled scan was not found.']);
  });

  it("answers 404 for another team's application and for a schedule of another application", async () => {
    const app = await givenApplication(t);
    const other = await givenApplication(t);
    const schedule = await givenSchedule(t, app, {
      scanner: 'zap',
      cronExpression: '0 2 * * *',
      timezone: 'UTC',
    });
    const [{ id: theirTeam }] = await t.query<{ id: number }>(
      `INSERT INTO teams (name) VALUES ('schedules-elsewhere') RETURNING id`,
    );
    const key = await t.postJson<{ apiKey: string }>('/threadfix/rest/api-keys', t.adminKey, {
      name: 'schedules-scoped',
      permissions: ['CAN_MANAGE_APPLICATIONS', 'READ_ACCESS'],
      teamIds: [theirTeam],
    });
    const scoped = key.body.object.apiKey;
    const notFound = `Application with id ${app} was not found.`;
    const path = `${schedulesOf(app)}/${schedule.id}`;
    const before = await t.query('SELECT * FROM scheduled_scans ORDER BY id');
    for (const res of [
      await t.get(schedulesOf(app), scoped),
      await t.get(path, scoped),
      await createSchedule(t, app, { scanner: 'zap', cronExpression: '0 2 * * *' }, scoped),
      await t.postJson(path, scoped, { enabled: false }, 'PATCH'),
      await t.postForm(`${path}/disable`, scoped),
      await t.request('DELETE', path, { key: scoped }),
    ])
      expect([res.status, res.body.message]).toEqual([404, notFound]);
    // The schedule through another application's path: missing too.
    for (const res of [
      await t.get(`${schedulesOf(other)}/${schedule.id}`, t.adminKey),
      await t.request('DELETE', `${schedulesOf(other)}/${schedule.id}`, { key: t.adminKey }),
    ])
      expect([res.status, res.body.message]).toEqual([404, 'That scheduled scan was not found.']);
    expect(await t.query('SELECT * FROM scheduled_scans ORDER BY id')).toEqual(before);
  });

  it("deactivating an application or deleting its team removes its schedules in that transaction (ThreadFix's cascade)", async () => {
    const app = await givenApplication(t);
    const schedule = await givenSchedule(t, app, {
      scanner: 'appscan',
      cronExpression: '*/2 * * * * *',
      timezone: 'UTC',
      whenPending: 'queue',
    });
    await eventually('a run', async () =>
      (await runsOf(t, schedule.id)).length > 0 ? true : undefined,
    );
    expect(
      (await t.postForm(`/threadfix/rest/applications/${app}/deactivate`, t.adminKey)).status,
    ).toBe(200);
    expect(await t.query('SELECT id FROM scheduled_scans WHERE id = $1', [schedule.id])).toEqual(
      [],
    );
    expect(await runsOf(t, schedule.id)).toEqual([]);
    const queuedBefore = (await tasksOf(t, schedule.id)).length;
    await new Promise((resolve) => setTimeout(resolve, 4500)); // two more due times
    expect((await tasksOf(t, schedule.id)).length).toBe(queuedBefore);

    // A team's soft delete deactivates its applications, and so removes their schedules.
    const team = await t.postForm<{ id: number }>('/threadfix/rest/teams/new', t.adminKey, {
      name: `schedules-team-${Date.now()}`,
    });
    expect(team.status).toBe(200);
    const inTeam = await t.postJson<{ id: number }>('/rest/applications', t.adminKey, {
      name: `scheduled-in-team-${Date.now()}`,
      url: 'http://target.example/app',
      teamId: team.body.object.id,
    });
    expect(inTeam.status).toBe(200);
    const teamSchedule = await givenSchedule(t, inTeam.body.object.id, {
      scanner: 'zap',
      cronExpression: '0 2 * * *',
    });
    const deleted = await t.request(
      'DELETE',
      `/threadfix/rest/teams/${team.body.object.id}/delete`,
      {
        key: t.adminKey,
      },
    );
    expect(deleted.status).toBe(200);
    expect(
      await t.query('SELECT id FROM scheduled_scans WHERE id = $1', [teamSchedule.id]),
    ).toEqual([]);

    // A hard delete cascades too (the foreign key).
    const other = await givenApplication(t);
    const otherSchedule = await givenSchedule(t, other, {
      scanner: 'zap',
      cronExpression: '0 2 * * *',
    });
    await t.query('DELETE FROM applications WHERE id = $1', [other]);
    expect(
      await t.query('SELECT id FROM scheduled_scans WHERE id = $1', [otherSchedule.id]),
    ).toEqual([]);
  });
});
