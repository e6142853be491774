/**
 * Scan imports through the real server and PostgreSQL: completeTask stores a ZAP report, the
 * runner imports it outside the request, the merge turns findings into the application's
 * vulnerabilities across scans (new, still present, fixed, reopened), and the API reads them.
 * Parser-level correctness is tested beside the parsers; here the parser is the oracle for which
 * findings share a fingerprint, and the assertions are about the pipeline and the merge.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import * as path from 'node:path';
import {
  ClaimedTask,
  completeTask,
  fixture,
  givenAgentKey,
  givenApplication,
  queueScan,
  keysOf,
  requestTask,
  TASKS,
  ThreadFixTask,
} from './support/agent-flow';
import { startRawUpload, ZAP_HEAD, ZAP_TAIL } from './support/raw-upload';
import { Envelope, TestServer } from './support/test-server';

const REST = '/threadfix/rest/latest';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ScanImport {
  id: number;
  scanId: number;
  phase: string;
  attempts: number;
  findings: number;
  new: number;
  stillPresent: number;
  reopened: number;
  fixed: number;
  duplicateOfScanId: number | null;
  error: string | null;
}

interface Finding {
  id: number;
  ruleId: string;
  name: string;
  url: string | null;
  severity: string;
  fingerprint: string;
  cwe: number | null;
}

interface Vulnerability {
  id: number;
  scanner: string;
  fingerprint: string;
  status: 'open' | 'fixed';
  ruleId: string;
  name: string;
  severity: string;
  cwe: number | null;
  firstSeenScanId: number;
  firstSeenTime: number;
  lastSeenScanId: number;
  lastSeenTime: number;
  fixedScanId: number | null;
  fixedTime: number | null;
  reopenedCount: number;
}

interface VulnerabilityPage {
  total: number;
  page: number;
  pageSize: number;
  countsBySeverity: Record<string, number>;
  vulnerabilities: Vulnerability[];
}

const DOJO = fixture('zap/dvwa_baseline_dojo.xml').toString('utf8');
const ALERT_ITEM = /<alertitem>[\s\S]*?<\/alertitem>\s*/g;

/** The fixture with the alert items of `remove` (plugin ids) left out and `add` appended. */
function zapVariant(remove: string[], add: string[] = [], base = DOJO): string {
  const kept = base.replace(ALERT_ITEM, (item) =>
    remove.some((id) => item.includes(`<pluginid>${id}</pluginid>`)) ? '' : item,
  );
  return kept.replace('</alerts>', `${add.join('\n')}</alerts>`);
}

/** The first alert item of a plugin, as it is in the fixture. */
function alertItemOf(pluginId: string): string {
  const item = DOJO.match(ALERT_ITEM)?.find((i) => i.includes(`<pluginid>${pluginId}</pluginid>`));
  if (!item) throw new Error(`no alert item ${pluginId}`);
  return item;
}

const NEW_ITEM = `<alertitem>
  <pluginid>90001</pluginid>
  <alertRef>90001</alertRef>
  <alert>Injected Test Weakness</alert>
  <name>Injected Test Weakness</name>
  <riskcode>3</riskcode>
  <confidence>2</confidence>
  <riskdesc>High (Medium)</riskdesc>
  <desc>&lt;p&gt;Made by the test.&lt;/p&gt;</desc>
  <instances>
  <instance>
  <uri>http://172.17.0.2/vulnerabilities/injected/</uri>
  <method>GET</method>
  <param>q</param>
  </instance>
  </instances>
  <count>1</count>
  <solution>None.</solution>
  <cweid>79</cweid>
  <wascid>8</wascid>
  <sourceid>1</sourceid>
</alertitem>
`;

/**
 * A completeTask upload written chunk by chunk that stops when the server answers: the server may
 * refuse (and close the connection) while the client is still writing, so a write error after the
 * answer is expected and the answer is kept.
 */
