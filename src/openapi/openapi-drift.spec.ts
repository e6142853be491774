import { describeDrift, serializeOpenApi } from './openapi-drift';

const DOCUMENT = {
  openapi: '3.0.0',
  paths: {
    '/rest/tasks/queueScan': { post: { summary: 'Queue a scan task' } },
    '/rest/tasks/{id}': { get: { summary: 'One task' } },
  },
  info: { title: 'scanqueue', version: '1.0' },
  components: { schemas: { QueueScanParams: { type: 'object' }, TaskJson: { type: 'object' } } },
};

const copy = () => JSON.parse(JSON.stringify(DOCUMENT)) as typeof DOCUMENT;

describe('serializeOpenApi', () => {
  it('writes two-space JSON in the document’s key order with a trailing newline', () => {
    const text = serializeOpenApi({ b: 1, a: [true] });
    expect(text).toBe('{\n  "b": 1,\n  "a": [\n    true\n  ]\n}\n');
  });
});

describe('describeDrift', () => {
  const generated = serializeOpenApi(DOCUMENT);

  it('says nothing when the committed copy is identical', () => {
    expect(describeDrift(generated, generated)).toEqual([]);
  });

  it('names operations and schemas added, removed and changed, then the first differing line', () => {
    const committed = copy();
    delete (committed.paths as Record<string, unknown>)['/rest/tasks/{id}'];
    committed.paths['/rest/tasks/queueScan'].post.summary = 'old words';
    (committed.components.schemas as Record<string, unknown>).Gone = { type: 'string' };
    const drift = describeDrift(serializeOpenApi(committed), generated);
    expect(drift.slice(0, -1).sort()).toEqual([
      '+ GET /rest/tasks/{id} (only in the code)',
      '- components.schemas.Gone (only in the committed file)',
      '~ POST /rest/tasks/queueScan (changed)',
    ]);
    expect(drift.at(-1)).toBe(
      'first difference at line 6: committed "        \\"summary\\": \\"old words\\"", code "        \\"summary\\": \\"Queue a scan task\\""',
    );
  });

  it('reports a change of key order or indentation, which the text comparison catches', () => {
    const { info, ...rest } = DOCUMENT;
    const reordered = { info, ...rest };
    expect(describeDrift(serializeOpenApi(reordered), generated)[0]).toBe(
      'same content; key order or formatting differs',
    );
    expect(describeDrift(`${JSON.stringify(DOCUMENT, null, 4)}\n`, generated)[0]).toBe(
      'same content; key order or formatting differs',
    );
  });

  it('lists at most 15 changes', () => {
    const committed = copy();
    for (let i = 0; i < 20; i++)
      (committed.components.schemas as Record<string, unknown>)[`Old${i}`] = {};
    const drift = describeDrift(serializeOpenApi(committed), generated);
    expect(drift).toHaveLength(17);
    expect(drift[15]).toBe('… and 5 more');
  });

  it('says so when the committed file is not JSON (a merge conflict left in it)', () => {
    expect(describeDrift('<<<<<<< HEAD\n', generated)).toEqual([
      'the committed file is not valid JSON',
    ]);
  });
});
