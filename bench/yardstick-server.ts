/**
 * The yardsticks: a bare Fastify server (no Nest, no auth, no validation) run as its own process
 * by bench/run.ts. POST /status does taskStatusUpdate's single statement (task-transitions.ts), as a
 * pg named statement like the server's, over a pool of 20; POST /upload pipes a multipart file part to disk; POST
 * /upload-durable also hashes it (SHA-256) and fsyncs the file, as any upload that keeps a file must;
 * POST /empty-poll answers a constant JSON (what requestTask answers when nothing is queued);
 * POST /long-poll answers the same after the form's waitSeconds (at most LONG_POLL_MAX_SECONDS, 30
 * by default), a timer per poll, and GET /metrics counts those waiting as scanqueue's /metrics
 * does (row 7b's floor). Row 1's floors answer requestTask's form at POST
 * /claim/tasks/requestTask (scanqueue's own claim statement) and POST
 * /claim-minimal/tasks/requestTask (the minimal claim + history), each a pg named statement over
 * a pool of scanqueue's default size: what an HTTP claim costs with no Nest, keys or edge.
 * Env: PORT, DATABASE_URL, UPLOAD_DIR, BENCH_API_KEY_ID, LONG_POLL_MAX_SECONDS.
 */
import fastifyMultipart from '@fastify/multipart';
import Fastify from 'fastify';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import * as path from 'node:path';
import { parse } from 'node:querystring';
import { pipeline } from 'node:stream/promises';
import { DataSource, EntityManager } from 'typeorm';
import { generateSecretKey, hashSecretKey } from '../src/auth/secret-keys';
import { EVERY_TEAM } from '../src/auth/team-scope';
import { defaultPoolSize } from '../src/config/database-config';
import { preparePoolConnection } from '../src/database/data-source-options';
import { resolveScanner } from '../src/scans/scanner-types';
import { queryPrepared } from '../src/sql/prepared-statements';
import { TaskTransitionsRepository } from '../src/tasks/task-transitions.repository';
import { CLAIM_MESSAGE, MINIMAL_CLAIM, ZAP } from './support';

const NO_TASK_FOUND = { message: 'No task found.', success: false, responseCode: -1, object: null };
const FOUND = { message: '', success: true, responseCode: -1 };

/** The statements themselves: the repository holds no state. */
const transitions = new TaskTransitionsRepository();

