/**
 * The monitoring kit in deploy/monitoring/ (docs/operations.md, "Dashboards and alerts"): the
 * Grafana dashboard is a dashboard model by Grafana's own schema and has what an import needs;
 * every query of the dashboard and of the alert rules names a metric the real server exports; the
 * alert rules are complete and pass promtool's checks and unit tests (when promtool is installed).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { createGenerator } from 'ts-json-schema-generator';
import { parse, stringify } from 'yaml';
import {
  ClaimedTask,
  completeTask,
  fixture,
  givenAgentKey,
  givenApplication,
  queueScan,
  requestTask,
} from './support/agent-flow';
import {
  exposedFamilies,
  exposedLabels,
  isExposed,
  promqlLabelNames,
  promqlMetricNames,
  variableQueryExpr,
} from './support/promql-metrics';
import { requireProgram } from './support/requirements';
import { tempDir } from './support/resources';
import { TestServer } from './support/test-server';

const ROOT = path.resolve(__dirname, '..');
const MONITORING = path.join(ROOT, 'deploy/monitoring');
const DASHBOARD_FILE = path.join(MONITORING, 'grafana/scanqueue.json');
const RULES_DIR = path.join(MONITORING, 'prometheus');
const RULES_FILE = path.join(RULES_DIR, 'alerts.yml');
const RULES_TEST_FILE = path.join(RULES_DIR, 'alerts.test.yml');
const OPERATIONS_DOC = path.join(ROOT, 'docs/operations.md');

interface Target {
  refId?: string;
  expr?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Variable[] };
}
interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[];
}

const dashboardJson = readFileSync(DASHBOARD_FILE, 'utf8');
const dashboard = JSON.parse(dashboardJson) as Dashboard;
const rules = (
  parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: Rule[] }[] }
).groups.flatMap((group) => group.rules);

/** The Prometheus data source every panel and query uses: the dashboard's `datasource` variable. */
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

function ajvErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('\n');
}

/**
 * Grafana's dashboard model as JSON Schema: the `Dashboard` type @grafana/schema publishes (generated
 * by Grafana from its CUE schema; raw/dashboard/x is the classic JSON model Grafana imports),
 * compiled with no property beyond those it declares.
 */
async function grafanaDashboardSchema(): Promise<object> {
  const schemaPackage = path.dirname(require.resolve('@grafana/schema/package.json'));
  const types = path.join(schemaPackage, 'dist/types/raw/dashboard/x/types.gen.d.ts');
  // A program of that file alone: without a tsconfig, TypeScript would load every @types package.
  const dir = await tempDir('scanqueue-grafana-schema');
  try {
    const tsconfig = path.join(dir.path, 'tsconfig.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({
        compilerOptions: { types: [], lib: ['es5'], noEmit: true },
        files: [types],
      }),
    );
    return createGenerator({
      path: types,
      tsconfig,
      type: 'Dashboard',
      skipTypeCheck: true,
      expose: 'none',
      additionalProperties: false,
    }).createSchema('Dashboard');
  } finally {
    await dir.release();
  }
}

/**
 * What importing it needs beyond the model (Grafana's docs, "JSON model" and "Import dashboards"):
 * a title, a uid (to update it in place), a schemaVersion Grafana migrates from; every panel placed
 * on the 24-column grid; every query panel on the data source variable with PromQL targets; the
 * `datasource` and `scanner` variables.
 */
