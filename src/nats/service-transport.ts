/**
 * The NATS transport of the request/reply patterns: Nest's NATS server (@nats-io/transport-node)
 * with the subjects under NATS_SUBJECT_PREFIX, a queue group (one instance answers each request),
 * and plain NATS requests accepted beside Nest's `{pattern, data, id}` packets: a service that is
 * not written with Nest sends the JSON payload and gets the envelope back as the reply.
 */
import { INestApplication, Logger } from '@nestjs/common';
import {
  CustomStrategy,
  Deserializer,
  IncomingRequest,
  Serializer,
  ServerNats,
} from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { redactUrls } from '../events/delivery-policy';
import { serviceFailure, UnreadablePayload } from './service-wire';

/** Marks the id of a plain NATS request, whose reply is the bare envelope. */
const PLAIN_REQUEST = 'plain:';

interface NatsMsgLike {
  data: Uint8Array;
  reply?: string;
  json(): unknown;
}

class ServiceRequestDeserializer implements Deserializer {
  deserialize(message: NatsMsgLike, options?: { channel?: string }): IncomingRequest {
    let value: unknown;
    try {
      value = message.data.length === 0 ? undefined : message.json();
    } catch {
      value = new UnreadablePayload();
    }
    // Nest's ClientProxy sends {pattern, data, id}.
    if (
      value !== null &&
      typeof value === 'object' &&
      'id' in value &&
      ('pattern' in value || 'data' in value)
    )
      return value as IncomingRequest;
    return {
      pattern: options?.channel ?? '',
      data: value,
      // Without an id Nest would treat it as an event and send no reply.
      id: message.reply ? `${PLAIN_REQUEST}${randomUUID()}` : (undefined as unknown as string),
    };
  }
}

/** Nest's reply packet `{id, response, isDisposed}` for Nest clients; the bare envelope for plain requests. */
class ServiceReplySerializer implements Serializer {
  serialize(packet: { id?: string; response?: unknown; err?: unknown }) {
    if (typeof packet.id === 'string' && packet.id.startsWith(PLAIN_REQUEST)) {
      const body =
        packet.err !== undefined
          ? serviceFailure(500, 'An unexpected error occurred.')
          : packet.response;
      return { data: JSON.stringify(body ?? null), headers: undefined };
    }
    return { data: JSON.stringify(packet), headers: undefined };
  }
}

/** Nest's NATS server, subscribing each pattern under the configured prefix. */
class PrefixedServerNats extends ServerNats {
  constructor(
    private readonly prefix: string,
    options: ConstructorParameters<typeof ServerNats>[0],
  ) {
    super(options);
  }

  override bindEvents(client: { subscribe(subject: string, options: unknown): unknown }): void {
    super.bindEvents({
      subscribe: (channel: string, options: unknown) =>
        client.subscribe(this.prefix + channel, options),
    });
  }
}

/** Connects the request/reply patterns to NATS_URL and starts them without holding up the boot. */
export function connectServiceMessages(app: INestApplication, config: AppConfig): void {
  const strategy: CustomStrategy = {
    strategy: new PrefixedServerNats(config.NATS_SUBJECT_PREFIX, {
      ...config.natsConnection,
      name: `scanqueue-${config.instanceId}`,
      // Every instance subscribes; the queue group hands each request to one of them.
      queue: 'scanqueue',
      // NATS down at boot: the HTTP API serves, and the patterns answer once NATS is reachable.
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      deserializer: new ServiceRequestDeserializer(),
      serializer: new ServiceReplySerializer(),
    }),
  };
  app.connectMicroservice(strategy);
  app
    .startAllMicroservices()
    .catch((error: unknown) =>
      new Logger('ServiceMessages').error(
        `NATS request/reply not started: ${redactUrls(String(error))}`,
      ),
    );
}