async function main(): Promise<void> {
  // A TypeORM DataSource: the repository's hot statements run as pg named statements
  // (src/sql/prepared-statements.ts), each connection prepared as the server's.
  const dataSource = new DataSource({
    type: 'postgres',
    url: process.env.DATABASE_URL,
    poolSize: 20,
    extra: { onConnect: preparePoolConnection },
  });
  await dataSource.initialize();
  const db: EntityManager = dataSource.manager;
  // Row 1's claims run over a pool of the size scanqueue's own defaults to on this machine.
  const claimsSource = new DataSource({
    type: 'postgres',
    url: process.env.DATABASE_URL,
    poolSize: defaultPoolSize(),
    extra: { onConnect: preparePoolConnection },
  });
  await claimsSource.initialize();
  const claimsDb: EntityManager = claimsSource.manager;
  const uploadDir = process.env.UPLOAD_DIR as string;

  const app = Fastify({ bodyLimit: 1024 * 1024, keepAliveTimeout: 65_000 });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_req, body, done) => done(null, parse(body as string)),
  );
  await app.register(fastifyMultipart, { limits: { fileSize: 2 ** 40, files: 1 } });

  app.get('/health', async () => ({ status: 'ok' }));

  // Row 6's yardstick: the form parsed, a constant answer (requestTask's "No task found.").
  app.post('/empty-poll', async () => NO_TASK_FOUND);

  // Row 7b's yardstick: the same fleet's long polls held by a timer each (no database, no keys),
  // then the constant answer; what any Fastify server holding these polls costs.
  let waiting = 0;
  const longPollMaxSeconds = Number(process.env.LONG_POLL_MAX_SECONDS ?? 30);
  app.post('/long-poll', async (request, reply) => {
    const asked = Number((request.body as Record<string, string>).waitSeconds) || 0;
    const seconds = Math.min(asked, longPollMaxSeconds);
    waiting++;
    // Unref'd: a poll still held must not keep the process alive after SIGTERM closed the server.
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000).unref());
    waiting--;
    void reply.header('x-scanqueue-poll-interval', '0');
    return NO_TASK_FOUND;
  });
  app.get('/metrics', async () => `scanqueue_poll_waiters ${waiting}\n`);

  // Row 1's floors: requestTask's form (the agent's key, its scanners) claimed behind bare Fastify.
  // /claim runs scanqueue's own claim statement (the agent key checked in it, a task key made and
  // hashed); /claim-minimal the minimal claim + history of row 1's yardstick, the agent's id
  // remembered per key. Both answer the envelope with the task, or "No task found.".
  const apiKeyId = Number(process.env.BENCH_API_KEY_ID);
  app.post('/claim/tasks/requestTask', async (request) => {
    const form = request.body as Record<string, string>;
    const scanners = form.scanners
      .split(',')
      .map((name) => resolveScanner(name))
      .filter((scanner) => scanner !== undefined);
    const secureTaskKey = generateSecretKey();
    const claim = await transitions.claimNextTask(claimsDb, {
      apiKeyId,
      scope: EVERY_TEAM,
      scanners,
      agentKeyHash: hashSecretKey(form.scanAgentSecureKey),
      secureKeyHash: hashSecretKey(secureTaskKey),
      agentInfo: form.agentConfig ?? null,
      message: `Assigning task to an agent with agentConfig:\n${form.agentConfig ?? ''}`,
    });
    if (!claim.task) return NO_TASK_FOUND;
    const { id, scanner, target_url } = claim.task;
    const targetUrl = target_url || claim.applicationUrl;
    return { ...FOUND, object: { taskId: id, taskType: scanner, targetUrl, secureTaskKey } };
  });
  const agentIds = new Map<string, number>();
  app.post('/claim-minimal/tasks/requestTask', async (request) => {
    const key = (request.body as Record<string, string>).scanAgentSecureKey;
    let agentId = agentIds.get(key);
    if (agentId === undefined) {
      const [agent]: { id: number }[] = await claimsDb.query(
        'SELECT id FROM scan_agents WHERE key_hash = $1',
        [hashSecretKey(key)],
      );
      agentId = agent.id;
      agentIds.set(key, agentId);
    }
    const rows: { task_id: number }[] = await queryPrepared(
      claimsDb,
      MINIMAL_CLAIM.name,
      MINIMAL_CLAIM.text,
      [agentId, ZAP, CLAIM_MESSAGE],
    );
    return rows.length === 0 ? NO_TASK_FOUND : { ...FOUND, object: { taskId: rows[0].task_id } };
  });

  app.post('/status', async (request, reply) => {
    const form = request.body as Record<string, string>;
    const { added } = await transitions.appendAgentStatusMessage(db, {
      taskId: Number(form.scanQueueTaskId),
      message: form.message,
      agentKeyHash: hashSecretKey(form.scanAgentSecureKey),
      taskKeyHash: hashSecretKey(form.secureTaskKey),
      apiKeyId: Number(process.env.BENCH_API_KEY_ID),
      scope: EVERY_TEAM,
      maxMessages: 2147483647,
    });
    return reply.code(added ? 200 : 409).send({ success: added });
  });

  app.post('/upload', async (request) => {
    const file = await request.file();
    if (!file) throw new Error('no file part');
    const target = path.join(uploadDir, randomBytes(8).toString('hex'));
    await pipeline(file.file, createWriteStream(target));
    return { success: true, fields: Object.keys(file.fields).length };
  });

  app.post('/upload-durable', async (request) => {
    const file = await request.file();
    if (!file) throw new Error('no file part');
    const target = path.join(uploadDir, randomBytes(8).toString('hex'));
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    await pipeline(file.file, hashing, createWriteStream(target));
    // fsync reaches the file's data through any descriptor of it.
    const handle = await open(target, 'r+');
    await handle.sync();
    await handle.close();
    return { success: true, sha256: hash.digest('hex') };
  });

  // scanqueue's listen backlog (src/main.ts): row 7's agents connect thousands at a time.
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1', backlog: 4096 });
  process.once(
    'SIGTERM',
    () => void app.close().then(() => Promise.all([dataSource.destroy(), claimsSource.destroy()])),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