const IMPORT_SCHEMA = {
  type: 'object',
  required: ['title', 'uid', 'schemaVersion', 'panels', 'templating'],
  properties: {
    title: { type: 'string', minLength: 1 },
    uid: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,40}$' },
    schemaVersion: { type: 'integer', minimum: 36 },
    panels: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['id', 'type', 'title', 'gridPos'],
        properties: {
          id: { type: 'integer', minimum: 1 },
          type: { type: 'string', minLength: 1 },
          title: { type: 'string', minLength: 1 },
          gridPos: {
            type: 'object',
            required: ['h', 'w', 'x', 'y'],
            properties: {
              h: { type: 'integer', minimum: 1 },
              w: { type: 'integer', minimum: 1, maximum: 24 },
              x: { type: 'integer', minimum: 0, maximum: 23 },
              y: { type: 'integer', minimum: 0 },
            },
          },
        },
        if: { properties: { type: { const: 'row' } } },
        else: {
          required: ['datasource', 'targets'],
          properties: {
            datasource: { const: DATASOURCE },
            targets: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                required: ['refId', 'expr', 'datasource'],
                properties: {
                  refId: { type: 'string', minLength: 1 },
                  expr: { type: 'string', minLength: 1 },
                  datasource: { const: DATASOURCE },
                },
              },
            },
          },
        },
      },
    },
    templating: {
      type: 'object',
      required: ['list'],
      properties: {
        list: {
          type: 'array',
          allOf: [
            {
              contains: {
                type: 'object',
                required: ['name', 'type', 'query'],
                properties: {
                  name: { const: 'datasource' },
                  type: { const: 'datasource' },
                  query: { const: 'prometheus' },
                },
              },
            },
            {
              contains: {
                type: 'object',
                required: ['name', 'type', 'datasource'],
                properties: {
                  name: { const: 'scanner' },
                  type: { const: 'query' },
                  datasource: { const: DATASOURCE },
                },
              },
            },
          ],
        },
      },
    },
  },
};

describe('the Grafana dashboard (deploy/monitoring/grafana/scanqueue.json)', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const importable = ajv.compile(IMPORT_SCHEMA);
  let grafana: ValidateFunction;
  beforeAll(async () => {
    grafana = ajv.compile(await grafanaDashboardSchema());
  });

  it("is a dashboard by Grafana's own schema (@grafana/schema's Dashboard type)", () => {
    expect(ajvErrors(grafana(dashboard) ? [] : grafana.errors)).toBe('');
  });

  it('has what an import needs: title, uid, panels on the data source variable, the scanner variable', () => {
    expect(ajvErrors(importable(dashboard) ? [] : importable.errors)).toBe('');
  });

  it('both schemas refuse a broken dashboard (a misspelt field, a panel with no place or query)', () => {
    const broken = JSON.parse(dashboardJson) as Record<string, unknown> & Dashboard;
    broken.panels[1] = { ...broken.panels[1], gridPos: 'top' as never, targets: [] };
    broken.refrsh = '30s';
    expect(grafana(broken)).toBe(false);
    expect(ajvErrors(grafana.errors)).toMatch(/gridPos|additional properties/);
    expect(importable(broken)).toBe(false);
    expect(ajvErrors(importable.errors)).toMatch(/gridPos|targets/);
  });

  it('places its panels side by side on the 24-column grid, none over another, with unique ids', () => {
    const cells = new Map<string, string>();
    const misplaced: string[] = [];
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      if (x + w > 24) misplaced.push(`${panel.title} ends past column 24`);
      for (let row = y; row < y + h; row++)
        for (let column = x; column < x + w; column++) {
          const over = cells.get(`${row}:${column}`);
          if (over) misplaced.push(`${panel.title} over ${over} at ${row}:${column}`);
          cells.set(`${row}:${column}`, panel.title);
        }
    }
    expect(misplaced).toEqual([]);
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('the alert rules (deploy/monitoring/prometheus/alerts.yml)', () => {
  const operations = readFileSync(OPERATIONS_DOC, 'utf8');
  /** GitHub's anchors of docs/operations.md's headings. */
  const anchors = new Set(
    [...operations.matchAll(/^#+ (.+)$/gm)].map(([, heading]) =>
      heading
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replace(/ /g, '-'),
    ),
  );

  it('each waits (for:), has a severity, a summary, a description and its runbook in docs/operations.md', () => {
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const rule of rules) {
      expect([rule.alert, rule.for]).toEqual([rule.alert, expect.stringMatching(/^\d+[smh]$/)]);
      expect([rule.alert, rule.labels?.severity]).toEqual([
        rule.alert,
        expect.stringMatching(/^(warning|critical)$/),
      ]);
      expect(Object.keys(rule.annotations ?? {}).sort()).toEqual([
        'description',
        'runbook_url',
        'summary',
      ]);
      const anchor = /^docs\/operations\.md#(.+)$/.exec(rule.annotations?.runbook_url ?? '')?.[1];
      expect([rule.alert, anchor && anchors.has(anchor)]).toEqual([rule.alert, true]);
    }
  });

  it('each has a unit test where it fires and one where it does not (alerts.test.yml)', () => {
    const tests = (parse(readFileSync(RULES_TEST_FILE, 'utf8')) as { tests: RuleTest[] }).tests;
    const cases = tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const { alert } of rules) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect([alert, mine.some((c) => c.exp_alerts.length > 0)]).toEqual([alert, true]);
      expect([alert, mine.some((c) => c.exp_alerts.length === 0)]).toEqual([alert, true]);
    }
  });
});

