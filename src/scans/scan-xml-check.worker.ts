/**
 * Worker thread of ScanXmlCheckPool: runs ScanXmlCheck for the uploads its pool assigns to it, so
 * the XML parse (the slowest part of completeTask) runs beside the event loop instead of on it.
 * Messages in: {id, expectedScanner?} to open, {id, chunk} to check, {id, end: true}, {id, abort: true}.
 * Messages out: {id, acked: bytes, buffer}, {id, scanner: shortName} at the end, or {id, error: message}.
 * An acknowledgement hands the chunk's memory back (transferred) for the session's next batch.
 */
import { parentPort } from 'node:worker_threads';
import { ScanXmlCheck, toScanFileError } from './scan-file-inspector';

export type CheckRequest =
  | { id: number; open: true; expectedScanner?: string }
  | { id: number; chunk: Uint8Array<ArrayBuffer> }
  | { id: number; end: true }
  | { id: number; abort: true };

export type CheckReply =
  | { id: number; acked: number; buffer: ArrayBuffer }
  | { id: number; scanner: string }
  | { id: number; error: string; httpStatus: number };

const port = parentPort;
if (port) {
  const checks = new Map<number, ScanXmlCheck>();
  const reply = (message: CheckReply, transfer?: ArrayBuffer[]) =>
    port.postMessage(message, transfer);
  port.on('message', (request: CheckRequest) => {
    const { id } = request;
    try {
      if ('open' in request) {
        checks.set(id, new ScanXmlCheck({ expectedScanner: request.expectedScanner }));
        return;
      }
      const check = checks.get(id);
      // A session that failed or was aborted: its remaining chunks are dropped.
      if (check === undefined) return;
      if ('abort' in request) {
        checks.delete(id);
      } else if ('chunk' in request) {
        // The check keeps nothing of the bytes it was given (it decodes them into strings).
        const { buffer, byteLength } = request.chunk;
        check.write(request.chunk);
        reply({ id, acked: byteLength, buffer }, [buffer]);
      } else {
        checks.delete(id);
        reply({ id, scanner: check.end().shortName });
      }
    } catch (err) {
      checks.delete(id);
      const error = toScanFileError(err);
      reply({ id, error: error.message, httpStatus: error.httpStatus });
    }
  });
}
