/**
 * Every NATS request/reply pattern (docs/events.md "Request/reply patterns") answers as its REST route does, through the same
 * service: the same object for the same key and data, the same refusal (403) for a key without the
 * route's permission, and the same 404 out of the key's teams. Without nats-server, skipped with
 * one line saying so (a failure under SCANQUEUE_TEST_NO_SKIP=1).
 */
import { agentIdOf } from './access-fixtures';
import {
  completeTask,
  fixture,
  givenAgentKey,
  givenApplication,
  givenClaimedTask,
  queueScan,
  TASKS,
} from './support/agent-flow';
import { connectPatternClient, PatternClient } from './support/nats-requests';
import { NatsTestServer, requireNatsServer } from './support/nats-server';
import { RestResult, TestServer } from './support/test-server';

const NATS_SERVER = requireNatsServer('the NATS request/reply patterns');
const describeWithNats = NATS_SERVER ? describe : describe.skip;
const PREFIX = 'sq.';
const R = '/threadfix/rest';

/** A pattern, its payload, and the REST request that does the same. */
interface Pair {
  pattern: string;
  payload: Record<string, unknown>;
  rest: [method: string, path: string, json?: unknown];
}

/** ThreadFix's application lookup by its team's name and its own. */
const lookupPair = (teamName: string, name: string): Pair => ({
  pattern: 'applications.lookup',
  payload: { teamName, name },
  rest: [
    'GET',
    `/applications/${encodeURIComponent(teamName)}/lookup?name=${encodeURIComponent(name)}`,
  ],
});