/** Every PromQL expression of the dashboard (panels, variables) and of the alert rules. */
const QUERIES = [
  ...dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: panel.title, expr: target.expr ?? '' })),
  ),
  ...dashboard.templating.list
    .filter((variable) => variable.type === 'query')
    .map((variable) => ({
      where: `variable ${variable.name}`,
      expr: variableQueryExpr(
        typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? ''),
      ),
    })),
  ...rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
];
/** The labels Prometheus adds to every series it scrapes. */
const TARGET_LABELS = ['job', 'instance'];

describe('the metric names of the queries', () => {
  it('are found in PromQL with functions, matchers, ranges, grouping, keywords and variables', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.99, sum by (le, route) (rate(a_seconds_bucket{job="$job", route=~"/x{1}"}[$__rate_interval])))',
      ),
    ).toEqual(['a_seconds_bucket']);
    expect(
      promqlMetricNames(
        'sum(rate(b_total{s=~"5.."}[5m] offset 1h)) / ignoring(s) group_left sum(c) by (d) > 0.01 and on() up == bool 1e3',
      ),
    ).toEqual(['b_total', 'c', 'up']);
    expect(promqlMetricNames('max without (instance) (g:recorded) unless absent(h)')).toEqual([
      'g:recorded',
      'h',
    ]);
    expect(variableQueryExpr('label_values(q_depth{job="$job"}, scanner)')).toBe(
      'q_depth{job="$job"}',
    );
    expect(
      promqlLabelNames(
        'sum by (le, route) (rate(a_bucket{job="$job", route=~"/x{1}"}[5m])) / on(route) b{s!="x,y"}',
      ),
    ).toEqual({
      matchers: [
        { metric: 'a_bucket', labels: ['job', 'route'] },
        { metric: 'b', labels: ['s'] },
      ],
      grouping: ['le', 'route', 'route'],
    });
  });

  describe('against the real server', () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await TestServer.start({ IMPORT_POLL_INTERVAL_SECONDS: '1' });
    });
    afterAll(() => t.stop());

    async function scrape(): Promise<string> {
      const res = await fetch(`${t.baseUrl}/threadfix/metrics`);
      expect(res.status).toBe(200);
      return res.text();
    }

    /** The value of the sample with this name and exactly these labels; undefined if none. */
    function sampleValue(
      text: string,
      name: string,
      labels: Record<string, string> = {},
    ): number | undefined {
      const wanted = Object.entries(labels)
        .map(([label, value]) => `${label}="${value}"`)
        .join(',');
      const line = `${name}${wanted ? `{${wanted}}` : ''} `;
      const found = text.split('\n').find((sample) => sample.startsWith(line));
      return found === undefined ? undefined : Number(found.slice(line.length));
    }

    async function claimed(applicationId: number, agentKey: string): Promise<ClaimedTask> {
      const queued = await queueScan(t, applicationId, 'zap');
      const res = await requestTask(t, agentKey, 'zap');
      expect(res.body.object.taskId).toBe(queued.id);
      const { secureTaskKey } = res.body.object;
      return { applicationId, taskId: queued.id, agentKey, secureTaskKey };
    }

    /** Scrapes until the sample has the value (imports run in the background). */
    async function whenSample(name: string, labels: Record<string, string>, value: number) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const text = await scrape();
        if (sampleValue(text, name, labels) === value || Date.now() > deadline) return text;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }

    it('count what the dashboard adds: pickup latency per scanner, import runs by outcome and their duration', async () => {
      const applicationId = await givenApplication(t);
      const agentKey = await givenAgentKey(t);
      const queued = await queueScan(t, applicationId, 'zap');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const res = await requestTask(t, agentKey, 'zap');
      expect(res.body.object.taskId).toBe(queued.id);
      let text = await scrape();
      const zap = { scanner: 'zap' };
      expect(sampleValue(text, 'scanqueue_pickup_latency_seconds_count', zap)).toBe(1);
      expect(sampleValue(text, 'scanqueue_pickup_latency_seconds_sum', zap)).toBeGreaterThan(1);
      expect(sampleValue(text, 'scanqueue_pickup_latency_seconds_sum', zap)).toBeLessThan(60);
      expect(sampleValue(text, 'scanqueue_pickup_latency_seconds_count', { scanner: 'burp' })).toBe(
        0,
      );
      const report = { name: 'ZAPRESULTS.xml', content: fixture('zap/5_zap_sample_one.xml') };
      const first: ClaimedTask = {
        applicationId,
        taskId: queued.id,
        agentKey,
        secureTaskKey: res.body.object.secureTaskKey,
      };
      expect((await completeTask(t, first, report)).status).toBe(200);
      text = await whenSample('scanqueue_imports_total', { outcome: 'done' }, 1);
      expect(sampleValue(text, 'scanqueue_imports_total', { outcome: 'done' })).toBe(1);
      expect(sampleValue(text, 'scanqueue_import_duration_seconds_count')).toBe(1);
      expect(sampleValue(text, 'scanqueue_imports_total', { outcome: 'failed' })).toBe(0);

      // A second scan whose stored file is gone when its import runs: held behind the first
      // (as if another instance ran it) while the file is removed.
      const [{ id: firstScan }] = await t.query<{ id: number }>(
        'SELECT id FROM scans WHERE task_id = $1',
        [first.taskId],
      );
      await t.query(
        `UPDATE scan_imports SET phase = 'parsing', owner_instance = 'elsewhere', heartbeat_at = now() + interval '1 hour' WHERE scan_id = $1`,
        [firstScan],
      );
      const second = await claimed(applicationId, agentKey);
      expect((await completeTask(t, second, report)).status).toBe(200);
      const [{ storage_key }] = await t.query<{ storage_key: string }>(
        'SELECT storage_key FROM scans WHERE task_id = $1',
        [second.taskId],
      );
      await rm(path.join(t.dataDir, 'scans', storage_key));
      await t.query(
        `UPDATE scan_imports SET phase = 'done', owner_instance = NULL, heartbeat_at = NULL WHERE scan_id = $1`,
        [firstScan],
      );
      text = await whenSample('scanqueue_imports_total', { outcome: 'failed' }, 1);
      expect(sampleValue(text, 'scanqueue_imports_total', { outcome: 'failed' })).toBe(1);
      expect(sampleValue(text, 'scanqueue_imports_total', { outcome: 'done' })).toBe(1);
      expect(sampleValue(text, 'scanqueue_import_duration_seconds_count')).toBe(1);
      expect(sampleValue(text, 'scanqueue_pickup_latency_seconds_count', zap)).toBe(2);
    });

    it('are metrics the service exports (/threadfix/metrics), in every dashboard query and alert rule', async () => {
      const families = exposedFamilies(await scrape());
      expect(QUERIES.length).toBeGreaterThan(40);
      const referenced = new Set<string>();
      const unknown: string[] = [];
      for (const { where, expr } of QUERIES) {
        const names = promqlMetricNames(expr);
        if (names.length === 0) unknown.push(`${where}: no metric in ${expr}`);
        for (const name of names) {
          referenced.add(name);
          // `up` is Prometheus's own series for every scrape target.
          if (name !== 'up' && !isExposed(name, families)) unknown.push(`${where}: ${name}`);
        }
      }
      expect(unknown).toEqual([]);
      // The panels the issue asks for: queue depth and age, pickup latency, claims, waiting
      // agents, agents online (and its alert), uploads, imports, HTTP, the reaper.
      for (const name of [
        'scanqueue_queue_depth',
        'scanqueue_poll_waiters',
        'scanqueue_agents_online',
        'scanqueue_queue_oldest_age_seconds',
        'scanqueue_pickup_latency_seconds_bucket',
        'scanqueue_claim_duration_seconds_count',
        'scanqueue_upload_bytes_total',
        'scanqueue_imports_total',
        'scanqueue_http_request_duration_seconds_count',
        'scanqueue_reaper_timed_out_tasks_total',
        'scanqueue_reaper_failures_total',
      ])
        expect([name, referenced.has(name)]).toEqual([name, true]);
    });

    it('match and group by labels those series carry (besides job and instance, which Prometheus adds)', async () => {
      const carried = exposedLabels(await scrape());
      const wrong: string[] = [];
      for (const { where, expr } of QUERIES) {
        const { matchers, grouping } = promqlLabelNames(expr);
        for (const { metric, labels } of matchers)
          for (const label of labels)
            if (!TARGET_LABELS.includes(label) && !carried.get(metric)?.has(label))
              wrong.push(`${where}: ${metric}{${label}}`);
        const ofItsMetrics = promqlMetricNames(expr).flatMap((name) => [
          ...(carried.get(name) ?? []),
        ]);
        for (const label of grouping)
          if (!TARGET_LABELS.includes(label) && !ofItsMetrics.includes(label))
            wrong.push(`${where}: by ${label}`);
      }
      expect(wrong).toEqual([]);
    });
  });
});

