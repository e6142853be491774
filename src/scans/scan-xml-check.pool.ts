/**
 * Worker threads that run the XML check of completeTask uploads (ScanXmlCheck), so parsing a large
 * report overlaps with receiving and storing it and never stalls the event loop for other requests.
 * Each upload is a session on the least busy worker; at most MAX_IN_FLIGHT_BYTES of it wait in a
 * worker's queue (backpressure to the request), so memory stays flat whatever the file size.
 * The bytes go over in batches of BATCH_BYTES, not one message per socket read (~64 KiB): the
 * worker is what limits an upload's speed, and each message and its acknowledgement cost it time.
 */
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AppConfig } from '../config/app-config';
import { ServiceUnavailable, UnprocessableScanFile } from '../rest/rest-error';
import {
  inlineScanXmlCheck,
  type ScanFileInspectorOptions,
  type ScanXmlCheckSession,
} from './scan-file-inspector';
import { resolveScanner, type ScannerType } from './scanner-types';
import type { CheckReply, CheckRequest } from './scan-xml-check.worker';

/** Bytes of one upload posted to its worker and not yet checked before the request is paused. */
const MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;
/** Bytes gathered (copied) before they are posted to the worker in one message. */
const BATCH_BYTES = 512 * 1024;

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

class WorkerSession implements ScanXmlCheckSession {
  onFailure?: (error: Error) => void;
  private inFlight = 0;
  /** Bytes copied for the worker and not posted yet (at most BATCH_BYTES). */
  private batch: Uint8Array<ArrayBuffer> | undefined;
  private batchFill = 0;
  /** Batches the worker has checked and handed back, reused rather than allocated again. */
  private readonly spares: ArrayBuffer[] = [];
  private postedAny = false;
  private failure: Error | undefined;
  private drained: Waiter | undefined;
  private finished: { resolve(scanner: ScannerType): void; reject(error: Error): void } | undefined;
  private closed = false;

  constructor(
    readonly id: number,
    private readonly worker: CheckWorker,
  ) {}

  write(chunk: Buffer): void | Promise<void> {
    if (this.failure) throw this.failure;
    // A copy goes to the worker (transferred, not cloned again): the original goes on to storage.
    for (let offset = 0; offset < chunk.byteLength;) {
      this.batch ??= new Uint8Array(this.spares.pop() ?? new ArrayBuffer(BATCH_BYTES));
      const taken = Math.min(BATCH_BYTES - this.batchFill, chunk.byteLength - offset);
      this.batch.set(chunk.subarray(offset, offset + taken), this.batchFill);
      this.batchFill += taken;
      offset += taken;
      // The first bytes go at once: most refusals (a DOCTYPE, another scanner's root) are there.
      if (this.batchFill === BATCH_BYTES || !this.postedAny) this.postBatch();
    }
    if (this.inFlight <= MAX_IN_FLIGHT_BYTES) return;
    return new Promise((resolve, reject) => (this.drained = { resolve, reject }));
  }

  end(): Promise<ScannerType> {
    if (this.failure) return Promise.reject(this.failure);
    this.postBatch();
    this.worker.post({ id: this.id, end: true });
    return new Promise((resolve, reject) => (this.finished = { resolve, reject }));
  }

  abort(): void {
    if (this.closed) return;
    this.worker.post({ id: this.id, abort: true });
    this.close();
  }

  handle(reply: CheckReply): void {
    if ('acked' in reply) {
      this.inFlight -= reply.acked;
      if (!this.closed) this.spares.push(reply.buffer);
      if (this.drained && this.inFlight <= MAX_IN_FLIGHT_BYTES / 2) {
        this.drained.resolve();
        this.drained = undefined;
      }
    } else if ('scanner' in reply) {
      const scanner = resolveScanner(reply.scanner) as ScannerType;
      this.close();
      this.finished?.resolve(scanner);
    } else {
      this.fail(new UnprocessableScanFile(reply.error));
    }
  }

  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.close();
    const waiting = this.finished ?? this.drained;
    this.finished = this.drained = undefined;
    if (waiting) waiting.reject(error);
    else this.onFailure?.(error);
  }

  private postBatch(): void {
    const batch = this.batch;
    if (batch === undefined || this.batchFill === 0) return;
    const bytes = batch.subarray(0, this.batchFill);
    this.batch = undefined;
    this.batchFill = 0;
    this.postedAny = true;
    this.inFlight += bytes.byteLength;
    this.worker.post({ id: this.id, chunk: bytes }, [batch.buffer]);
  }

  private close(): void {
    this.closed = true;
    this.batch = undefined;
    this.spares.length = 0;
    this.worker.sessions.delete(this.id);
  }
}

class CheckWorker {
  readonly sessions = new Map<number, WorkerSession>();
  private readonly worker: Worker;

  constructor(
    script: string,
    onExit: (worker: CheckWorker) => void,
    private readonly logger: Logger,
  ) {
    this.worker = new Worker(script);
    this.worker.unref();
    this.worker.on('message', (reply: CheckReply) => this.sessions.get(reply.id)?.handle(reply));
    this.worker.on('error', (error) =>
      this.logger.error(`XML check worker failed: ${error.message}`),
    );
    this.worker.on('exit', () => {
      for (const session of [...this.sessions.values()]) {
        session.fail(new ServiceUnavailable('The upload could not be checked; please retry.'));
      }
      onExit(this);
    });
  }

  post(request: CheckRequest, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(request, transfer);
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

@Injectable()
export class ScanXmlCheckPool implements OnApplicationShutdown {
  private readonly logger = new Logger(ScanXmlCheckPool.name);
  private readonly workers: CheckWorker[] = [];
  private readonly script = path.join(__dirname, 'scan-xml-check.worker.js');
  private nextId = 1;
  private closing = false;

  constructor(@Inject(AppConfig) config: AppConfig) {
    for (let i = 0; i < config.UPLOAD_CHECK_WORKERS; i++) this.workers.push(this.spawn());
  }

  /** A session on the least busy worker; on the event loop when the pool has no workers. */
  open(options: ScanFileInspectorOptions): ScanXmlCheckSession {
    if (this.workers.length === 0) return inlineScanXmlCheck(options);
    const worker = this.workers.reduce((a, b) => (b.sessions.size < a.sessions.size ? b : a));
    const session = new WorkerSession(this.nextId++, worker);
    worker.sessions.set(session.id, session);
    worker.post({ id: session.id, open: true, expectedScanner: options.expectedScanner });
    return session;
  }

  /** After the HTTP server closed: uploads still in flight at SIGTERM finish their checks first. */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private spawn(): CheckWorker {
    const spawnedAt = Date.now();
    return new CheckWorker(
      this.script,
      (dead) => {
        // A worker that died (not one we stopped) is replaced; its uploads were answered 503.
        const index = this.workers.indexOf(dead);
        if (this.closing || index < 0) return;
        if (Date.now() - spawnedAt < 5000) {
          // Dying at start (a broken install?) would only loop: check on the event loop instead.
          this.logger.error('XML check worker died at start; checking uploads on the event loop');
          this.workers.splice(index, 1);
          return;
        }
        this.logger.warn('XML check worker exited; starting a new one');
        this.workers[index] = this.spawn();
      },
      this.logger,
    );
  }
}