describeWithNats('NATS request/reply patterns', () => {
  let nats: NatsTestServer;
  let t: TestServer;
  let client: PatternClient;

  const ask = <T = unknown>(pattern: string, payload: unknown, key: string) =>
    client.ask<T>(pattern, payload, key);

  function rest<T = unknown>(
    [method, path, json]: Pair['rest'],
    key: string,
  ): Promise<RestResult<T>> {
    return json === undefined
      ? t.request<T>(method, `${R}${path}`, { key })
      : t.postJson<T>(`${R}${path}`, key, json, method);
  }

  async function newKey(permissions: string[], extra: Record<string, unknown> = {}) {
    const res = await t.postJson<{ apiKey: string; id: number }>(`${R}/api-keys`, t.adminKey, {
      name: `nats-patterns-${Math.random()}`,
      permissions,
      ...extra,
    });
    expect(res.status).toBe(200);
    return res.body.object;
  }

  async function waitForImport(applicationId: number, scanId: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const run = await ask<{ phase: string }>(
        'scans.import',
        { applicationId, scanId },
        t.adminKey,
      );
      if (run.object.phase === 'done') return;
      if (run.object.phase === 'failed' || Date.now() > deadline)
        throw new Error(`import of scan ${scanId}: ${JSON.stringify(run)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    nats = await NatsTestServer.start(NATS_SERVER as string);
    // Imports run (the test server's default runs none): the imports' patterns read real findings.
    t = await TestServer.start({
      NATS_URL: nats.url,
      NATS_SUBJECT_PREFIX: PREFIX,
      IMPORT_POLL_INTERVAL_SECONDS: '1',
    });
    client = await connectPatternClient(nats.url, PREFIX);
  });
  afterAll(async () => {
    await client?.close();
    await t?.stop();
    await nats?.stop();
  });

  it('answers each read as its REST route does, and refuses a key without its permission', async () => {
    const claimed = await givenClaimedTask(t, 'zap');
    const done = await completeTask(t, claimed, {
      name: 'zap.xml',
      content: fixture('zap/5_zap_sample_one.xml'),
    });
    expect(done.status).toBe(200);
    const [{ id: scanId }] = await t.query<{ id: number }>(
      'SELECT id FROM scans WHERE task_id = $1',
      [claimed.taskId],
    );
    const app = claimed.applicationId;
    const upload = await t.postMultipart(
      `${R}/applications/${app}/upload`,
      t.adminKey,
      {},
      {
        name: 'zap.xml',
        content: fixture('zap/5_zap_sample_one.xml'),
      },
    );
    expect(upload.status).toBe(200);
    const [{ id: pendingScanId }] = await t.query<{ id: number }>(
      'SELECT id FROM scan_uploads WHERE application_id = $1',
      [app],
    );
    const [{ team_id: teamId, name: appName }] = await t.query<{ team_id: number; name: string }>(
      'SELECT team_id, name FROM applications WHERE id = $1',
      [app],
    );
    // The import runs after completeTask: its reads compare once it has settled.
    await waitForImport(app, scanId);
    const [{ name: teamName }] = await t.query<{ name: string }>(
      'SELECT name FROM teams WHERE id = $1',
      [teamId],
    );
    const task = claimed.taskId;
    const reads: Pair[] = [
      { pattern: 'tasks.scanners', payload: {}, rest: ['GET', '/tasks/scanners'] },
      { pattern: 'tasks.list', payload: { pageSize: 5 }, rest: ['GET', '/tasks?pageSize=5'] },
      { pattern: 'tasks.get', payload: { id: task }, rest: ['GET', `/tasks/${task}`] },
      { pattern: 'tasks.history', payload: { id: task }, rest: ['GET', `/tasks/${task}/statuses`] },
      {
        pattern: 'scanConfigs.list',
        payload: { applicationId: app },
        rest: ['GET', `/applications/${app}/scan-configs`],
      },
      { pattern: 'agents.list', payload: {}, rest: ['GET', '/scan-agents'] },
      { pattern: 'scannerQueues.list', payload: {}, rest: ['GET', '/scanner-queues'] },
      { pattern: 'teams.list', payload: {}, rest: ['GET', '/teams'] },
      { pattern: 'teams.get', payload: { teamId }, rest: ['GET', `/teams/${teamId}`] },
      {
        pattern: 'teams.lookup',
        payload: { name: teamName },
        rest: ['GET', `/teams/lookup?name=${encodeURIComponent(teamName)}`],
      },
      { pattern: 'applications.list', payload: {}, rest: ['GET', '/applications'] },
      { pattern: 'apiKeys.list', payload: {}, rest: ['GET', '/api-keys'] },
      {
        pattern: 'applications.scans',
        payload: { applicationId: app },
        rest: ['GET', `/applications/${app}/scans`],
      },
      { pattern: 'scans.details', payload: { scanId }, rest: ['GET', `/scans/${scanId}`] },
      { pattern: 'applications.get', payload: { id: app }, rest: ['GET', `/applications/${app}`] },
      lookupPair(teamName, appName),
      {
        pattern: 'vulnerabilities.list',
        payload: { applicationId: app, severity: 'low', pageSize: 1 },
        rest: ['GET', `/applications/${app}/vulnerabilities?severity=low&pageSize=1`],
      },
      {
        pattern: 'scans.findings',
        payload: { applicationId: app, scanId, page: 2, pageSize: 1 },
        rest: ['GET', `/applications/${app}/scans/${scanId}/findings?page=2&pageSize=1`],
      },
      {
        pattern: 'scans.import',
        payload: { applicationId: app, scanId },
        rest: ['GET', `/applications/${app}/scans/${scanId}/import`],
      },
    ];
    const agentOnly = (await newKey(['CAN_RUN_SCAN_AGENT'])).apiKey;
    const teamsOnly = (await newKey(['CAN_MANAGE_TEAMS'])).apiKey;
    for (const pair of reads) {
      const [viaNats, viaRest] = [
        await ask(pair.pattern, pair.payload, t.adminKey),
        await rest(pair.rest, t.adminKey),
      ];
      expect([pair.pattern, viaRest.status, viaNats.responseCode]).toEqual([
        pair.pattern,
        200,
        200,
      ]);
      expect([pair.pattern, viaNats.object]).toEqual([pair.pattern, viaRest.body.object]);
      // A key without the route's permission: refused alike.
      const lacking = pair.pattern === 'tasks.scanners' ? teamsOnly : agentOnly;
      const refusedNats = await ask(pair.pattern, pair.payload, lacking);
      const refusedRest = await rest(pair.rest, lacking);
      expect([pair.pattern, refusedNats.responseCode, refusedNats.object]).toEqual([
        pair.pattern,
        refusedRest.status,
        null,
      ]);
      expect([pair.pattern, refusedRest.status]).toEqual([pair.pattern, 403]);
    }
    // The imports' reads above compared real rows, not empty pages.
    const findings = await ask<{ total: number; findings: unknown[] }>(
      'scans.findings',
      { applicationId: app, scanId, page: 2, pageSize: 1 },
      t.adminKey,
    );
    expect(findings.object.findings).toHaveLength(1);
    const vulnerabilities = await ask<{ total: number }>(
      'vulnerabilities.list',
      { applicationId: app, severity: 'low', pageSize: 1 },
      t.adminKey,
    );
    expect(vulnerabilities.object.total).toBeGreaterThan(1);
    // The pending scan: its text is the reply's `message` field of the object.
    const pending = await ask<{ message: string; status: unknown }>(
      'scans.pendingStatus',
      { applicationId: app, pendingScanId },
      t.adminKey,
    );
    const pendingRest = await rest<unknown>(
      ['GET', `/applications/${app}/pendingScan/${pendingScanId}/status`],
      t.adminKey,
    );
    expect(pending.object).toEqual({
      message: pendingRest.body.message,
      status: pendingRest.body.object,
    });
    expect(
      (await ask('scans.pendingStatus', { applicationId: app, pendingScanId }, teamsOnly))
        .responseCode,
    ).toBe(403);
  });

  it('writes as the REST routes do: teams, applications, API keys, agents, tasks', async () => {
    const created = await ask<{ id: number; name: string }>(
      'teams.create',
      { name: 'nats team' },
      t.adminKey,
    );
    const createdRest = await rest<{ id: number }>(
      ['POST', '/teams/new', { name: 'rest team' }],
      t.adminKey,
    );
    expect(created).toMatchObject({ success: true, object: { name: 'nats team' } });
    expect(Object.keys(created.object).sort()).toEqual(Object.keys(createdRest.body.object).sort());
    const teamId = created.object.id;
    expect(
      (await ask<string>('teams.update', { teamId, name: 'nats team 2' }, t.adminKey)).object,
    ).toEqual(
      (
        await rest(
          ['PUT', `/teams/${createdRest.body.object.id}/update`, { name: 'rest team 2' }],
          t.adminKey,
        )
      ).body.object,
    );
    expect(
      (await t.get<{ name: string }>(`${R}/teams/${teamId}`, t.adminKey)).body.object.name,
    ).toBe('nats team 2');

    const app = await ask<{ id: number; url: string | null }>(
      'applications.create',
      { name: 'nats app', teamId, url: 'http://target.example/nats' },
      t.adminKey,
    );
    expect(app).toMatchObject({ success: true, object: { url: 'http://target.example/nats' } });
    const updated = await ask<{ url: string }>(
      'applications.update',
      { id: app.object.id, url: 'http://target.example/other' },
      t.adminKey,
    );
    expect(updated.object.url).toBe('http://target.example/other');
    const deactivated = await ask<{ active: boolean }>(
      'applications.deactivate',
      { id: app.object.id },
      t.adminKey,
    );
    expect(deactivated.object.active).toBe(false);
    // ThreadFix's application routes: created in a team, updated with its rules and errorMap.
    const inTeam = await ask<{ id: number; name: string }>(
      'teams.createApplication',
      { teamId, name: 'nats tf app', url: 'http://target.example/tf' },
      t.adminKey,
    );
    const inTeamRest = await rest<{ id: number }>(
      ['POST', `/teams/${teamId}/applications/new`, { name: 'rest tf app' }],
      t.adminKey,
    );
    expect(inTeam).toMatchObject({ success: true, object: { name: 'nats tf app' } });
    expect(Object.keys(inTeam.object).sort()).toEqual(Object.keys(inTeamRest.body.object).sort());
    expect(
      (await ask('teams.createApplication', { teamId, name: 'rest tf app' }, t.adminKey))
        .responseCode,
    ).toBe(
      (
        await rest(
          ['POST', `/teams/${teamId}/applications/new`, { name: 'rest tf app' }],
          t.adminKey,
        )
      ).status,
    );
    const tfUpdate = { applicationCriticality: '3', description: 'over nats' };
    expect(
      await ask(
        'applications.threadFixUpdate',
        { applicationId: inTeam.object.id, ...tfUpdate },
        t.adminKey,
      ),
    ).toMatchObject({
      success: true,
      object: (
        await rest(
          ['PUT', `/applications/${inTeamRest.body.object.id}/update`, tfUpdate],
          t.adminKey,
        )
      ).body.object,
    });
    expect(
      (await t.get<{ description: string }>(`${R}/applications/${inTeam.object.id}`, t.adminKey))
        .body.object.description,
    ).toBe('over nats');
    const invalid = { name: '', url: 'not a url', applicationCriticality: '9' };
    const refusedUpdate = await ask(
      'applications.threadFixUpdate',
      { applicationId: inTeam.object.id, ...invalid },
      t.adminKey,
    );
    const refusedUpdateRest = await rest<null>(
      ['PUT', `/applications/${inTeamRest.body.object.id}/update`, invalid],
      t.adminKey,
    );
    expect(refusedUpdate).toEqual({
      ...refusedUpdateRest.body,
      responseCode: refusedUpdateRest.status,
    });
    expect(Object.keys(refusedUpdate.errorMap ?? {}).sort()).toEqual([
      'applicationCriticality',
      'name',
      'url',
    ]);
    expect((await ask('teams.delete', { teamId }, t.adminKey)).object).toEqual(
      (await rest(['DELETE', `/teams/${createdRest.body.object.id}/delete`], t.adminKey)).body
        .object,
    );

    const key = await ask<{ apiKey: string; id: number }>(
      'apiKeys.create',
      { name: 'made over nats', permissions: ['READ_ACCESS'] },
      t.adminKey,
    );
    expect((await t.get(`${R}/tasks`, key.object.apiKey)).status).toBe(200);
    expect(
      (await ask<{ revokedAt: string | null }>('apiKeys.revoke', { id: key.object.id }, t.adminKey))
        .success,
    ).toBe(true);
    expect((await t.get(`${R}/tasks`, key.object.apiKey)).status).toBe(401);

    // The agent protocol over NATS, end to end but the result file.
    const agentKey = (await ask<string>('tasks.requestScanAgentKey', {}, t.adminKey)).object;
    const application = await givenApplication(t);
    const queued = (
      await ask<{ id: number }>(
        'tasks.queue',
        { applicationId: application, scannerType: 'zap' },
        t.adminKey,
      )
    ).object;
    let claimed: { taskId: number; secureTaskKey: string } | undefined;
    while (claimed?.taskId !== queued.id) {
      const reply = await ask<{ taskId: number; secureTaskKey: string }>(
        'tasks.request',
        { scanners: 'zap', scanAgentSecureKey: agentKey, agentConfig: 'os.name=Linux' },
        t.adminKey,
      );
      expect(reply.success).toBe(true);
      claimed = reply.object;
    }
    const keys = {
      scanQueueTaskId: queued.id,
      scanAgentSecureKey: agentKey,
      secureTaskKey: claimed.secureTaskKey,
    };
    expect(
      (await ask('tasks.statusUpdate', { ...keys, message: 'scanning' }, t.adminKey)).object,
    ).toBe('Successfully updated ScanQueueTask');
    const failed = await ask<string>('tasks.fail', { ...keys, message: 'broke' }, t.adminKey);
    expect(failed.object).toContain('had failed client-side for the following reason: broke');
    // A retried failTask over REST answers the same text.
    expect(
      (await t.postForm<string>(`${TASKS}/failTask`, t.adminKey, { ...keys, message: 'broke' }))
        .body.object,
    ).toBe(failed.object);
    const history = await ask<{ total: number }>('tasks.history', { id: queued.id }, t.adminKey);
    expect(history.object.total).toBe(4);

    // Cancelling and revoking: as REST, 409 for a finished task; an agent revoked stops claiming.
    const second = await queueScan(t, application, 'zap');
    expect(
      (await ask<{ status: number }>('tasks.cancel', { id: second.id }, t.adminKey)).object.status,
    ).toBe(4);
    expect((await ask('tasks.cancel', { id: second.id }, t.adminKey)).responseCode).toBe(
      (await t.postForm(`${TASKS}/${second.id}/cancel`, t.adminKey)).status,
    );
    // queueScan's priority and retry policy (issue 14), validated as over REST.
    const urgent = await ask<{ id: number }>(
      'tasks.queue',
      {
        applicationId: application,
        scannerType: 'acunetix',
        priority: 7,
        retryLimit: 3,
        retryDelaySeconds: 30,
        retryBackoff: false,
      },
      t.adminKey,
    );
    expect(
      await t.query(
        'SELECT priority, retry_limit, retry_delay_seconds, retry_backoff FROM scan_queue_tasks WHERE id = $1',
        [urgent.object.id],
      ),
    ).toEqual([{ priority: 7, retry_limit: 3, retry_delay_seconds: 30, retry_backoff: false }]);
    for (const bad of [{ priority: 101 }, { retryLimit: 21 }, { retryBackoff: 'maybe' }]) {
      expect(
        (
          await ask(
            'tasks.queue',
            { applicationId: application, scannerType: 'acunetix', ...bad },
            t.adminKey,
          )
        ).responseCode,
      ).toBe(400);
    }
    await ask('tasks.cancel', { id: urgent.object.id }, t.adminKey);
    const [{ id: agentId }] = await t.query<{ id: number }>(
      'SELECT scan_agent_id AS id FROM scan_queue_tasks WHERE id = $1',
      [queued.id],
    );
    expect(
      (await ask<{ revokedAt: string | null }>('agents.revoke', { id: agentId }, t.adminKey))
        .success,
    ).toBe(true);
    expect(
      (await ask('tasks.request', { scanners: 'zap', scanAgentSecureKey: agentKey }, t.adminKey))
        .responseCode,
    ).toBe(403);
  });

  it('pauses and resumes agents and scanner queues as the REST routes do', async () => {
    const agentKey = await givenAgentKey(t);
    const agentId = await agentIdOf(t, agentKey);
    const paused = await ask<{ changed: boolean; agent: { paused: boolean } }>(
      'agents.pause',
      { id: agentId },
      t.adminKey,
    );
    expect(paused).toMatchObject({
      success: true,
      responseCode: 200,
      object: { message: `Scan agent ${agentId} paused.`, changed: true, agent: { paused: true } },
    });
    // The same call again: REST and NATS answer alike (no change).
    const again = await rest<unknown>(['POST', `/scan-agents/${agentId}/pause`], t.adminKey);
    expect((await ask('agents.pause', { id: agentId }, t.adminKey)).object).toEqual(
      again.body.object,
    );
    const application = await givenApplication(t);
    await queueScan(t, application, 'burp');
    expect(
      await ask('tasks.request', { scanners: 'burp', scanAgentSecureKey: agentKey }, t.adminKey),
    ).toMatchObject({ message: 'No task found.', object: null });
    expect(
      (await ask<{ changed: boolean }>('agents.resume', { id: agentId }, t.adminKey)).object
        .changed,
    ).toBe(true);
    expect((await ask('agents.resume', { id: 'x' }, t.adminKey)).responseCode).toBe(400);
    expect((await ask('agents.resume', { id: 2147483000 }, t.adminKey)).responseCode).toBe(404);

    const queue = await ask<{ changed: boolean; queue: { scanner: string; paused: boolean } }>(
      'scannerQueues.pause',
      { scanner: 'Burp Suite' },
      t.adminKey,
    );
    expect(queue.object).toMatchObject({ changed: true, queue: { scanner: 'burp', paused: true } });
    expect(
      await ask('tasks.request', { scanners: 'burp', scanAgentSecureKey: agentKey }, t.adminKey),
    ).toMatchObject({ message: 'No task found.', object: null });
    expect((await ask('scannerQueues.list', {}, t.adminKey)).object).toEqual(
      (await rest(['GET', '/scanner-queues'], t.adminKey)).body.object,
    );
    expect(
      (await ask<{ changed: boolean }>('scannerQueues.resume', { scanner: 'burp' }, t.adminKey))
        .object.changed,
    ).toBe(true);
    expect(
      (await ask('tasks.request', { scanners: 'burp', scanAgentSecureKey: agentKey }, t.adminKey))
        .success,
    ).toBe(true);
    for (const [payload, status] of [
      [{ scanner: 'nessus' }, 404],
      [{}, 400],
      [{ scanner: 'x'.repeat(101) }, 400],
    ] as [Record<string, unknown>, number][]) {
      const reply = await ask('scannerQueues.pause', payload, t.adminKey);
      expect([payload, reply.responseCode, reply.object]).toEqual([payload, status, null]);
    }
    // A key limited to teams may not pause a queue (every team's), nor see another team's agent.
    const [{ id: team }] = await t.query<{ id: number }>(
      `INSERT INTO teams (name) VALUES ('nats-patterns-fleet') RETURNING id`,
    );
    const scoped = (await newKey(['CAN_MANAGE_SCAN_QUEUE'], { teamIds: [team] })).apiKey;
    const refused = await ask('scannerQueues.pause', { scanner: 'burp' }, scoped);
    const refusedRest = await rest(['POST', '/scanner-queues/burp/pause'], scoped);
    expect([refused.responseCode, refused.message]).toEqual([403, refusedRest.body.message]);
    expect((await ask('agents.pause', { id: agentId }, scoped)).responseCode).toBe(404);
  });

  it("answers each schedule pattern as its REST route does, within the key's teams", async () => {
    const app = await givenApplication(t);
    const path = `/applications/${app}/scheduledScans`;
    const fields = { scanner: 'zap', cronExpression: '0 0 1 1 *', timezone: 'UTC' };
    const created = await ask<{ id: number }>(
      'schedules.create',
      { applicationId: app, ...fields },
      t.adminKey,
    );
    const createdRest = await rest<{ id: number }>(['POST', path, fields], t.adminKey);
    expect(created).toMatchObject({ success: true, object: { cronExpression: '0 0 1 1 *' } });
    expect(Object.keys(created.object)).toEqual(Object.keys(createdRest.body.object));
    const scheduleId = created.object.id;
    const ids = { applicationId: app, scheduleId };
    const pairs: Pair[] = [
      { pattern: 'schedules.list', payload: { applicationId: app }, rest: ['GET', path] },
      { pattern: 'schedules.get', payload: ids, rest: ['GET', `${path}/${scheduleId}`] },
      {
        pattern: 'schedules.update',
        payload: { ...ids, whenPending: 'queue' },
        rest: ['PATCH', `${path}/${scheduleId}`, { whenPending: 'queue' }],
      },
      {
        pattern: 'schedules.disable',
        payload: ids,
        rest: ['POST', `${path}/${scheduleId}/disable`],
      },
      { pattern: 'schedules.enable', payload: ids, rest: ['POST', `${path}/${scheduleId}/enable`] },
    ];
    const withoutTimes = (value: unknown) =>
      JSON.parse(JSON.stringify(value), (key: string, v: unknown) =>
        key === 'modifiedTime' || key === 'nextRunAt' ? undefined : v,
      ) as unknown;
    for (const pair of pairs) {
      const viaNats = await ask(pair.pattern, pair.payload, t.adminKey);
      const viaRest = await rest(pair.rest, t.adminKey);
      expect([pair.pattern, viaNats.responseCode, viaRest.status]).toEqual([
        pair.pattern,
        200,
        200,
      ]);
      expect([pair.pattern, withoutTimes(viaNats.object)]).toEqual([
        pair.pattern,
        withoutTimes(viaRest.body.object),
      ]);
    }
    // Refused alike: a reader may not write; a key of another team finds nothing.
    const readOnly = (await newKey(['READ_ACCESS'])).apiKey;
    const [{ id: otherTeam }] = await t.query<{ id: number }>(
      `INSERT INTO teams (name) VALUES ('nats-schedules-elsewhere') RETURNING id`,
    );
    const elsewhere = (
      await newKey(['CAN_MANAGE_APPLICATIONS', 'READ_ACCESS'], { teamIds: [otherTeam] })
    ).apiKey;
    for (const pattern of ['schedules.update', 'schedules.disable', 'schedules.delete']) {
      expect([pattern, (await ask(pattern, ids, readOnly)).responseCode]).toEqual([pattern, 403]);
      const outOfScope = await ask(pattern, ids, elsewhere);
      expect([pattern, outOfScope.responseCode, outOfScope.message]).toEqual([
        pattern,
        404,
        `Application with id ${app} was not found.`,
      ]);
    }
    const deleted = await ask<string>('schedules.delete', ids, t.adminKey);
    expect(deleted.object).toBe(
      (await rest<string>(['DELETE', `${path}/${createdRest.body.object.id}`], t.adminKey)).body
        .object,
    );
    expect((await ask('schedules.get', ids, t.adminKey)).responseCode).toBe(404);
  });

  it('refuses each write to a key without its permission, and out of its teams answers 404', async () => {
    const readOnly = (await newKey(['READ_ACCESS'])).apiKey;
    const [{ id: otherTeam }] = await t.query<{ id: number }>(
      `INSERT INTO teams (name) VALUES ('nats-patterns-elsewhere') RETURNING id`,
    );
    const elsewhere = (
      await newKey(['CAN_MANAGE_TEAMS', 'CAN_MANAGE_APPLICATIONS', 'READ_ACCESS'], {
        teamIds: [otherTeam],
      })
    ).apiKey;
    const app = await givenApplication(t);
    for (const [pattern, payload] of [
      ['teams.create', { name: 'refused' }],
      ['teams.update', { teamId: otherTeam, name: 'refused' }],
      ['teams.delete', { teamId: otherTeam }],
      ['applications.create', { name: 'refused' }],
      ['applications.update', { id: app, url: 'http://target.example/refused' }],
      ['applications.deactivate', { id: app }],
      ['apiKeys.create', { name: 'refused', permissions: ['READ_ACCESS'] }],
      ['apiKeys.list', {}],
      ['apiKeys.revoke', { id: 1 }],
      ['agents.revoke', { id: 1 }],
      ['agents.pause', { id: 1 }],
      ['agents.resume', { id: 1 }],
      ['scannerQueues.pause', { scanner: 'zap' }],
      ['scannerQueues.resume', { scanner: 'zap' }],
      ['tasks.cancel', { id: 1 }],
      ['tasks.queue', { applicationId: app, scannerType: 'zap' }],
      ['tasks.requestScanAgentKey', {}],
      ['teams.createApplication', { teamId: otherTeam, name: 'refused' }],
      [
        'applications.threadFixUpdate',
        { applicationId: app, url: 'http://target.example/refused' },
      ],
    ] as [string, Record<string, unknown>][]) {
      expect([pattern, (await ask(pattern, payload, readOnly)).responseCode]).toEqual([
        pattern,
        403,
      ]);
    }
    const claimed = await givenClaimedTask(t, 'zap');
    const scanned = claimed.applicationId;
    expect(
      (
        await completeTask(t, claimed, {
          name: 'zap.xml',
          content: fixture('zap/5_zap_sample_one.xml'),
        })
      ).status,
    ).toBe(200);
    const [{ id: scanId, teamId, teamName, appName }] = await t.query<{
      id: number;
      teamId: number;
      teamName: string;
      appName: string;
    }>(
      `SELECT s.id, a.team_id AS "teamId", tm.name AS "teamName", a.name AS "appName"
         FROM scans s JOIN applications a ON a.id = s.application_id JOIN teams tm ON tm.id = a.team_id
        WHERE s.task_id = $1`,
      [claimed.taskId],
    );
    const outOfScope: Pair[] = [
      {
        pattern: 'applications.update',
        payload: { id: app, url: 'http://target.example/refused' },
        rest: ['PATCH', `/applications/${app}`, { url: 'http://target.example/refused' }],
      },
      {
        pattern: 'applications.scans',
        payload: { applicationId: app },
        rest: ['GET', `/applications/${app}/scans`],
      },
      {
        pattern: 'scanConfigs.list',
        payload: { applicationId: app },
        rest: ['GET', `/applications/${app}/scan-configs`],
      },
      {
        pattern: 'applications.get',
        payload: { id: scanned },
        rest: ['GET', `/applications/${scanned}`],
      },
      lookupPair(teamName, appName),
      {
        pattern: 'teams.createApplication',
        payload: { teamId, name: 'refused' },
        rest: ['POST', `/teams/${teamId}/applications/new`, { name: 'refused' }],
      },
      {
        pattern: 'applications.threadFixUpdate',
        payload: { applicationId: scanned, url: 'http://target.example/refused' },
        rest: ['PUT', `/applications/${scanned}/update`, { url: 'http://target.example/refused' }],
      },
      {
        pattern: 'vulnerabilities.list',
        payload: { applicationId: scanned },
        rest: ['GET', `/applications/${scanned}/vulnerabilities`],
      },
      {
        pattern: 'scans.findings',
        payload: { applicationId: scanned, scanId },
        rest: ['GET', `/applications/${scanned}/scans/${scanId}/findings`],
      },
      {
        pattern: 'scans.import',
        payload: { applicationId: scanned, scanId },
        rest: ['GET', `/applications/${scanned}/scans/${scanId}/import`],
      },
    ];
    for (const pair of outOfScope) {
      const [viaNats, viaRest] = [
        await ask(pair.pattern, pair.payload, elsewhere),
        await rest(pair.rest, elsewhere),
      ];
      expect([pair.pattern, viaNats.responseCode, viaNats.message]).toEqual([
        pair.pattern,
        404,
        viaRest.body.message,
      ]);
      expect([pair.pattern, viaRest.status]).toEqual([pair.pattern, 404]);
    }
    // In scope, the same key reaches what it was refused above.
    expect(
      (await ask('scans.import', { applicationId: scanned, scanId }, t.adminKey)).object,
    ).toMatchObject({ scanId, applicationId: scanned });
    expect(
      (await t.get<{ url: string }>(`${R}/applications/${app}`, t.adminKey)).body.object.url,
    ).toBe('http://target.example/app');
  });
});
