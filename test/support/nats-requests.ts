/** A NATS client that asks scanqueue's request/reply patterns (docs/events.md "Request/reply patterns") with an API key. */
import type { MsgHdrs } from '@nats-io/nats-core/lib/core';
import * as natsTransport from '@nats-io/transport-node';

// Exported at run time through nats-core's `exports` map, which node10 resolution cannot read.
const natsHeaders = (natsTransport as unknown as { headers(): MsgHdrs }).headers;

/** A pattern's reply: the REST envelope, `responseCode` the REST route's status. */
export interface PatternReply<T = unknown> {
  message: string;
  success: boolean;
  responseCode: number;
  object: T;
  /** Beside a validation failure of ThreadFix's application update, as on REST. */
  errorMap?: Record<string, string>;
}

export interface PatternClient {
  ask<T = unknown>(pattern: string, payload: unknown, key: string): Promise<PatternReply<T>>;
  close(): Promise<void>;
}

export async function connectPatternClient(url: string, prefix: string): Promise<PatternClient> {
  const nc = await natsTransport.connect({ servers: url });
  return {
    async ask<T>(pattern: string, payload: unknown, key: string) {
      const headers = natsHeaders();
      headers.set('Authorization', `APIKEY ${key}`);
      const response = await nc.request(prefix + pattern, JSON.stringify(payload), {
        timeout: 10_000,
        headers,
      });
      return response.json<PatternReply<T>>();
    },
    close: () => nc.close(),
  };
}
