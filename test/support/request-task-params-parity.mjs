/**
 * Run by test/request-task-params.e2e-spec.ts in plain Node on the build (Jest cannot load Nest 12's
 * ES modules): plainRequestTaskParams against validateParams (the DTO's validation, as the route
 * runs it) on random forms. Prints one JSON line: how many each took, and every disagreement.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = path.resolve(import.meta.dirname, '../../dist/src');
const load = (module) => import(pathToFileURL(path.join(dist, `${module}.js`)).href);
const { validateParams } = await load('rest/rest-params');
const { MAX_WAIT_SECONDS, plainRequestTaskParams, RequestTaskParams } =
  await load('tasks/task-params.dto');

/** mulberry32: the same forms on every run. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
const FIELDS = ['scanners', 'agentConfig', 'scanAgentSecureKey', 'waitSeconds', 'other'];
const plainOf = (value) => JSON.parse(JSON.stringify(value ?? null));

try {
  const next = random(Number(process.argv[2] ?? 20261130));
  const pick = (items) => items[Math.floor(next() * items.length)];
  const result = { accepted: 0, fellBack: 0, mismatches: [] };
  const everyday = { scanners: 'zap,burp', agentConfig: 'os.name=Linux', scanAgentSecureKey: 'k' };
  const forms = [everyday, { ...everyday, waitSeconds: '30' }];
  for (let i = 0; i < 3000; i++) {
    const form = {};
    for (const field of FIELDS) {
      const value = pick(VALUES);
      // Mostly the DTO's fields; now and then one it does not know.
      if (value !== undefined && (field !== 'other' || next() < 0.1)) form[field] = value;
    }
    forms.push(form);
  }
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
