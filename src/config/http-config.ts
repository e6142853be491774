/**
 * The HTTP server and its edge (docs/security.md, "Edge bounds"): where it listens, how long a
 * request may take, the rate limits and their shared store, which proxies to believe, Swagger UI.
 */
import { isIP } from 'node:net';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
} from 'class-validator';
import { emptyToUndefined, toBool, toInt } from './env-values';

/** proxy-addr's names for ranges, accepted in TRUST_PROXY's list. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isTrustProxy(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const trimmed = value.trim();
  if (trimmed === 'true' || trimmed === 'false') return true;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) >= 1 && Number(trimmed) <= 20;
  return trimmed.split(',').every((entry) => {
    const [address, bits, ...rest] = entry.trim().split('/');
    if (PROXY_RANGE_NAMES.has(address) && bits === undefined) return true;
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return false;
    return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  });
}

const IsTrustProxy = () =>
  ValidateBy({
    name: 'isTrustProxy',
    validator: {
      validate: isTrustProxy,
      defaultMessage: () =>
        'TRUST_PROXY must be true, false, a hop count (1-20) or comma-separated proxy addresses/CIDRs',
    },
  });

export class HttpConfig {
  @IsOptional()
  @IsString()
  @MaxLength(255)
  HOST = '0.0.0.0';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 8080;

  /** Mount point of the whole service; ThreadFix agents are configured with `…/threadfix/rest`. */
  @Matches(/^(\/[A-Za-z0-9._-]+)*$/, { message: 'CONTEXT_PATH must be empty or like /threadfix' })
  CONTEXT_PATH = '/threadfix';

  /** An upload that sends no data for this long is refused (408) and its task left as it was. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  UPLOAD_IDLE_TIMEOUT_SECONDS = 60;

  /** Longest time to receive a whole request (large uploads included). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 3600)
  REQUEST_TIMEOUT_SECONDS = 3600;

  /** On SIGTERM/SIGINT: new requests are refused at once; in-flight ones get this long to finish. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3600)
  SHUTDOWN_GRACE_SECONDS = 30;

  /**
   * Longest time to receive a request's headers and, on every route but the uploads (UPLOAD_ROUTES
   * in src/edge/upload-routes.ts), its body. Uploads are read only after authentication, under
   * UPLOAD_IDLE_TIMEOUT_SECONDS and REQUEST_TIMEOUT_SECONDS.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(600)
  BODY_TIMEOUT_SECONDS = 10;

  /** Requests per minute per API key (by key id), shared by all instances; 0 = off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_MINUTE = 6000;

  /**
   * Requests per minute per client address (an IPv6 address by its /64), counted before the key is
   * looked up and shared by all instances; 0 = off.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_ADDRESS_PER_MINUTE = 6000;

  /** Addresses and keys whose counts an instance keeps in memory; the shared store keeps the rest. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(10_000_000)
  RATE_LIMIT_MAX_BUCKETS = 100_000;

  /** Where instances share their rate-limit counts; unset: in PostgreSQL. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, {
    message: 'REDIS_URL must be redis://[user:password@]host:port[/db] (or rediss://)',
  })
  REDIS_URL?: string;

  /**
   * Which X-Forwarded-For hops to believe for the client address: false (default: the TCP peer),
   * true (every hop: only when the proxy overwrites the header), a hop count, or the proxies'
   * addresses/CIDRs (comma-separated; also loopback, linklocal, uniquelocal).
   */
  @IsTrustProxy()
  TRUST_PROXY = 'false';

  /** Swagger UI keeps an authorized key in the browser's localStorage across reloads. */
  @Transform(toBool)
  @IsBoolean()
  SWAGGER_PERSIST_AUTHORIZATION = false;

  /** Fastify's trustProxy from TRUST_PROXY: a hop count believes that many hops from the server. */
  get trustProxy(): boolean | string | ((address: string, hop: number) => boolean) {
    const value = this.TRUST_PROXY.trim();
    if (value === 'true' || value === 'false') return value === 'true';
    if (/^\d+$/.test(value)) return (_address, hop) => hop < Number(value);
    return value;
  }
}
