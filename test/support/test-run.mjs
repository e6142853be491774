// One test run's registry of what it creates, so that the global teardown can remove it all even when
// a suite failed half-way, forgot its afterAll or lost its worker. Every resource carries the run's id:
// - processes: SCANQUEUE_TEST_RUN=<id> in their environment (set before jest forks its workers, so
//   everything started from a test inherits it; the helpers pass it on where they trim the
//   environment), and whatever still descends from jest;
// - temporary folders: TMPDIR points into the run's folder, so os.tmpdir() in the run (jest, its
//   workers, the servers, embedded PostgreSQL, browsers) is inside it;
// - databases: named scanqueue_test_<id>_… (test/support/test-server.ts).
// A run whose jest died without its teardown (kill -9) is swept by the next run's setup.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export const RUN_VARIABLE = 'SCANQUEUE_TEST_RUN';
const FOLDER_PREFIX = 'scanqueue-test-run-';
const RECORD = 'run.json';

export const databasePrefix = (runId) => `scanqueue_test_${runId}_`;

/**
 * Starts a run: its id and folder, set in the environment every later process inherits.
 * `adminUrl`: the external PostgreSQL its databases are made on (none for an embedded one, which
 * lives in the folder).
 */
export async function beginRun(adminUrl) {
  const parentTmp = tmpdir();
  await sweepAbandonedRuns(parentTmp);
  const id = randomBytes(4).toString('hex');
  const dir = path.join(parentTmp, `${FOLDER_PREFIX}${id}`);
  await mkdir(dir);
  // PostgreSQL runs as the user postgres when the tests run as root: it must reach its folder in here.
  await chmod(dir, 0o711);
  const run = { id, dir, adminUrl, previousTmpdir: process.env.TMPDIR };
  await writeFile(path.join(dir, RECORD), JSON.stringify({ id, pid: process.pid, adminUrl }), {
    mode: 0o600,
  });
  process.env[RUN_VARIABLE] = id;
  process.env.TMPDIR = dir;
  return run;
}

/**
 * Ends a run: stops its processes, drops its databases and removes its folder. Prints one line naming whatever was
 * still there, since a suite should have removed it itself.
 */
export async function endRun(run) {
  const left = await sweep(run.id, run.dir, run.adminUrl, { descendants: true });
  if (run.previousTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = run.previousTmpdir;
  if (left.length > 0) console.log(`test run ${run.id} cleaned up what was left behind: ${left.join('; ')}`);
}

async function sweep(id, dir, adminUrl, { descendants }) {
  const left = [];
  const processes = processesOfRun(id, descendants);
  if (processes.length > 0) {
    await stopProcesses(processes.map((p) => p.pid));
    left.push(`${processes.length} process(es): ${processes.map((p) => `${p.name} ${p.pid}`).join(', ')}`);
  }
  if (adminUrl) {
    const dropped = await dropDatabases(adminUrl, id).catch((error) => {
      left.push(`databases scanqueue_test_${id}_* not dropped: ${error.message}`);
      return [];
    });
    if (dropped.length > 0) left.push(`${dropped.length} database(s): ${dropped.join(', ')}`);
  }
  const entries = (await readdir(dir).catch(() => [])).filter((name) => name !== RECORD);
  if (entries.length > 0) left.push(`${entries.length} temporary item(s): ${entries.join(', ')}`);
  await rm(dir, { recursive: true, force: true });
  return left;
}

/** Runs whose jest is gone (killed before its teardown): their processes, databases and folders. */
async function sweepAbandonedRuns(parentTmp) {
  const folders = (await readdir(parentTmp).catch(() => [])).filter((name) =>
    name.startsWith(FOLDER_PREFIX),
  );
  for (const name of folders) {
    const dir = path.join(parentTmp, name);
    const record = await readFile(path.join(dir, RECORD), 'utf8').then(JSON.parse, () => undefined);
    if (!record || isRunning(record.pid)) continue;
    const left = await sweep(record.id, dir, record.adminUrl, { descendants: false });
    console.log(`removed what the interrupted test run ${record.id} left: ${left.join('; ') || 'its folder'}`);
  }
}

function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** /proc/<pid>/stat: the command name, state and parent. */
function readStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const [state, ppid] = stat.slice(close + 2).split(' ');
    return { name: stat.slice(stat.indexOf('(') + 1, close), state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/**
 * Processes of the run (Linux /proc): those whose environment carries its id, and, for the run of
 * this very process, every descendant of it. Zombies are already gone.
 */
export function processesOfRun(id, descendants = false) {
  if (!existsSync('/proc/self/environ')) return [];
  const mark = `${RUN_VARIABLE}=${id}`;
  const stats = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.state !== 'Z') stats.set(Number(entry), stat);
  }
  const found = [];
  for (const [pid, stat] of stats) {
    let ours = false;
    try {
      ours = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(mark);
    } catch {
      // gone, or another user's process we may not read
    }
    for (let parent = stat.ppid; descendants && !ours && parent > 1; ) {
      if (parent === process.pid) ours = true;
      parent = stats.get(parent)?.ppid ?? 0;
    }
    if (ours) found.push({ pid, name: stat.name });
  }
  return found;
}

const isAlive = (pid) => {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z';
};

/** SIGTERM, and SIGKILL for what still runs 3 s later. */
async function stopProcesses(pids) {
  const signal = (name) =>
    pids.filter(isAlive).forEach((pid) => {
      try {
        process.kill(pid, name);
      } catch {
        // already gone
      }
    });
  const waitFor = async (ms) => {
    for (const deadline = Date.now() + ms; Date.now() < deadline && pids.some(isAlive); )
      await new Promise((resolve) => setTimeout(resolve, 50));
  };
  signal('SIGTERM');
  await waitFor(3000);
  signal('SIGKILL');
  await waitFor(2000);
}

async function dropDatabases(adminUrl, id) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT datname FROM pg_database WHERE datname LIKE $1 || '%' ORDER BY datname",
      [databasePrefix(id).replace(/_/g, '\\_')],
    );
    for (const { datname } of rows)
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    return rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
}