const PROMTOOL = requireProgram('promtool', {
  skips: 'the promtool checks of the alert rules',
  envVariable: 'PROMTOOL_BIN',
  how: "install Debian's prometheus package (apt-get install prometheus), or set PROMTOOL_BIN to promtool's path",
});
const describeWithPromtool = PROMTOOL ? describe : describe.skip;

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL ?? 'promtool', args, { cwd, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describeWithPromtool('promtool', () => {
  it('check rules: the rules file is valid, every rule found', () => {
    const run = promtool(['check', 'rules', RULES_FILE], ROOT);
    expect(run).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
    expect(run.output).toContain(`${rules.length} rules found`);
  });

  it('test rules: every unit test of alerts.test.yml passes', () => {
    expect(promtool(['test', 'rules', RULES_TEST_FILE], ROOT)).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS'),
    });
  });

  it('test rules fails when a rule stops firing as its test expects (a threshold raised)', async () => {
    const dir = await tempDir('scanqueue-alerts');
    try {
      const raised = readFileSync(RULES_FILE, 'utf8').replace(
        'scanqueue_queue_oldest_age_seconds) > 3600',
        'scanqueue_queue_oldest_age_seconds) > 7200',
      );
      expect(raised).toContain('> 7200');
      writeFileSync(path.join(dir.path, 'alerts.yml'), raised);
      writeFileSync(
        path.join(dir.path, 'alerts.test.yml'),
        stringify(parse(readFileSync(RULES_TEST_FILE, 'utf8'))),
      );
      const run = promtool(['test', 'rules', path.join(dir.path, 'alerts.test.yml')], dir.path);
      expect(run.status).not.toBe(0);
      expect(run.output).toContain('ScanQueueStuck');
    } finally {
      await dir.release();
    }
  });
});
