import { Readable } from 'node:stream';
import { RequestTimedOut } from '../rest/rest-error';

/**
 * Fails an upload stream that sends nothing for `idleMs` (a stalled or slow-loris client), so its
 * pipeline ends with a 408 instead of holding a temp file and a connection for ever.
 */
export function failWhenIdle(stream: Readable, idleMs: number): () => void {
  const timer = setTimeout(
    () =>
      stream.destroy(new RequestTimedOut(`The upload stalled: no data for ${idleMs / 1000} s.`)),
    idleMs,
  );
  // Each chunk restarts the same timer (refresh), rather than a new timer per chunk.
  const arm = () => void timer.refresh();
  stream.on('data', arm);
  const disarm = () => {
    clearTimeout(timer);
    stream.off('data', arm);
  };
  stream.once('close', disarm);
  return disarm;
}
