/**
 * Scan report parsing throughput and memory: generates a ZAP report of SIZE_MB (default 200) on the
 * fly (alert items with distinct URIs and a few kB of traffic each, never the whole text at once),
 * parses it with parseScanReport into a sink that only counts, and prints MB/s and the peak growth
 * of this process's RSS and heap. Run: npx ts-node --transpile-only bench/import-parse.ts [200]
 */
import { Readable } from 'node:stream';
import { parseScanReport } from '../src/imports/parsers';

const sizeMb = Number(process.argv[2] ?? 200);
const ALERTS_PER_CHUNK = 16;

function alertItem(i: number): string {
  // Like ZAP 2.16 with request/response included: most of the bytes are traffic nobody keeps.
  return (
    `<alertitem><pluginid>${10000 + (i % 97)}</pluginid><alertRef>${10000 + (i % 97)}</alertRef>` +
    `<alert>Alert ${i % 97}</alert><name>Alert ${i % 97}</name><riskcode>${i % 4}</riskcode>` +
    `<confidence>2</confidence><riskdesc>Medium (Medium)</riskdesc>` +
    `<desc>&lt;p&gt;Generated alert number ${i} for the parse benchmark.&lt;/p&gt;</desc><instances>` +
    `<instance><uri>https://bench.example/app/section${i % 100}/page${i}?id=${i}&amp;x=y</uri>` +
    `<method>GET</method><param>id</param><attack></attack><evidence>evidence ${i}</evidence>` +
    `<requestheader>GET /app/page${i} HTTP/1.1\nHost: bench.example\n${'X-Pad: abcdefghij\n'.repeat(40)}</requestheader>` +
    `<responsebody><![CDATA[<html>${'<p>lorem ipsum dolor sit amet</p>\n'.repeat(60)}</html>]]></responsebody>` +
    `</instance></instances><count>1</count><solution>&lt;p&gt;Fix it.&lt;/p&gt;</solution>` +
    `<cweid>${i % 900}</cweid><wascid>13</wascid><sourceid>3</sourceid></alertitem>\n`
  );
}

async function* report(targetBytes: number): AsyncGenerator<Buffer> {
  let made = 0;
  const head = Buffer.from(
    '<?xml version="1.0"?><OWASPZAPReport version="2.16.1"><site name="https://bench.example"><alerts>',
  );
  made += head.length;
  yield head;
  for (let i = 0; made < targetBytes;) {
    let text = '';
    for (let j = 0; j < ALERTS_PER_CHUNK; j++) text += alertItem(i++);
    const chunk = Buffer.from(text);
    made += chunk.length;
    yield chunk;
  }
  yield Buffer.from('</alerts></site></OWASPZAPReport>');
}

async function main(): Promise<void> {
  // The generator's own cost, to tell it apart from the parser's (MBps includes both).
  const genStart = process.hrtime.bigint();
  for await (const chunk of report(sizeMb * 1e6)) void chunk;
  const generateSeconds = Number(process.hrtime.bigint() - genStart) / 1e9;
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  let peakRss = rssBefore;
  let peakHeap = heapBefore;
  // Sampled from the sink: the parse runs on microtasks only, so a timer would never fire.
  const sample = (): void => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const started = process.hrtime.bigint();
  let severities = 0;
  let seen = 0;
  const summary = await parseScanReport('zap', Readable.from(report(sizeMb * 1e6)), (f) => {
    if (f.severity === 'high') severities++;
    if (++seen % 256 === 0) sample();
  });
  sample();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const mb = summary.bytes / 1e6;
  console.log(
    JSON.stringify(
      {
        reportMB: Number(mb.toFixed(1)),
        findings: summary.findings,
        highFindings: severities,
        seconds: Number(seconds.toFixed(2)),
        MBps: Number((mb / seconds).toFixed(1)),
        generatorOnlyMBps: Number((mb / generateSeconds).toFixed(1)),
        findingsPerSecond: Math.round(summary.findings / seconds),
        peakRssGrowthMB: Number(((peakRss - rssBefore) / 1048576).toFixed(1)),
        peakHeapGrowthMB: Number(((peakHeap - heapBefore) / 1048576).toFixed(1)),
      },
      null,
      2,
    ),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
