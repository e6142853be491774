/**
 * Every NATS request/reply pattern (docs/events.md "Request/reply patterns") answers as its REST route does, through the same
 * service: the same object for the same key and data, the same refusal (403) for a key without the
 * route's permission, and the same 404 out of the key's teams. Without nats-server, skipped with
 * one line saying so (a failure under SCANQUEUE_TEST_NO_SKIP=1).
 */
import {
  completeTask,
  fixture,
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

  beforeAll(async () => {
    nats = await NatsTestServer.start(NATS_SERVER as string);
    t = await TestServer.start({ NATS_URL: nats.url, NATS_SUBJECT_PREFIX: PREFIX });
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
    const [{ team_id: teamId }] = await t.query<{ team_id: number }>(
      'SELECT team_id FROM applications WHERE id = $1',
      [app],
    );
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
      ['tasks.cancel', { id: 1 }],
      ['tasks.queue', { applicationId: app, scannerType: 'zap' }],
      ['tasks.requestScanAgentKey', {}],
    ] as [string, Record<string, unknown>][]) {
      expect([pattern, (await ask(pattern, payload, readOnly)).responseCode]).toEqual([
        pattern,
        403,
      ]);
    }
    for (const [pattern, payload] of [
      ['applications.update', { id: app, url: 'http://target.example/refused' }],
      ['applications.scans', { applicationId: app }],
      ['scanConfigs.list', { applicationId: app }],
    ] as [string, Record<string, unknown>][]) {
      expect([pattern, (await ask(pattern, payload, elsewhere)).responseCode]).toEqual([
        pattern,
        404,
      ]);
    }
    expect(
      (await t.get<{ url: string }>(`${R}/applications/${app}`, t.adminKey)).body.object.url,
    ).toBe('http://target.example/app');
  });
});
