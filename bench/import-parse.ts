/**
 * ZAP report parse throughput and memory: generates a ~SIZE_MB (default 200) ZAP report on the fly by
 * repeating the alert items of the dvwa fixture with distinct URIs, streams it through the ZAP parser
 * with an async sink, and prints MB/s and peak RSS / heap growth. The report is never held whole, so
 * what the numbers show is the parser's own footprint.
 * Run: npx ts-node --transpile-only bench/import-parse.ts [SIZE_MB]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseScanReport } from '../src/scans/formats';

const sizeMb = Number(process.argv[2] ?? 200);
const FIXTURE = join(__dirname, '..', 'test', 'fixtures', 'scans', 'zap', 'dvwa_baseline_dojo.xml');
const CHUNK_BYTES = 1024 * 1024;

/** The fixture's `<alertitem>`s as one template, each `<uri>` marked for a per-round prefix. */
function alertTemplate(): { head: string; alerts: string; tail: string } {
  const xml = readFileSync(FIXTURE, 'utf8');
  const start = xml.indexOf('<alertitem>');
  const end = xml.lastIndexOf('</alertitem>') + '</alertitem>'.length;
  return {
    head: xml.slice(0, start),
    alerts: xml
      .slice(start, end)
      .replace(/<uri>http:\/\/172\.17\.0\.2\//g, '<uri>http://172.17.0.2/@@/'),
    tail: xml.slice(end),
  };
}

/** Yields the report in ~1 MB chunks: round n puts every URI under `/rn/`, so no two repeat. */
async function* generateReport(targetBytes: number): AsyncGenerator<Buffer> {
  const { head, alerts, tail } = alertTemplate();
  const parts = alerts.split('@@');
  let produced = 0;
  let pending = head;
  for (let round = 0; produced < targetBytes; round++) {
    pending += parts.join(`r${round}`);
    if (pending.length >= CHUNK_BYTES) {
      const buf = Buffer.from(pending, 'utf8');
      produced += buf.length;
      pending = '';
      yield buf;
    }
  }
  yield Buffer.from(pending + tail, 'utf8');
}

async function main(): Promise<void> {
  global.gc?.();
  const baseRss = process.memoryUsage.rss();
  const baseHeap = process.memoryUsage().heapUsed;
  let peakRss = baseRss;
  let peakHeap = baseHeap;
  const sample = (): void => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };

  let seen = 0;
  const started = process.hrtime.bigint();
  const summary = await parseScanReport(
    'zap',
    Readable.from(generateReport(sizeMb * 1024 * 1024)),
    async () => {
      // An async sink, as the import pipeline's is: each finding is awaited before reading on.
      if (++seen % 5000 === 0) {
        sample();
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  sample();

  const mb = summary.bytes / (1024 * 1024);
  const out = {
    reportMb: Number(mb.toFixed(1)),
    findings: summary.findings,
    seconds: Number(seconds.toFixed(2)),
    mbPerSecond: Number((mb / seconds).toFixed(1)),
    findingsPerSecond: Math.round(summary.findings / seconds),
    peakRssGrowthMb: Number(((peakRss - baseRss) / (1024 * 1024)).toFixed(1)),
    peakHeapGrowthMb: Number(((peakHeap - baseHeap) / (1024 * 1024)).toFixed(1)),
  };
  console.log(JSON.stringify(out, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
