import type { SectionSchema } from '../device/config/section.js';

/**
 * The `link` config section: the point-to-point ethernet link to the laptop, and the RPC server on it.
 *
 * The device listens on `address:port` only, and answers only requests whose source address is `peer`.
 * A wildcard `address` (0.0.0.0, ::) is refused unless the device is simulated.
 *
 * Timeouts: `headersTimeoutMs` and `requestTimeoutMs` bound how long a client may take to *send* a request (a
 * slow or broken client cannot hold a connection). Waiting for the user is not bounded by them: the socket
 * idle timeout is derived from `confirm.timeoutMs` (see rpc/limits.ts) so a slow human never turns into a
 * dropped connection.
 */
export interface LinkConfig {
  /** The device's own address on the link. The server binds to it and nothing else. */
  readonly address: string;
  /** The TCP port the server listens on. */
  readonly port: number;
  /** The laptop's address on the link: the only source address the device answers. */
  readonly peer: string;
  /** Time allowed to receive the request headers. */
  readonly headersTimeoutMs: number;
  /** Time allowed to receive the whole request (headers and body). */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open between requests. */
  readonly keepAliveTimeoutMs: number;
  /** Slack added to the longest possible wait for the user before an idle socket is dropped. */
  readonly responseMarginMs: number;
  /** Most simultaneous connections; further ones are dropped at once. */
  readonly maxConnections: number;
  /** pino log level of the RPC server. */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
}

export const linkSectionSchema = {
  type: 'object',
  properties: {
    address: { type: 'string', minLength: 2, maxLength: 64, pattern: '^[0-9A-Fa-f:.]+$', default: '10.254.0.1' },
    port: { type: 'integer', minimum: 1, maximum: 65535, default: 4747 },
    peer: { type: 'string', minLength: 2, maxLength: 64, pattern: '^[0-9A-Fa-f:.]+$', default: '10.254.0.2' },
    headersTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000, default: 10000 },
    requestTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000, default: 30000 },
    keepAliveTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000, default: 5000 },
    responseMarginMs: { type: 'integer', minimum: 1000, maximum: 3600000, default: 30000 },
    maxConnections: { type: 'integer', minimum: 1, maximum: 1024, default: 16 },
    logLevel: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'], default: 'info' },
  },
  additionalProperties: false,
  default: {},
} as const satisfies SectionSchema;