function uploadUntilAnswered(t: TestServer, task: ClaimedTask) {
  const boundary = 'scanqueueBomb';
  const req = httpRequest(`${t.baseUrl}${TASKS}/completeTask`, {
    method: 'POST',
    headers: {
      authorization: `APIKEY ${t.adminKey}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
    },
  });
  let answered = false;
  const response = new Promise<{ status: number; body: Envelope }>((resolve, reject) => {
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Envelope }),
      );
    });
    req.on('error', (error) => setTimeout(() => reject(error), 1000));
  });
  response.catch(() => undefined);
  let head = '';
  for (const [name, value] of Object.entries(keysOf(task)))
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  req.write(
    `${head}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="ZAPRESULTS.xml"\r\n\r\n`,
  );
  return {
    answered: () => answered,
    /** Waits up to `ms` for an answer. */
    settle: (ms: number) =>
      Promise.race([response, new Promise((resolve) => setTimeout(resolve, ms))]).catch(
        () => undefined,
      ),
    /** Resolves when the chunk is written, or as soon as the server has answered. */
    write: (chunk: string) =>
      Promise.race([
        new Promise<void>((resolve) => req.write(chunk, () => resolve())),
        response.then(() => undefined),
      ]).catch(() => undefined),
    response,
    destroy: () => req.destroy(),
  };
}

describe('scan imports', () => {
  let t: TestServer;
  let agentKey: string;

  beforeAll(async () => {
    t = await TestServer.start({
      IMPORT_POLL_INTERVAL_SECONDS: '1',
      IMPORT_CONCURRENCY: '2',
      IMPORT_LEASE_SECONDS: '30',
      MAX_UPLOAD_BYTES: String(256 * 1024 * 1024),
    });
    agentKey = await givenAgentKey(t);
  });
  afterAll(() => t.stop());

  /** A task of the application (a ZAP task unless said), claimed by the suite's agent. */
  async function claimTask(applicationId: number, scanner = 'zap'): Promise<ClaimedTask> {
    const queued = await queueScan(t, applicationId, scanner);
    for (;;) {
      const res = await requestTask(t, agentKey, scanner);
      if (res.status !== 200 || !res.body.success)
        throw new Error(`requestTask: ${res.status} ${res.body.message}`);
      if (res.body.object.taskId === queued.id)
        return {
          applicationId,
          taskId: queued.id,
          agentKey,
          secureTaskKey: res.body.object.secureTaskKey,
        };
    }
  }

  async function scanOf(taskId: number): Promise<number> {
    const [row] = await t.query<{ id: number }>('SELECT id FROM scans WHERE task_id = $1', [
      taskId,
    ]);
    return row.id;
  }

  async function importOf(applicationId: number, scanId: number): Promise<ScanImport> {
    const res = await t.get<ScanImport>(
      `${REST}/applications/${applicationId}/scans/${scanId}/import`,
      t.adminKey,
    );
    expect(res.status).toBe(200);
    return res.body.object;
  }

  async function waitForImport(
    applicationId: number,
    scanId: number,
    timeoutMs = 60_000,
  ): Promise<ScanImport> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await importOf(applicationId, scanId);
      if (run.phase === 'done' || run.phase === 'failed') return run;
      if (Date.now() > deadline)
        throw new Error(`import of scan ${scanId} still ${run.phase}\n${t.output.slice(-3000)}`);
      await sleep(100);
    }
  }

  /** completeTask with `report` (of ZAP unless said); the stored scan's id and its finished import. */
  async function importReport(
    applicationId: number,
    report: string | Buffer,
    scanner = 'zap',
  ): Promise<{ task: ClaimedTask; scanId: number; run: ScanImport; response: ThreadFixTask }> {
    const task = await claimTask(applicationId, scanner);
    const res = await completeTask(t, task, { name: 'RESULTS.xml', content: report });
    expect(res.status).toBe(200);
    const scanId = await scanOf(task.taskId);
    return {
      task,
      scanId,
      run: await waitForImport(applicationId, scanId),
      response: res.body.object,
    };
  }

  async function findingsOf(applicationId: number, scanId: number): Promise<Finding[]> {
    const all: Finding[] = [];
    for (let page = 1; ; page++) {
      const res = await t.get<{ total: number; findings: Finding[] }>(
        `${REST}/applications/${applicationId}/scans/${scanId}/findings?page=${page}&pageSize=500`,
        t.adminKey,
      );
      expect(res.status).toBe(200);
      all.push(...res.body.object.findings);
      if (all.length >= res.body.object.total) return all;
    }
  }

  async function vulnerabilities(
    applicationId: number,
    query = '',
    key = t.adminKey,
  ): Promise<VulnerabilityPage> {
    const res = await t.get<VulnerabilityPage>(
      `${REST}/applications/${applicationId}/vulnerabilities?pageSize=500${query}`,
      key,
    );
    expect(res.status).toBe(200);
    return res.body.object;
  }

  const vulnerabilityTable = (applicationId: number) =>
    t.query('SELECT * FROM vulnerabilities WHERE application_id = $1 ORDER BY id', [applicationId]);

  async function lastStatusMessage(taskId: number): Promise<string> {
    const res = await t.get<{ scanStatuses: { message: string }[] }>(
      `${REST}/tasks/${taskId}`,
      t.adminKey,
    );
    expect(res.status).toBe(200);
    return res.body.object.scanStatuses.at(-1)?.message ?? '';
  }

  /** Distinct fingerprints of findings, with the rule id of each. */
  const fingerprints = (findings: Finding[], ruleIds?: string[]) =>
    new Set(
      findings
        .filter((f) => ruleIds === undefined || ruleIds.includes(f.ruleId))
        .map((f) => f.fingerprint),
    );

  const storedTime = async (applicationId: number, scanId: number) => {
    const res = await t.get<{ id: number; storedTime: number }[]>(
      `${REST}/applications/${applicationId}/scans`,
      t.adminKey,
    );
    return res.body.object.find((scan) => scan.id === scanId)?.storedTime;
  };

  it('completeTask of the DVWA baseline report: the import reaches done, its counts are right, the vulnerabilities and the task history say so', async () => {
    const applicationId = await givenApplication(t);
    const { task, scanId, run, response } = await importReport(applicationId, DOJO);
    // completeTask's answer is the seed page's: the task, COMPLETE_SUCCESSFUL, nothing about imports.
    expect(response.status).toBe(3);
    expect(Object.keys(response)).not.toContain('import');

    const findings = await findingsOf(applicationId, scanId);
    const distinct = fingerprints(findings);
    expect(run).toMatchObject({
      phase: 'done',
      attempts: 1,
      findings: findings.length,
      new: distinct.size,
      stillPresent: 0,
      reopened: 0,
      fixed: 0,
      error: null,
      duplicateOfScanId: null,
    });
    // Every instance of the report's alert items is a finding; same path+parameter folds into one.
    expect(findings.length).toBe((DOJO.match(/<instance>/g) ?? []).length);
    expect(distinct.size).toBeLessThan(findings.length);

    const page = await vulnerabilities(applicationId);
    expect(page.total).toBe(distinct.size);
    expect(new Set(page.vulnerabilities.map((v) => v.fingerprint))).toEqual(distinct);
    const expectedCounts: Record<string, number> = {
      critical: 0,
      high: 0,
      medium: 0,
      low: 0,
      info: 0,
    };
    const severityOf = new Map(findings.map((f) => [f.fingerprint, f.severity]));
    for (const severity of severityOf.values()) expectedCounts[severity]++;
    expect(page.countsBySeverity).toEqual(expectedCounts);
    // The fixture's riskcodes: 4 medium, 6 low and 9 informational alert items (no high).
    expect(expectedCounts.medium).toBeGreaterThan(0);
    expect(expectedCounts.low).toBeGreaterThan(0);
    expect(expectedCounts.info).toBeGreaterThan(0);
    expect(expectedCounts.high + expectedCounts.critical).toBe(0);
    const scanTime = await storedTime(applicationId, scanId);
    for (const v of page.vulnerabilities) {
      expect(v).toMatchObject({
        status: 'open',
        scanner: 'zap',
        firstSeenScanId: scanId,
        lastSeenScanId: scanId,
        firstSeenTime: scanTime,
        lastSeenTime: scanTime,
        fixedScanId: null,
        reopenedCount: 0,
      });
    }
    // Most severe first.
    const ranks = page.vulnerabilities.map((v) =>
      ['critical', 'high', 'medium', 'low', 'info'].indexOf(v.severity),
    );
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));

    expect(await lastStatusMessage(task.taskId)).toBe(
      `Imported ${findings.length} findings: ${distinct.size} new, 0 still present, 0 reopened, 0 fixed`,
    );
    // Other services hear of it: a task.status event, written with the note.
    const [event] = await t.query<{ payload: { message: string; task: { status: number } } }>(
      `SELECT payload FROM outbox_events WHERE aggregate_id = $1 AND event_type = 'task.status'`,
      [task.taskId],
    );
    expect(event.payload.task.status).toBe(3);
    expect(event.payload.message).toMatch(/^Imported \d+ findings: /);
  });

  it('merges three ZAP scans of one application: new, still present, fixed, then reopened, with first and last seen', async () => {
    const applicationId = await givenApplication(t);
    const first = await importReport(applicationId, DOJO);
    const f1 = await findingsOf(applicationId, first.scanId);
    const all1 = fingerprints(f1);
    const removedA = fingerprints(f1, ['10020']); // medium, 11 instances
    const removedB = fingerprints(f1, ['10036']); // low, 11 instances
    expect(removedA.size).toBeGreaterThan(0);
    expect(removedB.size).toBeGreaterThan(0);

    // Second scan: two alert items gone, a new one added.
    const second = await importReport(applicationId, zapVariant(['10020', '10036'], [NEW_ITEM]));
    const f2 = await findingsOf(applicationId, second.scanId);
    const added = fingerprints(f2, ['90001']);
    expect(added.size).toBe(1);
    expect(second.run).toMatchObject({
      phase: 'done',
      findings: f2.length,
      new: 1,
      stillPresent: all1.size - removedA.size - removedB.size,
      reopened: 0,
      fixed: removedA.size + removedB.size,
    });
    expect(await lastStatusMessage(second.task.taskId)).toBe(
      `Imported ${f2.length} findings: 1 new, ${second.run.stillPresent} still present, 0 reopened, ${second.run.fixed} fixed`,
    );
    const t1 = await storedTime(applicationId, first.scanId);
    const t2 = await storedTime(applicationId, second.scanId);
    const byFingerprint = async () =>
      new Map(
        (await vulnerabilities(applicationId)).vulnerabilities.map((v) => [v.fingerprint, v]),
      );
    let vulns = await byFingerprint();
    expect(vulns.size).toBe(all1.size + 1);
    for (const [fingerprint, v] of vulns) {
      if (removedA.has(fingerprint) || removedB.has(fingerprint)) {
        expect(v).toMatchObject({
          status: 'fixed',
          firstSeenScanId: first.scanId,
          lastSeenScanId: first.scanId,
          lastSeenTime: t1,
          fixedScanId: second.scanId,
          fixedTime: t2,
        });
      } else if (added.has(fingerprint)) {
        expect(v).toMatchObject({
          status: 'open',
          severity: 'high',
          cwe: 79,
          firstSeenScanId: second.scanId,
          firstSeenTime: t2,
          lastSeenScanId: second.scanId,
        });
      } else {
        expect(v).toMatchObject({
          status: 'open',
          firstSeenScanId: first.scanId,
          firstSeenTime: t1,
          lastSeenScanId: second.scanId,
          lastSeenTime: t2,
          fixedScanId: null,
        });
      }
    }

    // Third scan: the second one plus 10020 again → those vulnerabilities reopen; 10036 stays fixed.
    const third = await importReport(
      applicationId,
      zapVariant(['10020', '10036'], [NEW_ITEM, alertItemOf('10020')]),
    );
    expect(third.run).toMatchObject({
      phase: 'done',
      new: 0,
      reopened: removedA.size,
      stillPresent: all1.size - removedA.size - removedB.size + 1,
      fixed: 0,
    });
    vulns = await byFingerprint();
    for (const fingerprint of removedA)
      expect(vulns.get(fingerprint)).toMatchObject({
        status: 'open',
        reopenedCount: 1,
        firstSeenScanId: first.scanId,
        lastSeenScanId: third.scanId,
        fixedScanId: null,
        fixedTime: null,
      });
    for (const fingerprint of removedB)
      expect(vulns.get(fingerprint)).toMatchObject({
        status: 'fixed',
        lastSeenScanId: first.scanId,
        fixedScanId: second.scanId,
      });

    // The same file uploaded again (a new task, identical content): nothing changes.
    const before = await vulnerabilityTable(applicationId);
    const fourth = await importReport(
      applicationId,
      zapVariant(['10020', '10036'], [NEW_ITEM, alertItemOf('10020')]),
    );
    expect(fourth.run).toMatchObject({
      phase: 'done',
      duplicateOfScanId: third.scanId,
      new: 0,
      reopened: 0,
      fixed: 0,
      stillPresent: all1.size - removedB.size + 1,
    });
    expect(await vulnerabilityTable(applicationId)).toEqual(before);

    // The same scan imported twice (its import run again): nothing changes either.
    await t.query(
      `UPDATE scan_imports SET phase = 'queued', owner_instance = NULL, heartbeat_at = NULL WHERE scan_id = $1`,
      [third.scanId],
    );
    const rerun = await waitForImport(applicationId, third.scanId);
    expect(rerun).toMatchObject({ phase: 'done', attempts: 2, new: 0, fixed: 0 });
    expect(await vulnerabilityTable(applicationId)).toEqual(before);
    // Its findings were replaced, not doubled.
    expect((await findingsOf(applicationId, third.scanId)).length).toBe(third.run.findings);
  });

  it('filters and pages vulnerabilities (severity, scanner, status, cwe) with counts by severity, and refuses bad filters', async () => {
    const applicationId = await givenApplication(t);
    await importReport(applicationId, DOJO);
    await importReport(applicationId, zapVariant(['10020'], [NEW_ITEM]));
    const all = (await vulnerabilities(applicationId)).vulnerabilities;
    const count = (predicate: (v: Vulnerability) => boolean) => all.filter(predicate).length;

    const fixed = await vulnerabilities(applicationId, '&status=fixed');
    expect(fixed.total).toBe(count((v) => v.status === 'fixed'));
    expect(fixed.total).toBeGreaterThan(0);
    expect(fixed.vulnerabilities.every((v) => v.status === 'fixed' && v.ruleId === '10020')).toBe(
      true,
    );
    expect(fixed.countsBySeverity.medium).toBe(fixed.total);

    const high = await vulnerabilities(applicationId, '&severity=high');
    expect(high.vulnerabilities.map((v) => v.ruleId)).toEqual(['90001']);
    // Counts ignore the severity filter: they say what each severity would select.
    expect(high.countsBySeverity).toEqual((await vulnerabilities(applicationId)).countsBySeverity);

    const cwe200 = await vulnerabilities(applicationId, '&cwe=200&status=open');
    expect(cwe200.total).toBe(count((v) => v.cwe === 200 && v.status === 'open'));
    expect(cwe200.total).toBeGreaterThan(0);
    expect(Object.values(cwe200.countsBySeverity).reduce((a, b) => a + b, 0)).toBe(cwe200.total);

    for (const name of ['zap', 'ZAP', 'OWASP Zed Attack Proxy'])
      expect(
        (await vulnerabilities(applicationId, `&scanner=${encodeURIComponent(name)}`)).total,
      ).toBe(all.length);
    expect((await vulnerabilities(applicationId, '&scanner=burp')).total).toBe(0);

    // Paging: disjoint pages in a stable order that add up to the whole list.
    const pages: Vulnerability[] = [];
    for (let page = 1; page <= Math.ceil(all.length / 7); page++) {
      const res = await t.get<VulnerabilityPage>(
        `${REST}/applications/${applicationId}/vulnerabilities?page=${page}&pageSize=7`,
        t.adminKey,
      );
      expect(res.body.object).toMatchObject({ page, pageSize: 7, total: all.length });
      pages.push(...res.body.object.vulnerabilities);
    }
    expect(pages.map((v) => v.id)).toEqual(all.map((v) => v.id));

    for (const query of [
      'severity=urgent',
      'status=closed',
      'cwe=abc',
      'cwe=0',
      'scanner=nessus',
      'page=0',
      'pageSize=501',
      'pageSize=x',
    ]) {
      const res = await t.get(
        `${REST}/applications/${applicationId}/vulnerabilities?${query}`,
        t.adminKey,
      );
      expect({ query, status: res.status, success: res.body.success }).toEqual({
        query,
        status: 400,
        success: false,
      });
      expect(res.body.message).not.toBe('');
    }
    const findingsRes = await t.get(
      `${REST}/applications/${applicationId}/scans/1/findings?pageSize=100000`,
      t.adminKey,
    );
    expect(findingsRes.status).toBe(400);
    expect((await t.get(`${REST}/applications/999999/vulnerabilities`, t.adminKey)).status).toBe(
      404,
    );
  });

  it('refuses a key without a read permission on every imports route', async () => {
    const applicationId = await givenApplication(t);
    const { scanId } = await importReport(applicationId, DOJO);
    const keyWith = async (permissions: string[]) => {
      const res = await t.postJson<{ apiKey: string }>(`/threadfix/rest/api-keys`, t.adminKey, {
        name: `imports-${permissions.join('-')}-${Date.now()}`,
        permissions,
      });
      expect(res.status).toBe(200);
      return res.body.object.apiKey;
    };
    const refused = await keyWith(['CAN_MANAGE_API_KEYS']);
    const reader = await keyWith(['READ_ACCESS']);
    for (const route of [
      `/applications/${applicationId}/vulnerabilities`,
      `/applications/${applicationId}/scans/${scanId}/findings`,
      `/applications/${applicationId}/scans/${scanId}/import`,
    ]) {
      const denied = await t.get(`${REST}${route}`, refused);
      expect({ route, status: denied.status, success: denied.body.success }).toEqual({
        route,
        status: 403,
        success: false,
      });
      expect((await t.get(`${REST}${route}`)).status).toBe(401);
      expect((await t.get(`${REST}${route}`, reader)).status).toBe(200);
    }
  });

  /** Pretends an import of the application runs on another instance: it holds the application's queue. */
  const holdQueue = (scanId: number) =>
    t.query(
      `UPDATE scan_imports SET phase = 'parsing', owner_instance = 'elsewhere', heartbeat_at = now() + interval '1 hour' WHERE scan_id = $1`,
      [scanId],
    );
  const releaseQueue = (scanId: number) =>
    t.query(
      `UPDATE scan_imports SET phase = 'done', owner_instance = NULL, heartbeat_at = NULL WHERE scan_id = $1`,
      [scanId],
    );
  /** Where the local storage keeps a scan's file. */
  async function storedFileOf(scanId: number): Promise<string> {
    const [{ storage_key }] = await t.query<{ storage_key: string }>(
      'SELECT storage_key FROM scans WHERE id = $1',
      [scanId],
    );
    return path.join(t.dataDir, 'scans', storage_key);
  }

  /**
   * An application whose first scan's import holds its queue (as if running elsewhere), and a
   * second scan, completed and stored, whose import waits behind it.
   */
  async function scanBehindHeldQueue() {
    const applicationId = await givenApplication(t);
    const held = (await importReport(applicationId, DOJO)).scanId;
    await holdQueue(held);
    const task = await claimTask(applicationId);
    expect((await completeTask(t, task, { name: 'ZAPRESULTS.xml', content: DOJO })).status).toBe(
      200,
    );
    const scanId = await scanOf(task.taskId);
    return { applicationId, held, task, scanId, storedFile: await storedFileOf(scanId) };
  }

  it('a malformed report fails its import with the error, keeps no findings, and waits its turn behind a running import of its application', async () => {
    const { applicationId, held, task, scanId, storedFile } = await scanBehindHeldQueue();
    // Break the stored file (a disk fault, a truncated copy) while the import waits.
    const content = await readFile(storedFile, 'utf8');
    await writeFile(storedFile, content.slice(0, Math.floor(content.length / 2)) + '<<not xml');
    await sleep(2500); // two poll intervals
    expect((await importOf(applicationId, scanId)).phase).toBe('queued');

    await releaseQueue(held);
    const before = await vulnerabilityTable(applicationId);
    const run = await waitForImport(applicationId, scanId);
    expect(run.phase).toBe('failed');
    expect(run.error).toBeTruthy();
    expect(run.findings).toBe(0);
    const [{ count }] = await t.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM findings WHERE scan_id = $1',
      [scanId],
    );
    expect(count).toBe(0);
    expect(await vulnerabilityTable(applicationId)).toEqual(before);
    expect(await lastStatusMessage(task.taskId)).toBe(`Import failed: ${run.error}`);

    // The next import of the application is not held back by the failure.
    const next = await importReport(applicationId, DOJO);
    expect(next.run.phase).toBe('done');
  });

  it('a scan whose stored file is gone fails its import at once (no retry can bring it back), and says so', async () => {
    // The application's queue is held while the file disappears.
    const { applicationId, held, task, scanId, storedFile } = await scanBehindHeldQueue();
    await rm(storedFile);
    await releaseQueue(held);
    const run = await waitForImport(applicationId, scanId);
    expect(run).toMatchObject({ phase: 'failed', attempts: 1, findings: 0 });
    expect(run.error).toContain('The scan file was not found.');
    expect(await lastStatusMessage(task.taskId)).toBe(`Import failed: ${run.error}`);
  });

  describe("DefectDojo's sample reports and the one XML reader", () => {
    it('Burp issues raised by extensions (all of type 134217728) stay apart: issue4399.xml gives 430 vulnerabilities, Content Sniffing not disabled with its 40 findings, the Vulners item medium', async () => {
      const applicationId = await givenApplication(t);
      const { scanId, run } = await importReport(
        applicationId,
        fixture('burp/issue4399.xml'),
        'burp',
      );
      expect(run).toMatchObject({ phase: 'done', findings: 441, new: 430, error: null });
      const page = await vulnerabilities(applicationId);
      expect(page.total).toBe(430);
      const sniffing = page.vulnerabilities.filter(
        (v) => v.name === 'Content Sniffing not disabled',
      );
      expect(sniffing.length).toBeGreaterThan(0);
      expect(sniffing.every((v) => v.ruleId === '134217728:Content Sniffing not disabled')).toBe(
        true,
      );
      const findings = await findingsOf(applicationId, scanId);
      const sniffingPrints = new Set(sniffing.map((v) => v.fingerprint));
      expect(findings.filter((f) => sniffingPrints.has(f.fingerprint))).toHaveLength(40);
      expect(
        page.vulnerabilities.filter((v) => v.name === '[Vulners] Vulnerable Software detected'),
      ).toEqual([expect.objectContaining({ severity: 'medium', scanner: 'burp' })]);
      expect(page.vulnerabilities.filter((v) => v.name === '[Vulners] Software detected')).toEqual([
        expect.objectContaining({ severity: 'info' }),
      ]);
    });

    it.each([
      ['acunetix/many_findings_with_port_number.xml', 'http://www.itsecgames.com:8080/'],
      ['acunetix/XML_http_example_co_id_port_num.xml', 'http://example.co.id:9000/'],
    ])(
      'Acunetix %s (StartURL host:port): every finding has its URL, with the port',
      async (file, start) => {
        const applicationId = await givenApplication(t);
        const { scanId, run } = await importReport(applicationId, fixture(file), 'acunetix');
        expect(run.phase).toBe('done');
        const findings = await findingsOf(applicationId, scanId);
        expect(findings.length).toBeGreaterThan(0);
        expect(findings.filter((f) => !f.url?.startsWith(start))).toEqual([]);
      },
    );

    it('a ZAP report with a 2 MiB attribute is refused by completeTask (422), not stored and then failed at import', async () => {
      const applicationId = await givenApplication(t);
      const task = await claimTask(applicationId);
      const report = DOJO.replace(
        '<OWASPZAPReport ',
        `<OWASPZAPReport padding="${'p'.repeat(2 * 1024 * 1024)}" `,
      );
      const res = await completeTask(t, task, { name: 'ZAPRESULTS.xml', content: report });
      expect([res.status, res.body.message]).toEqual([
        422,
        'The XML contains an attribute value, start tag, processing instruction or DOCTYPE longer than 1048576 characters; refused.',
      ]);
      expect(await t.query('SELECT id FROM scans WHERE task_id = $1', [task.taskId])).toEqual([]);
    });

    it('the attribute bomb (5 million attributes on one element, ~58 MB) is refused by completeTask (422) after its first megabytes, in bounded time and server memory', async () => {
      const applicationId = await givenApplication(t);
      const task = await claimTask(applicationId);
      const rss = async () =>
        Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${t.pid}/status`, 'utf8'))?.[1]) * 1024;
      const rssBefore = await rss();
      let rssPeak = rssBefore;
      const sampler = setInterval(() => {
        rss().then(
          (value) => (rssPeak = Math.max(rssPeak, value)),
          () => undefined,
        );
      }, 20);
      const started = Date.now();
      const upload = uploadUntilAnswered(t, task);
      let bytesSent = 0;
      try {
        await upload.write('<?xml version="1.0"?><OWASPZAPReport version="2.16.1"><site');
        // Distinct names (base 36), as in the report of the finding.
        for (let b = 0; b < 100 && !upload.answered(); b++) {
          const block = Array.from(
            { length: 50_000 },
            (_, i) => ` a${(b * 50_000 + i).toString(36)}="ok"`,
          ).join('');
          await upload.write(block);
          bytesSent += block.length;
          await upload.settle(200);
        }
        if (!upload.answered()) await upload.write('/></OWASPZAPReport>');
        const res = await upload.response;
        expect([res.status, res.body.message]).toEqual([
          422,
          'The XML contains an element with more than 256 attributes; refused.',
        ]);
        expect(Date.now() - started).toBeLessThan(5000);
        expect(bytesSent).toBeLessThan(8 * 1024 * 1024); // measured: the first block, 0.5 MB
      } finally {
        clearInterval(sampler);
        upload.destroy();
      }
      expect(rssPeak - rssBefore).toBeLessThan(64 * 1024 * 1024); // measured: under 1 MB
      expect(await t.query('SELECT id FROM scans WHERE task_id = $1', [task.taskId])).toEqual([]);
      // The agent can still finish the task with a proper report.
      expect((await completeTask(t, task, { name: 'ZAPRESULTS.xml', content: DOJO })).status).toBe(
        200,
      );
    });
  });

  describe('big reports', () => {
    /** A ZAP report of `items` alert items, each at its own path: as many vulnerabilities. */
    function bigReport(items: number, salt: string): string[] {
      const chunks = [ZAP_HEAD];
      let chunk = '';
      for (let i = 0; i < items; i++) {
        chunk +=
          `<alertitem><pluginid>10020</pluginid><name>X-Frame-Options Header Not Set</name><riskcode>2</riskcode><cweid>1021</cweid>` +
          `<instances><instance><uri>http://t.example/${salt}/page-${i}</uri><method>GET</method><param>X-Frame-Options</param></instance></instances></alertitem>\n`;
        if (chunk.length > 1 << 20) {
          chunks.push(chunk);
          chunk = '';
        }
      }
      chunks.push(chunk, ZAP_TAIL);
      return chunks;
    }

    async function uploadBig(task: ClaimedTask, chunks: string[]): Promise<void> {
      const upload = startRawUpload(t, task);
      for (const chunk of chunks) await upload.write(chunk);
      const res = await upload.finish();
      expect(res.status).toBe(200);
    }

    it('imports of one application run one at a time, in scan order; another application runs alongside', async () => {
      const appA = await givenApplication(t);
      const appB = await givenApplication(t);
      const tasks = [await claimTask(appA), await claimTask(appA), await claimTask(appB)];
      for (const [i, task] of tasks.entries()) await uploadBig(task, bigReport(10_000, `s${i}`));
      const scans = await Promise.all(tasks.map((task) => scanOf(task.taskId)));
      let maxRunningOfA = 0;
      const deadline = Date.now() + 150_000;
      for (;;) {
        if (Date.now() > deadline) throw new Error(`imports not done:\n${t.output.slice(-3000)}`);
        const rows = await t.query<{ application_id: number; phase: string }>(
          'SELECT application_id, phase FROM scan_imports WHERE scan_id = ANY($1::int[])',
          [scans],
        );
        const runningOfA = rows.filter(
          (r) => r.application_id === appA && ['parsing', 'merging'].includes(r.phase),
        ).length;
        maxRunningOfA = Math.max(maxRunningOfA, runningOfA);
        if (rows.every((r) => r.phase === 'done' || r.phase === 'failed')) break;
        await sleep(20);
      }
      expect(maxRunningOfA).toBe(1);
      const runs = await t.query<{
        scan_id: number;
        phase: string;
        started_at: Date;
        finished_at: Date;
      }>(
        'SELECT scan_id, phase, started_at, finished_at FROM scan_imports WHERE scan_id = ANY($1::int[]) ORDER BY scan_id',
        [scans],
      );
      expect(runs.map((r) => r.phase)).toEqual(['done', 'done', 'done']);
      expect(runs[1].started_at.getTime()).toBeGreaterThanOrEqual(runs[0].finished_at.getTime());
      // Second scan of A: everything of the first is gone (other paths), all of its own is new.
      expect(await importOf(appA, scans[1])).toMatchObject({ new: 10_000, fixed: 10_000 });
    }, 180_000);

    it('the server killed (SIGKILL) while an import parses: after the restart it completes exactly once, with the right counts', async () => {
      const items = 150_000;
      const applicationId = await givenApplication(t);
      const task = await claimTask(applicationId);
      await uploadBig(task, bigReport(items, 'crash'));
      const scanId = await scanOf(task.taskId);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const [row] = await t.query<{ phase: string }>(
          'SELECT phase FROM scan_imports WHERE scan_id = $1',
          [scanId],
        );
        if (row.phase === 'parsing') break;
        if (row.phase !== 'queued' || Date.now() > deadline)
          throw new Error(`import went ${row.phase} before the kill`);
        await sleep(10);
      }
      await sleep(300); // some batches inserted (uncommitted)
      await t.kill('SIGKILL');
      // Nothing of the interrupted run is visible.
      const [{ count: leftover }] = await t.query<{ count: number }>(
        'SELECT count(*)::int AS count FROM findings WHERE scan_id = $1',
        [scanId],
      );
      expect(leftover).toBe(0);
      expect(
        (await t.query('SELECT phase FROM scan_imports WHERE scan_id = $1', [scanId]))[0],
      ).toEqual({ phase: 'parsing' });

      await t.spawn();
      const run = await waitForImport(applicationId, scanId, 120_000);
      expect(run).toMatchObject({
        phase: 'done',
        attempts: 2,
        findings: items,
        new: items,
        stillPresent: 0,
        fixed: 0,
      });
      const [{ findings, distinct }] = await t.query<{ findings: number; distinct: number }>(
        'SELECT count(*)::int AS findings, count(DISTINCT fingerprint)::int AS distinct FROM findings WHERE scan_id = $1',
        [scanId],
      );
      expect({ findings, distinct }).toEqual({ findings: items, distinct: items });
      const [{ vulns }] = await t.query<{ vulns: number }>(
        'SELECT count(*)::int AS vulns FROM vulnerabilities WHERE application_id = $1',
        [applicationId],
      );
      expect(vulns).toBe(items);
      const notes = await t.query<{ message: string }>(
        `SELECT message FROM scan_statuses WHERE task_id = $1 AND message LIKE 'Import%'`,
        [task.taskId],
      );
      expect(notes).toEqual([
        {
          message: `Imported ${items} findings: ${items} new, 0 still present, 0 reopened, 0 fixed`,
        },
      ]);
    }, 240_000);
  });
});

