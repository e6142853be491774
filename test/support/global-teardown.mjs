// Stops the embedded PostgreSQL (if any), then sweeps what the run left: processes, databases, its folder.
import { endRun } from './test-run.mjs';

export default async function globalTeardown() {
  await globalThis.__SCANQUEUE_EMBEDDED_PG__?.stop();
  await endRun(globalThis.__SCANQUEUE_TEST_RUN__);
}
