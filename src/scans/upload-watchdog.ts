import { Readable } from 'node:stream';
import { RequestTimedOut } from '../rest/rest-error';

/**
 * Fails an upload stream that sends nothing for `idleMs` (a stalled or slow-loris client), so its
 * pipeline ends with a 408 instead of holding a temp file and a connection for ever.
 */
export function failWhenIdle(stream: Readable, idleMs: number): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () =>
        stream.destroy(new RequestTimedOut(`The upload stalled: no data for ${idleMs / 1000} s.`)),
      idleMs,
    );
  };
  arm();
  stream.on('data', arm);
  const disarm = () => {
    clearTimeout(timer);
    stream.off('data', arm);
  };
  stream.once('close', disarm);
  return disarm;
}
