/**
 * The yardsticks: a bare Fastify server (no Nest, no auth, no validation) run as its own process
 * by bench/run.ts. POST /status does taskStatusUpdate's single statement (task-transitions.ts), as a
 * pg named statement like the server's, over a pool of 20; POST /upload pipes a multipart file part to disk; POST
 * /upload-durable also hashes it (SHA-256) and fsyncs the file, as any upload that keeps a file must;
 * POST /empty-poll answers a constant JSON (what requestTask answers when nothing is queued);
 * POST /long-poll answers the same after the form's waitSeconds (at most 30), a timer per poll, and
 * GET /metrics counts those waiting as scanqueue's /metrics does (row 7b's floor).
 * Env: PORT, DATABASE_URL, UPLOAD_DIR.
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
import { hashSecretKey } from '../src/auth/secret-keys';
import { EVERY_TEAM } from '../src/auth/team-scope';
import { TaskTransitionsRepository } from '../src/tasks/task-transitions.repository';

const NO_TASK_FOUND = { message: 'No task found.', success: false, responseCode: -1, object: null };

/** The statements themselves: the repository holds no state. */
const transitions = new TaskTransitionsRepository();

async function main(): Promise<void> {
  // A TypeORM DataSource over the same pg pool size: the repository's hot statements run as pg
  // named statements (src/sql/prepared-statements.ts), as in the server.
  const dataSource = new DataSource({
    type: 'postgres',
    url: process.env.DATABASE_URL,
    poolSize: 20,
  });
  await dataSource.initialize();
  const db: EntityManager = dataSource.manager;
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
  app.post('/long-poll', async (request, reply) => {
    const seconds = Math.min(Number((request.body as Record<string, string>).waitSeconds) || 0, 30);
    waiting++;
    // Unref'd: a poll still held must not keep the process alive after SIGTERM closed the server.
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000).unref());
    waiting--;
    void reply.header('x-scanqueue-poll-interval', '0');
    return NO_TASK_FOUND;
  });
  app.get('/metrics', async () => `scanqueue_poll_waiters ${waiting}\n`);

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
  process.once('SIGTERM', () => void app.close().then(() => dataSource.destroy()));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
