/**
 * Run by test/request-task-params.e2e-spec.ts in plain Node on the build (Jest cannot load Nest 12's
 * ES modules): plainRequestTaskParams against validateParams (the DTO's validation, as the route
 * runs it) on random forms. Prints one JSON line: how many each took, and every disagreement.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';

const dist = path.resolve(import.meta.dirname, '../../dist/src');
const load = (module) => import(pathToFileURL(path.join(dist, `${module}.js`)).href);
const { validateParams } = await load('rest/rest-params');
const { MAX_WAIT_SECONDS, plainRequestTaskParams, RequestTaskParams } =
  await load('tasks/task-params.dto');

const VALUES = [
  undefined,
  '',
  '   ',
  'zap',
  ' zap , burp ',
  'OWASP Zed Attack Proxy,Burp Suite Pro',
  'x'.repeat(200),
  'x'.repeat(201),
  'z'.repeat(2000),
  'z'.repeat(2001),
  '\u{1F600}'.repeat(150), // 300 UTF-16 units, 150 characters
  '0',
  '5',
  '05',
  ' 5',
  '-1',
  '+5',
  '1.5',
  '1e3',
  String(MAX_WAIT_SECONDS),
  String(MAX_WAIT_SECONDS + 1),
  '99999',
  5,
  true,
  null,
  ['zap', 'burp'],
  ['1'],
  { nested: 'x' },
];
const FIELDS = ['scanners', 'agentConfig', 'scanAgentSecureKey', 'waitSeconds'];

const value = fc.constantFrom(...VALUES);
/** Forms of the DTO's fields, each absent or one of VALUES; one time in ten a field it does not know. */
const formArb = fc.record(
  {
    ...Object.fromEntries(FIELDS.map((field) => [field, value])),
    other: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 9 },
      { arbitrary: value, weight: 1 },
    ),
  },
  { requiredKeys: [] },
);
const plainOf = (value) => JSON.parse(JSON.stringify(value ?? null));

try {
  const seed = Number(process.argv[2] ?? 20261130);
  const result = { accepted: 0, fellBack: 0, mismatches: [] };
  const everyday = { scanners: 'zap,burp', agentConfig: 'os.name=Linux', scanAgentSecureKey: 'k' };
  const generated = fc
    .sample(formArb, { numRuns: 3000, seed })
    .map((form) => Object.fromEntries(Object.entries(form).filter(([, v]) => v !== undefined)));
  const forms = [everyday, { ...everyday, waitSeconds: '30' }, ...generated];
  for (const form of forms) {
    const quick = plainRequestTaskParams({ ...form });
    if (quick === undefined) {
      result.fellBack++;
      continue;
    }
    result.accepted++;
    const full = await validateParams(RequestTaskParams, { ...form }).catch(
      (error) => `refused: ${error.message}`,
    );
    const same =
      full instanceof RequestTaskParams &&
      quick instanceof RequestTaskParams &&
      JSON.stringify(plainOf(full)) === JSON.stringify(plainOf(quick));
    if (!same) result.mismatches.push({ form, quick: plainOf(quick), full: plainOf(full) });
  }
  console.log(JSON.stringify(result));
} catch (error) {
  console.error(error);
  process.exit(1);
}
