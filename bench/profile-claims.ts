/**
 * Where a claim's time goes (evidence for docs/performance.md): runs the row-1 claim load against
 * a scanqueue started with `--cpu-prof`, behind a proxy that counts the statements it sends to
 * PostgreSQL, and prints statements per claim and the server's CPU profile by package (the
 * profile covers the whole process, start-up included).
 * Run: npm run build && npx ts-node --transpile-only bench/profile-claims.ts [claims]
 * `… profile-claims.ts status [seconds]` does the same for row 3's taskStatusUpdate load instead.
 */
import { fork } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fixture, resetQueue, statusBodies } from './fixture';
import type { ClaimResult, Job } from './loadgen';
import { freePort, startDatabase, startScanqueue, stopChild } from './support';

const STATUS = process.argv[2] === 'status';
const CLAIMS = STATUS ? 0 : Number(process.argv[2] ?? 3000);
const STATUS_SECONDS = Number(process.argv[3] ?? 10);

/**
 * A TCP proxy that tallies frontend messages by type. After the untyped startup packet, each
 * message is a type byte and a length; a statement is a simple Query ('Q') or an Execute ('E').
 */
async function countingProxy(target: URL) {
  const counts = new Map<string, number>();
  const server = createServer((client) => {
    const upstream = createConnection(Number(target.port || 5432), target.hostname);
    let buffered = Buffer.alloc(0);
    let started = false;
    client.on('data', (data: Buffer) => {
      upstream.write(data);
      buffered = Buffer.concat([buffered, data]);
      for (;;) {
        if (!started) {
          if (buffered.length < 8) break;
          const length = buffered.readUInt32BE(0);
          if (buffered.length < length) break;
          const code = buffered.readUInt32BE(4);
          buffered = buffered.subarray(length);
          started = code !== 80877103; // an SSLRequest is followed by the real startup packet
          continue;
        }
        if (buffered.length < 5) break;
        const length = buffered.readUInt32BE(1) + 1;
        if (buffered.length < length) break;
        const type = String.fromCharCode(buffered[0]);
        counts.set(type, (counts.get(type) ?? 0) + 1);
        buffered = buffered.subarray(length);
      }
    });
    upstream.on('data', (data) => client.write(data));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const statements = () => (counts.get('Q') ?? 0) + (counts.get('E') ?? 0);
  return { url: url.toString(), statements, close: () => server.close() };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

/** Self time by package (or by app folder), from a V8 .cpuprofile. */
function summarize(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }) {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const buckets = new Map<string, number>();
  const functions = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const { functionName, url } = (byNode.get(id) as ProfileNode).callFrame;
    const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    const bucket = pkg
      ? pkg
      : url.includes('/dist/src/')
        ? `scanqueue ${url.split('/dist/src/')[1].split('/')[0]}`
        : url.startsWith('node:')
          ? 'node internals'
          : functionName || '(anonymous)';
    const ms = profile.timeDeltas[i] / 1000;
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + ms);
    const fn = `${functionName || '(anonymous)'} ${pkg ?? url.split('/').slice(-2).join('/')}`;
    functions.set(fn, (functions.get(fn) ?? 0) + ms);
  });
  const total = [...buckets.values()].reduce((a, b) => a + b, 0);
  const busy = total - (buckets.get('(idle)') ?? 0);
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .filter(([k]) => !k.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, ms]) => `${((ms / busy) * 100).toFixed(1).padStart(5)} %  ${k}`);
  return {
    busyMs: Math.round(busy),
    idleMs: Math.round(total - busy),
    top: top(buckets, 15),
    functions: top(functions, 15),
  };
}

async function main(): Promise<void> {
  const database = await startDatabase();
  const profileDir = await mkdtemp(path.join(tmpdir(), 'scanqueue-profile-'));
  const loadgen = fork(path.join(__dirname, 'loadgen.ts'), [], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    stdio: 'inherit',
  });
  try {
    const url = await database.create('profile');
    const proxy = await countingProxy(new URL(url));
    const sq = await startScanqueue(proxy.url, {}, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
    const f = await fixture(sq, url, 64);
    await resetQueue(f, CLAIMS + 1000);
    const bodies = STATUS ? await statusBodies(sq.base, sq.key, f.agentKeys, 'profile') : [];
    const before = proxy.statements();
    const job: Job = STATUS
      ? {
          kind: 'autocannon',
          url: `${sq.base}/tasks/taskStatusUpdate`,
          headers: { authorization: `APIKEY ${sq.key}` },
          bodies,
          connections: 64,
          seconds: STATUS_SECONDS,
        }
      : {
          kind: 'claim-http',
          base: sq.base,
          apiKey: sq.key,
          agentKeys: f.agentKeys,
          claims: CLAIMS,
          seconds: 120,
        };
    const result = await new Promise<ClaimResult>((resolve, reject) => {
      loadgen.once(
        'message',
        (m: { result?: ClaimResult & { requests?: number }; error?: string }) =>
          m.error
            ? reject(new Error(m.error))
            : resolve({
                ...(m.result as ClaimResult),
                claims: m.result?.claims ?? m.result?.requests ?? 0,
              }),
      );
      loadgen.send(job);
    });
    const statements = proxy.statements() - before;
    await f.db.end();
    await sq.stop();
    proxy.close();
    const [file] = (await readdir(profileDir)).filter((n) => n.endsWith('.cpuprofile'));
    const profile = summarize(JSON.parse(await readFile(path.join(profileDir, file), 'utf8')));
    console.log(
      JSON.stringify(
        {
          claims: result.claims,
          claimsPerSecond: +result.perSecond.toFixed(1),
          p50Ms: +result.p50Ms.toFixed(1),
          p99Ms: +result.p99Ms.toFixed(1),
          statementsPerClaim: +(statements / result.claims).toFixed(2),
          serverCpuPerClaimMs: +(profile.busyMs / result.claims).toFixed(2),
          ...profile,
        },
        null,
        2,
      ),
    );
  } finally {
    await stopChild(loadgen);
    await rm(profileDir, { recursive: true, force: true });
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
