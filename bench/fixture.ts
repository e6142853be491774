/**
 * scanqueue's data for `npm run bench` and its profiles: the fixture (the bootstrap API key, an
 * application and agents over HTTP), queued tasks and row 5's history by SQL, claimed tasks'
 * status forms.
 */
import { Client } from 'pg';
import { generateSecretKey, hashSecretKey } from '../src/auth/secret-keys';
import { api, Scanqueue, ZAP } from './support';

/** scanqueue's data: the API key and applications over HTTP, agents over HTTP, tasks by SQL. */
export interface Fixture {
  sq: Scanqueue;
  databaseUrl: string;
  db: Client;
  appId: number;
  apiKeyId: number;
  agentKeys: string[];
  agentIds: number[];
}

export async function fixture(
  sq: Scanqueue,
  databaseUrl: string,
  agents: number,
): Promise<Fixture> {
  const app = await api<{ id: number }>(sq.base, sq.key, 'POST', '/applications', {
    name: 'bench',
    url: 'http://target.example/',
  });
  const agentKeys: string[] = [];
  for (let i = 0; i < agents; i++) {
    agentKeys.push(await api<string>(sq.base, sq.key, 'GET', '/tasks/requestScanAgentKey'));
  }
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  const [{ id: apiKeyId }] = (await db.query(`SELECT id FROM api_keys WHERE name = 'bootstrap'`))
    .rows;
  const agentIds = (await db.query('SELECT id FROM scan_agents ORDER BY id')).rows.map(
    (r: { id: number }) => r.id,
  );
  return { sq, databaseUrl, db, appId: app.id, apiKeyId, agentKeys, agentIds };
}

/**
 * `count` more agent keys, issued by the fixture's API key, inserted by SQL as
 * requestScanAgentKey inserts them (row 7's thousands of agents would take minutes over HTTP).
 */
export async function seedAgentKeys(f: Fixture, count: number): Promise<string[]> {
  const keys = Array.from({ length: count }, () => generateSecretKey());
  await f.db.query(`INSERT INTO scan_agents (key_hash, api_key_id) SELECT unnest($1::text[]), $2`, [
    keys.map(hashSecretKey),
    f.apiKeyId,
  ]);
  return keys;
}

/**
 * `count` QUEUED ZAP tasks with their "Scan queued" history rows, as queueScan writes them; with
 * `mixedPriorities`, priorities spread over -100..100 (row 5: the claim walks them in order).
 */
export async function seedQueued(
  f: Fixture,
  count: number,
  options: { mixedPriorities?: boolean } = {},
): Promise<void> {
  // A baseline built before priorities (--baseline) has no such column: its tasks stay FIFO.
  const [{ known }] = (
    await f.db.query(
      `SELECT EXISTS (SELECT 1 FROM information_schema.columns
                      WHERE table_name = 'scan_queue_tasks' AND column_name = 'priority') AS known`,
    )
  ).rows as { known: boolean }[];
  const mixed = (options.mixedPriorities ?? false) && known;
  await f.db.query(
    `WITH task AS (
       INSERT INTO scan_queue_tasks (application_id, scanner, status, timeout_seconds, queued_by_api_key_id${mixed ? ', priority' : ''})
       SELECT $1, $2, 1, 43200, $3${mixed ? ', (g * 7919) % 201 - 100' : ''}
       FROM generate_series(1, $4) g
       RETURNING id
     )
     INSERT INTO scan_statuses (task_id, message, from_status, to_status, actor_type, actor_id)
     SELECT id, 'Scan queued at: ' || now(), NULL, 1, 'api_key', $3 FROM task`,
    [f.appId, ZAP, f.apiKeyId, count],
  );
}

/** An empty queue and history, then `depth` queued tasks; vacuumed so every trial starts alike. */
export async function resetQueue(
  f: Fixture,
  depth: number,
  options: { mixedPriorities?: boolean } = {},
): Promise<void> {
  await f.db.query(
    'TRUNCATE scan_queue_tasks, scan_statuses, scans, scan_imports, findings, outbox_events CASCADE',
  );
  await seedQueued(f, depth, options);
  await f.db.query('VACUUM ANALYZE scan_queue_tasks, scan_statuses');
}

/** Row 5's history: finished tasks (3 status rows each), older than the queued ones. */
export async function seedHistory(f: Fixture, finished: number): Promise<void> {
  // Consistent by construction: skip the per-row foreign-key triggers (3 million of them).
  await f.db.query(`SET session_replication_role = replica`);
  await f.db.query(
    `INSERT INTO scan_queue_tasks (application_id, scanner, status, created_at, start_time, end_time,
       timeout_seconds, timeout_time, secure_key_hash, scan_agent_id, scan_agent_info, queued_by_api_key_id)
     SELECT $1, (ARRAY['OWASP Zed Attack Proxy','Burp Suite Pro','Acunetix WVS','AppSpider'])[1 + g % 4],
       CASE WHEN g % 10 < 7 THEN 3 WHEN g % 10 < 8 THEN 4 WHEN g % 10 < 9 THEN 5 ELSE 6 END,
       ts, ts + interval '1 minute', ts + interval '1 hour', 43200, ts + interval '12 hours',
       md5(g::text) || md5(g::text), $2, 'bench', $3
     FROM generate_series(1, $4) g, LATERAL (SELECT now() - ($4 - g) * interval '10 seconds' - interval '1 day' AS ts) t`,
    [f.appId, f.agentIds[0], f.apiKeyId, finished],
  );
  await f.db.query(
    `INSERT INTO scan_statuses (task_id, message, created_at, from_status, to_status, actor_type, actor_id)
     SELECT t.id, m.message, t.created_at + m.after, m.from_status, CASE WHEN m.to_status = 0 THEN t.status ELSE m.to_status END,
       m.actor_type, m.actor_id
     FROM scan_queue_tasks t CROSS JOIN (VALUES
       ('Scan queued at: then', interval '0', NULL::smallint, 1::smallint, 'api_key', $1::int),
       ('Assigning task to an agent with agentConfig:\nbench', interval '1 minute', 1, 2, 'agent', $2),
       ('Scan finished', interval '1 hour', 2, 0, 'agent', $2)) AS m(message, after, from_status, to_status, actor_type, actor_id)
     WHERE t.status <> 1`,
    [f.apiKeyId, f.agentIds[0]],
  );
  await f.db.query(`SET session_replication_role = DEFAULT`);
}

/** One claimed ZAP task per agent key, and a taskStatusUpdate form for each. */
export async function statusBodies(
  base: string,
  key: string,
  agentKeys: string[],
  agentConfig: string,
): Promise<string[]> {
  const bodies: string[] = [];
  for (const agentKey of agentKeys) {
    const task = await api<{ taskId: number; secureTaskKey: string }>(
      base,
      key,
      'POST',
      '/tasks/requestTask',
      { scanners: 'zap', agentConfig, scanAgentSecureKey: agentKey },
    );
    bodies.push(
      new URLSearchParams({
        scanQueueTaskId: String(task.taskId),
        message: 'Spidering http://target.example/ (42%)',
        secureTaskKey: task.secureTaskKey,
        scanAgentSecureKey: agentKey,
      }).toString(),
    );
  }
  return bodies;
}
