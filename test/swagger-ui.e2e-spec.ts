/**
 * Swagger UI in a real browser: the Chromium that the npm package @sparticuz/chromium ships (or
 * CHROMIUM_PATH; test/support/chromium.ts), driven by playwright-core against the real server. An
 * admin opens /threadfix/docs, authorizes with an API key, runs queueScan from the page and reads
 * the answer there; the task must then really be in the queue.
 * Also: the committed docs/openapi.json is exactly the document the running server serves.
 * A failing browser test leaves a screenshot in test-results/.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Browser, Page } from 'playwright-core';
import { givenApplication, TASKS } from './support/agent-flow';
import { launchChromium } from './support/chromium';
import { TestServer } from './support/test-server';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(ROOT, 'test-results');
/** Swagger UI renders the spec after its scripts load; generous for a busy 2-core CI machine. */
const UI_TIMEOUT = 20_000;

let t: TestServer;

beforeAll(async () => {
  t = await TestServer.start();
});
afterAll(() => t?.stop());

/** An admin's own key (not the bootstrap one), created the way an admin creates keys. */
async function givenAdminKey(name: string): Promise<string> {
  const res = await t.postJson<{ apiKey: string }>('/threadfix/rest/api-keys', t.adminKey, {
    name: `${name}-${Date.now()}`,
    permissions: ['CAN_MANAGE_SCAN_AGENTS', 'CAN_MANAGE_APPLICATIONS', 'READ_ACCESS'],
  });
  if (res.status !== 200) throw new Error(`givenAdminKey: ${res.status} ${res.body.message}`);
  return res.body.object.apiKey;
}

