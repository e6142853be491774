import { hashSecretKey } from '../src/auth/secret-keys';
import { Permission } from '../src/auth/permission';
import { TestServer } from './support/test-server';

let t: TestServer;

beforeAll(async () => {
  t = await TestServer.start({ MAX_FIELD_BYTES: '4096' });
});
afterAll(() => t.stop());

async function newKey(
  permissions: Permission[],
  restricted = false,
): Promise<{ id: number; apiKey: string }> {
  const res = await t.postJson<{ id: number; apiKey: string }>(
    '/threadfix/rest/api-keys',
    t.adminKey,
    {
      name: `key-${permissions.join('-')}-${restricted}`,
      permissions,
      restricted,
    },
  );
  expect(res.status).toBe(200);
  return res.body.object;
}

describe('health and docs', () => {
  it('health says the database is up, without a key', async () => {
    const res = await fetch(`${t.baseUrl}/threadfix/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', database: 'up' });
  });

  it('serves Swagger UI and an OpenAPI document listing every route with the APIKEY scheme', async () => {
    const page = await fetch(`${t.baseUrl}/threadfix/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui');
    const doc = (await (await fetch(`${t.baseUrl}/threadfix/docs-json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(doc.components.securitySchemes.APIKEY).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
    });
    const paths = Object.keys(doc.paths);
    expect(paths).toEqual(
      expect.arrayContaining(['/rest/applications', '/rest/applications/{id}', '/rest/api-keys']),
    );
    for (const [route, operations] of Object.entries<Record<string, { security?: unknown[] }>>(
      doc.paths,
    )) {
      if (route === '/health') continue;
      for (const operation of Object.values(operations))
        expect(operation.security).toEqual([{ APIKEY: [] }]);
    }
  });
});

describe('authentication and permissions', () => {
  it('refuses a request without a key with 401 and ThreadFix text', async () => {
    const res = await t.get('/threadfix/rest/applications');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      message: 'Authentication failed, check your API Key.',
      success: false,
      responseCode: -1,
      object: null,
    });
  });

  it('refuses an unknown key and a malformed Authorization header', async () => {
    const unknown = await t.get('/threadfix/rest/applications', 'not-a-real-key');
    expect(unknown.status).toBe(401);
    expect(unknown.body.message).toBe('API Key not found in database.');
    const malformed = await t.request('GET', '/threadfix/rest/applications', {
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(malformed.status).toBe(401);
    expect(malformed.body.message).toBe('Authentication failed, check your API Key.');
  });

  it('accepts the key in the header and as the legacy apiKey parameter', async () => {
    expect((await t.get('/threadfix/rest/applications', t.adminKey)).status).toBe(200);
    expect((await t.get(`/threadfix/rest/applications?apiKey=${t.adminKey}`)).status).toBe(200);
    const viaForm = await t.postForm('/threadfix/rest/applications', undefined, {
      apiKey: t.adminKey,
      name: 'form-made',
    });
    expect(viaForm.status).toBe(200);
    expect(viaForm.body.object).toMatchObject({ name: 'form-made' });
  });

  it('refuses a revoked key', async () => {
    const key = await newKey([Permission.READ_ACCESS]);
    expect((await t.get('/rest/applications', key.apiKey)).status).toBe(200);
    const revoked = await t.postForm(`/rest/api-keys/${key.id}/revoke`, t.adminKey);
    expect(revoked.body.object).toMatchObject({ id: key.id, active: false });
    const res = await t.get('/rest/applications', key.apiKey);
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('API Key not found in database.');
  });

  it('refuses a key revoked elsewhere (another instance, the CLI) within API_KEY_CACHE_SECONDS', async () => {
    const key = await newKey([Permission.READ_ACCESS]);
    expect((await t.get('/rest/applications', key.apiKey)).status).toBe(200); // now cached here
    await t.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [key.id]);
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 4000) {
      status = (await t.get('/rest/applications', key.apiKey)).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(2000 + 1000); // the default TTL, plus slack
  });

  it('refuses a key without the permission the route declares', async () => {
    const reader = await newKey([Permission.READ_ACCESS]);
    expect((await t.get('/rest/applications', reader.apiKey)).status).toBe(200);
    const res = await t.postJson('/rest/applications', reader.apiKey, { name: 'nope' });
    expect(res.status).toBe(403);
    expect(res.body.message).toContain('Manage Applications');
    const listed = await t.get<{ name: string }[]>('/rest/applications', t.adminKey);
    expect(listed.body.object.map((a) => a.name)).not.toContain('nope');
  });

  it('refuses a restricted key on a restricted operation only', async () => {
    const restricted = await newKey([Permission.CAN_MANAGE_API_KEYS, Permission.READ_ACCESS], true);
    expect((await t.get('/rest/applications', restricted.apiKey)).status).toBe(200);
    const res = await t.get('/rest/api-keys', restricted.apiKey);
    expect(res.status).toBe(403);
    expect(res.body.message).toBe('The requested URL is restricted for your API Key.');
  });

  it('stores no plaintext key, only its SHA-256', async () => {
    const key = await newKey([Permission.READ_ACCESS]);
    const rows = await t.query('SELECT * FROM api_keys');
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(key.apiKey);
    expect(dump).not.toContain(t.adminKey);
    expect(rows.map((r) => r.key_hash)).toEqual(
      expect.arrayContaining([hashSecretKey(key.apiKey), hashSecretKey(t.adminKey)]),
    );
    const listed = await t.get('/rest/api-keys', t.adminKey);
    expect(JSON.stringify(listed.body)).not.toContain(key.apiKey);
  });
});

describe('applications', () => {
  it('creates, reads, updates, lists and deactivates', async () => {
    const created = await t.postJson<{ id: number }>(
      '/threadfix/rest/latest/applications',
      t.adminKey,
      {
        name: 'Bodgeit',
        url: 'http://bodgeit.example:8080/bodgeit',
        description: 'test store',
      },
    );
    expect(created.status).toBe(200);
    const id = created.body.object.id;
    const read = await t.get(`/threadfix/rest/v2.8/applications/${id}`, t.adminKey);
    expect(read.body.object).toMatchObject({
      id,
      name: 'Bodgeit',
      url: 'http://bodgeit.example:8080/bodgeit',
      active: true,
    });
    const updated = await t.postJson(
      `/rest/2.4/applications/${id}`,
      t.adminKey,
      { url: 'https://bodgeit.example/' },
      'PATCH',
    );
    expect(updated.body.object).toMatchObject({ name: 'Bodgeit', url: 'https://bodgeit.example/' });
    const deactivated = await t.postForm(`/rest/applications/${id}/deactivate`, t.adminKey);
    expect(deactivated.body.object).toMatchObject({ id, active: false });
    const active = await t.get<{ id: number }[]>('/rest/applications', t.adminKey);
    expect(active.body.object.map((a) => a.id)).not.toContain(id);
    const all = await t.get<{ id: number }[]>(
      '/rest/applications?includeInactive=true',
      t.adminKey,
    );
    expect(all.body.object.map((a) => a.id)).toContain(id);
  });

  it('validates input with 400s in the envelope', async () => {
    const noName = await t.postJson('/rest/applications', t.adminKey, { url: 'http://x.example' });
    expect(noName.status).toBe(400);
    expect(noName.body).toMatchObject({
      success: false,
      responseCode: -1,
      object: null,
      message: "Required parameter 'name' is missing.",
    });
    const badUrl = await t.postJson('/rest/applications', t.adminKey, {
      name: 'bad-url',
      url: 'javascript:alert(1)',
    });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.message).toBe('url must be an http or https URL.');
    const badId = await t.get('/rest/applications/abc', t.adminKey);
    expect(badId.status).toBe(404);
    expect(badId.body.message).toBe('Bad rest request due to unrecognized path.');
    expect((await t.get('/rest/applications/99999999999', t.adminKey)).status).toBe(400);
    const missing = await t.get('/rest/applications/999999', t.adminKey);
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('Application with id 999999 was not found.');
  });

  it('refuses a duplicate name, whatever its case, with 409', async () => {
    expect((await t.postJson('/rest/applications', t.adminKey, { name: 'Twin' })).status).toBe(200);
    const twin = await t.postJson('/rest/applications', t.adminKey, { name: 'TWIN' });
    expect(twin.status).toBe(409);
    expect(twin.body.success).toBe(false);
  });
});

describe('the envelope on framework errors', () => {
  it('answers an unknown path with ThreadFix 404 text', async () => {
    for (const url of [
      '/threadfix/rest/latest/nothing-here',
      '/rest/tasks/nope',
      '/rest/v1.0/applications',
    ]) {
      const res = await t.get(url, t.adminKey);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        message: 'Bad rest request due to unrecognized path.',
        success: false,
        responseCode: -1,
        object: null,
      });
    }
  });

  it('answers malformed JSON with 400 and an oversized body with 413', async () => {
    const bad = await t.request('POST', '/rest/applications', {
      key: t.adminKey,
      headers: { 'content-type': 'application/json' },
      body: '{"name": ',
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ success: false, responseCode: -1, object: null });
    const big = await t.postForm('/rest/applications', t.adminKey, { name: 'x'.repeat(10_000) });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ success: false, message: 'The request body is too large.' });
  });

  it('answers a body far over the limit with 413 the client can read, not a broken connection', async () => {
    // 2 MB against a 4 KiB limit: refused unread, and drained so that a client that writes its whole
    // body before reading the answer still gets it.
    for (let i = 0; i < 3; i++) {
      const res = await t.postForm('/rest/applications', t.adminKey, {
        name: 'y'.repeat(2_000_000),
      });
      expect(res).toMatchObject({
        status: 413,
        body: { success: false, message: 'The request body is too large.' },
      });
    }
  });

  it('answers a server error with 500 in the envelope and no internals', async () => {
    await t.db.query('ALTER TABLE applications RENAME TO applications_away');
    try {
      const res = await t.get('/rest/applications', t.adminKey);
      expect(res.status).toBe(500);
      expect(res.body).toEqual({
        message: 'An unexpected error occurred; it has been logged.',
        success: false,
        responseCode: -1,
        object: null,
      });
    } finally {
      await t.db.query('ALTER TABLE applications_away RENAME TO applications');
    }
  });
});

describe('granting permissions', () => {
  it('a key that manages API keys cannot grant what it does not hold', async () => {
    const keyManager = (
      await t.postJson<{ apiKey: string }>('/threadfix/rest/api-keys', t.adminKey, {
        name: 'key-manager',
        permissions: ['CAN_MANAGE_API_KEYS', 'READ_ACCESS'],
      })
    ).body.object.apiKey;
    const escalate = await t.postJson('/threadfix/rest/api-keys', keyManager, {
      name: 'escalated',
      permissions: ['READ_ACCESS', 'CAN_MANAGE_SCAN_AGENTS'],
    });
    expect(escalate.status).toBe(403);
    expect(escalate.body.message).toBe(
      'Your API Key cannot grant permissions it does not have: CAN_MANAGE_SCAN_AGENTS.',
    );
    const [{ count }] = await t.query<{ count: number }>(
      "SELECT count(*)::int AS count FROM api_keys WHERE name = 'escalated'",
    );
    expect(count).toBe(0);
    const allowed = await t.postJson('/threadfix/rest/api-keys', keyManager, {
      name: 'reader',
      permissions: ['READ_ACCESS'],
    });
    expect(allowed.status).toBe(200);
  });
});