describe('scan imports on several instances', () => {
  let servers: TestServer[];
  beforeAll(async () => {
    servers = await TestServer.startCluster(2, {
      IMPORT_POLL_INTERVAL_SECONDS: '1',
      IMPORT_CONCURRENCY: '2',
    });
  });
  afterAll(async () => {
    for (const server of servers.slice(1)) {
      await server.kill();
      await server.db.end();
    }
    await servers[0].stop();
  });

  it('two instances import 12 scans of 4 applications: each exactly once, one per application at a time', async () => {
    const [t] = servers;
    const agentKey = await givenAgentKey(t);
    const apps = [];
    for (let i = 0; i < 4; i++) apps.push(await givenApplication(t));
    const taskIds: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (const applicationId of apps) {
        const queued = await queueScan(t, applicationId, 'zap');
        const claimed = await requestTask(t, agentKey, 'zap');
        expect(claimed.body.object.taskId).toBe(queued.id);
        const task = {
          applicationId,
          taskId: queued.id,
          agentKey,
          secureTaskKey: claimed.body.object.secureTaskKey,
        };
        // Alternate the instance that receives the upload; each round drops one more alert item.
        const server = servers[taskIds.length % 2];
        const report = zapVariant(['10020', '10036'].slice(0, round));
        expect(
          (await completeTask(server, task, { name: 'ZAPRESULTS.xml', content: report })).status,
        ).toBe(200);
        taskIds.push(queued.id);
      }
    }
    let maxRunningPerApp = 0;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await t.query<{ unfinished: number; per_app: number }>(
        `SELECT count(*) FILTER (WHERE phase <> 'done')::int AS unfinished,
                coalesce((SELECT max(n) FROM (SELECT count(*)::int AS n FROM scan_imports
                  WHERE phase IN ('parsing', 'merging') GROUP BY application_id) running), 0) AS per_app
         FROM scan_imports`,
      );
      maxRunningPerApp = Math.max(maxRunningPerApp, row.per_app);
      if (row.unfinished === 0) break;
      if (Date.now() > deadline) throw new Error(`${row.unfinished} imports not done`);
      await sleep(20);
    }
    expect(maxRunningPerApp).toBeLessThanOrEqual(1);
    const runs = await t.query<{ attempts: number; fixed: number; scan_id: number }>(
      'SELECT attempts, fixed_count AS fixed, scan_id FROM scan_imports ORDER BY scan_id',
    );
    expect(runs).toHaveLength(12);
    expect(runs.every((run) => run.attempts === 1)).toBe(true);
    // Per application: the 1st scan fixes nothing, the 2nd fixes 10020's, the 3rd 10036's.
    const notes = await t.query<{ task_id: number; n: number }>(
      `SELECT task_id, count(*)::int AS n FROM scan_statuses
       WHERE task_id = ANY($1::int[]) AND message LIKE 'Imported %' GROUP BY task_id`,
      [taskIds],
    );
    expect(notes).toHaveLength(12);
    expect(notes.every((note) => note.n === 1)).toBe(true);
    const byApp = await t.query<{ application_id: number; fixed: number[] }>(
      `SELECT i.application_id, array_agg(i.fixed_count ORDER BY i.scan_id) AS fixed
       FROM scan_imports i GROUP BY i.application_id ORDER BY i.application_id`,
    );
    const [first] = byApp;
    expect(first.fixed[0]).toBe(0);
    expect(first.fixed[1]).toBeGreaterThan(0);
    expect(first.fixed[2]).toBeGreaterThan(0);
    for (const app of byApp) expect(app.fixed).toEqual(first.fixed);
  }, 120_000);
});