describe('the OpenAPI document', () => {
  it('docs/openapi.json is exactly what the running server serves at /threadfix/docs-json', async () => {
    const response = await fetch(`${t.baseUrl}/threadfix/docs-json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const served = (await response.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(served.paths)).toContain('/rest/tasks/queueScan');
    const committed = await readFile(path.join(ROOT, 'docs/openapi.json'), 'utf8');
    // Text, not deep equality: key order and formatting are part of what the drift check compares.
    expect(committed).toBe(`${JSON.stringify(served, null, 2)}\n`);
  });
});

describe('security headers', () => {
  it('Swagger UI and its files are served with a CSP, no framing, no referrer and nosniff', async () => {
    for (const route of [
      '/threadfix/docs',
      '/threadfix/docs/swagger-ui-init.js',
      '/threadfix/docs/swagger-ui-bundle.js',
      '/threadfix/docs/swagger-ui.css',
      '/threadfix/docs-json',
    ]) {
      const response = await fetch(`${t.baseUrl}${route}`);
      await response.arrayBuffer();
      expect({ route, status: response.status }).toEqual({ route, status: 200 });
      expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('every other response is nosniff too (API answers, refusals, 404s, health)', async () => {
    for (const [route, status] of [
      [`${TASKS}/scanners`, 401],
      ['/threadfix/rest/nowhere', 404],
      ['/threadfix/health', 200],
    ] as const) {
      const response = await fetch(`${t.baseUrl}${route}`);
      await response.arrayBuffer();
      expect({
        route,
        status: response.status,
        nosniff: response.headers.get('x-content-type-options'),
      }).toEqual({
        route,
        status,
        nosniff: 'nosniff',
      });
    }
  });
});

describe('npm run openapi', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'scanqueue-openapi-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** The exporter from the build, with no database reachable: preview mode must not need one. */
  async function openapiCli(...args: string[]): Promise<{ code: number; stderr: string }> {
    const { PATH, HOME } = process.env;
    try {
      const { stderr } = await promisify(execFile)(
        process.execPath,
        [path.join(ROOT, 'dist/src/cli/openapi.js'), ...args],
        { cwd: ROOT, env: { PATH, HOME, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } },
      );
      return { code: 0, stderr };
    } catch (error) {
      const failed = error as { code?: number; stderr?: string };
      return { code: failed.code ?? -1, stderr: failed.stderr ?? String(error) };
    }
  }

  it('exports, without a database, the same text as the committed file; --check passes on it', async () => {
    const exported = path.join(dir, 'exported.json');
    const written = await openapiCli('--file', exported);
    expect(written).toMatchObject({ code: 0 });
    expect(await readFile(exported, 'utf8')).toBe(
      await readFile(path.join(ROOT, 'docs/openapi.json'), 'utf8'),
    );
    const check = await openapiCli('--check');
    expect(check.code).toBe(0);
    expect(check.stderr).toMatch(/docs\/openapi\.json matches the code \(\d+ operations\)/);
  });

  it('--check exits 1 and names the drift when the committed copy is out of date', async () => {
    const stale = JSON.parse(await readFile(path.join(ROOT, 'docs/openapi.json'), 'utf8')) as {
      paths: Record<string, unknown>;
    };
    delete stale.paths['/rest/tasks/queueScan'];
    const file = path.join(dir, 'stale.json');
    await writeFile(file, `${JSON.stringify(stale, null, 2)}\n`);
    const check = await openapiCli('--check', '--file', file);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('is out of date with the code. Run `npm run openapi`');
    expect(check.stderr).toContain('+ POST /rest/tasks/queueScan (only in the code)');
  });
});

describe('Swagger UI in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  /**
   * A fresh browser profile per test (no authorization persisted from another); screenshot on
   * failure. The page must run under the docs' Content-Security-Policy without a violation.
   */
  async function withPage(name: string, body: (page: Page) => Promise<void>): Promise<void> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await page.exposeFunction('reportCspViolation', (text: string) => violations.push(text));
    // Runs in the page (this file is not compiled with the DOM's types: the script is text).
    await page.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (event) =>
        window.reportCspViolation(event.violatedDirective + ' ' + event.blockedURI));`,
    });
    try {
      await body(page);
      expect(violations).toEqual([]);
    } catch (error) {
      await mkdir(RESULTS, { recursive: true });
      const file = path.join(RESULTS, `swagger-ui-${name}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
      throw new Error(`${(error as Error).message}\n(screenshot: ${file})`, { cause: error });
    } finally {
      await context.close();
    }
  }

  async function openDocs(page: Page): Promise<void> {
    await page.goto(`${t.baseUrl}/threadfix/docs`);
    await page.locator('.swagger-ui .info .title').getByText('scanqueue').waitFor();
  }

  async function authorize(page: Page, value: string): Promise<void> {
    await page.locator('.scheme-container button.authorize').click();
    const dialog = page.locator('.modal-ux');
    const scheme = dialog.locator('.auth-container', {
      has: page.locator('h4 code', { hasText: /^APIKEY$/ }),
    });
    await scheme.locator('input[type=text]').fill(value);
    await scheme.getByRole('button', { name: 'Apply credentials' }).click();
    // Authorized: the scheme now offers Logout instead of Authorize.
    await scheme.getByRole('button', { name: 'Remove authorization' }).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
  }

  /** Expands queueScan, "Try it out", fills the form (clearing the optional fields), Execute. */
  async function executeQueueScan(
    page: Page,
    fields: Record<string, string>,
  ): Promise<{ code: string; body: string }> {
    const operation = page.locator('.opblock', {
      has: page.locator('.opblock-summary-path[data-path="/rest/tasks/queueScan"]'),
    });
    await operation.locator('.opblock-summary').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    const body = operation.locator('.opblock-section-request-body');
    expect(await body.locator('select.content-type').inputValue()).toBe(
      'application/x-www-form-urlencoded',
    );
    const names = await body
      .locator('tr[data-property-name]')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-property-name') ?? ''));
    expect(names).toEqual(expect.arrayContaining(Object.keys(fields)));
    for (const name of names) {
      // Swagger UI pre-fills every field with a sample ("string", 0); an empty field is not sent.
      // A boolean is a select whose empty choice ("--") is not sent either.
      const row = body.locator(`tr[data-property-name="${name}"]`);
      const select = row.locator('select');
      if ((await select.count()) > 0) await select.selectOption(fields[name] ?? '');
      else await row.locator('input[type=text]').fill(fields[name] ?? '');
    }
    await operation.getByRole('button', { name: 'Execute' }).click();
    const live = operation.locator('.live-responses-table .response');
    await live.waitFor();
    return {
      code: (await live.locator('.response-col_status').innerText()).trim(),
      body: await live.locator('.response-col_description pre.microlight').first().innerText(),
    };
  }

  it('an admin authorizes with the key alone, queues a scan from the page and sees the task', async () => {
    const adminKey = await givenAdminKey('swagger-admin');
    const applicationId = await givenApplication(t, 'http://swagger.example/app');
    await withPage('queue-scan', async (page) => {
      await openDocs(page);
      await authorize(page, adminKey);
      const { code, body } = await executeQueueScan(page, {
        applicationId: String(applicationId),
        scannerType: 'zap',
      });
      expect(code).toBe('200');
      const envelope = JSON.parse(body) as {
        success: boolean;
        responseCode: number;
        object: { id: number; scanner: string; statusString: string; targetUrl: string };
      };
      expect(envelope).toMatchObject({
        message: '',
        success: true,
        responseCode: -1,
        object: {
          scanner: 'OWASP Zed Attack Proxy',
          statusString: 'QUEUED',
          targetUrl: 'http://swagger.example/app',
        },
      });

      // Really queued: the admin API and the table agree with what the page showed.
      const taskId = envelope.object.id;
      const viaApi = await t.get<{ applicationId: number; status: number }>(
        `${TASKS}/${taskId}`,
        t.adminKey,
      );
      expect(viaApi.status).toBe(200);
      expect(viaApi.body.object).toMatchObject({ applicationId, status: 1 });
      const rows = await t.query<{ application_id: number; status: number }>(
        'SELECT application_id, status FROM scan_queue_tasks WHERE id = $1',
        [taskId],
      );
      expect(rows).toEqual([{ application_id: applicationId, status: 1 }]);
    });
  });

  it('the whole "APIKEY <key>" typed into the dialog works as well', async () => {
    const adminKey = await givenAdminKey('swagger-admin-prefixed');
    const applicationId = await givenApplication(t);
    await withPage('queue-scan-prefixed', async (page) => {
      await openDocs(page);
      await authorize(page, `APIKEY ${adminKey}`);
      const { code, body } = await executeQueueScan(page, {
        applicationId: String(applicationId),
        scannerType: 'burp',
      });
      expect(code).toBe('200');
      expect(JSON.parse(body)).toMatchObject({
        success: true,
        object: { scanner: 'Burp Suite Pro' },
      });
    });
  });

  it('forgets the key on reload by default (no key kept in localStorage)', async () => {
    const adminKey = await givenAdminKey('swagger-admin-reload');
    await withPage('no-persisted-key', async (page) => {
      await openDocs(page);
      await authorize(page, adminKey);
      const stored = await page.evaluate<string>('JSON.stringify({ ...localStorage })');
      expect(stored).not.toContain(adminKey);
      await page.reload();
      await page.locator('.swagger-ui .info .title').getByText('scanqueue').waitFor();
      // Not authorized any more: the button offers to authorize, and nothing holds the key.
      await expect(
        page.locator('.scheme-container button.authorize.unlocked').count(),
      ).resolves.toBe(1);
      expect(await page.evaluate<string>('JSON.stringify({ ...localStorage })')).not.toContain(
        adminKey,
      );
    });
  });

  it('Execute without authorizing shows the 401 envelope and queues nothing', async () => {
    const applicationId = await givenApplication(t);
    await withPage('unauthorized', async (page) => {
      await openDocs(page);
      const { code, body } = await executeQueueScan(page, {
        applicationId: String(applicationId),
        scannerType: 'zap',
      });
      expect(code).toBe('401');
      expect(JSON.parse(body)).toEqual({
        message: 'Authentication failed, check your API Key.',
        success: false,
        responseCode: -1,
        object: null,
      });
    });
    const rows = await t.query('SELECT id FROM scan_queue_tasks WHERE application_id = $1', [
      applicationId,
    ]);
    expect(rows).toEqual([]);
  });
});
