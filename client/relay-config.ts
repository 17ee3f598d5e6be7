/**
 * The relay's configuration: one validated, frozen object with defaults, from a JSON file or from options.
 * The relay is a separate program from the device, so it has its own small schema rather than a section of the
 * device's config.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import { OnepadError } from '../device/errors.js';
import { PACKAGE_OVERHEAD } from '../device/wire.js';

/** Per-sender token bucket: `burst` sends at once, refilled at `perMinute`. */
export interface RateConfig {
  readonly burst: number;
  readonly perMinute: number;
}

/**
 * Limits per source address (an IPv6 source counts by its /64, which one host can fill with addresses at will,
 * and its /48 site by `siteFactor` times each limit). Honest users on one address (a NAT) share them.
 */
export interface PerSourceConfig {
  /** Simultaneous connections from one source; more are closed at once. */
  readonly maxConnections: number;
  /** New names one source may register: `burst` at once, refilled at `perHour`. */
  readonly names: { readonly burst: number; readonly perHour: number };
  /** Sends from one source, whatever names it uses. */
  readonly sends: RateConfig;
  /** Package bytes (decoded) one source may send: `burst` at once, refilled at `perMinute`. */
  readonly bytes: RateConfig;
  /** Messages from one source waiting at the relay (its share of `maxWaitingTotal`). */
  readonly maxWaiting: number;
  /** Package bytes from one source waiting at the relay. */
  readonly maxWaitingBytes: number;
  /** Messages from one source waiting for any one recipient (its share of `maxWaitingPerRecipient`). */
  readonly maxWaitingPerRecipient: number;
  /**
   * An IPv6 site (the /48 around a source's /64) holds at most this many times each limit above, however many of
   * its 65,536 /64s it uses.
   */
  readonly siteFactor: number;
}

/** Everything the relay is told. */
export interface RelayConfig {
  /** The address the relay binds to, and nothing else. */
  readonly address: string;
  readonly port: number;
  /** The SQLite file holding waiting messages and registered names. */
  readonly dbPath: string;
  /** Largest package (decoded bytes) accepted. */
  readonly maxPackageBytes: number;
  /** Messages waiting for one recipient before sends to it are refused (RELAY_FULL). */
  readonly maxWaitingPerRecipient: number;
  /** Messages waiting in total before any send is refused (RELAY_FULL). */
  readonly maxWaitingTotal: number;
  /** Names (with their token hashes) the relay registers at most. */
  readonly maxNames: number;
  /** A message not acknowledged within this time is deleted. */
  readonly retentionMs: number;
  /** How often expired messages are swept. */
  readonly sweepIntervalMs: number;
  /** Most messages one fetch returns (also the most refs one ack takes). */
  readonly maxFetch: number;
  readonly rate: RateConfig;
  readonly perSource: PerSourceConfig;
  /** Simultaneous connections in all. */
  readonly maxConnections: number;
  /** Time allowed to receive a request's headers (a slow client is cut off with REQUEST_TIMEOUT). */
  readonly headersTimeoutMs: number;
  /** Time allowed to receive a whole request. */
  readonly requestTimeoutMs: number;
  /** pino level of the relay's log (method, path without query, status; never names or bodies). */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
}

/**
 * The schema of one token bucket: `burst` at once, refilled at `rate` per minute or per hour.
 * Each bound is inclusive; the defaults are the shipped limits.
 */
function bucketSchema<K extends 'perMinute' | 'perHour'>(
  per: K,
  defaults: { readonly burst: number; readonly rate: number },
  max: { readonly burst: number; readonly rate: number },
) {
  return {
    type: 'object',
    properties: {
      burst: { type: 'integer', minimum: 1, maximum: max.burst, default: defaults.burst },
      [per]: { type: 'integer', minimum: 1, maximum: max.rate, default: defaults.rate },
    },
    additionalProperties: false,
    default: {},
  } as const;
}

const COUNT_MAX = { burst: 100000, rate: 1000000 } as const;

/** The JSON schema of the relay config, with defaults. */
export const relayConfigSchema = {
  type: 'object',
  properties: {
    address: { type: 'string', minLength: 1, maxLength: 64, default: '127.0.0.1' },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 4848 },
    dbPath: { type: 'string', minLength: 1 },
    maxPackageBytes: {
      type: 'integer',
      minimum: PACKAGE_OVERHEAD + 1,
      maximum: 16777216 + PACKAGE_OVERHEAD,
      // The device's default engine.maxMessageLength plus the package overhead.
      default: 65536 + PACKAGE_OVERHEAD,
    },
    maxWaitingPerRecipient: { type: 'integer', minimum: 1, maximum: 1000000, default: 1000 },
    maxWaitingTotal: { type: 'integer', minimum: 1, maximum: 10000000, default: 100000 },
    maxNames: { type: 'integer', minimum: 1, maximum: 1000000, default: 10000 },
    retentionMs: { type: 'integer', minimum: 1000, default: 14 * 24 * 3600 * 1000 },
    sweepIntervalMs: { type: 'integer', minimum: 100, default: 60_000 },
    maxFetch: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    rate: bucketSchema('perMinute', { burst: 30, rate: 60 }, COUNT_MAX),
    perSource: {
      type: 'object',
      properties: {
        maxConnections: { type: 'integer', minimum: 1, maximum: 10000, default: 8 },
        names: bucketSchema('perHour', { burst: 5, rate: 10 }, COUNT_MAX),
        sends: bucketSchema('perMinute', { burst: 30, rate: 60 }, COUNT_MAX),
        bytes: bucketSchema('perMinute', { burst: 8388608, rate: 4194304 }, { burst: 1073741824, rate: 1073741824 }),
        maxWaiting: { type: 'integer', minimum: 1, maximum: 10000000, default: 2000 },
        maxWaitingBytes: { type: 'integer', minimum: 1, maximum: 1099511627776, default: 134217728 },
        maxWaitingPerRecipient: { type: 'integer', minimum: 1, maximum: 1000000, default: 100 },
        siteFactor: { type: 'integer', minimum: 1, maximum: 1000, default: 4 },
      },
      additionalProperties: false,
      default: {},
    },
    maxConnections: { type: 'integer', minimum: 1, maximum: 100000, default: 256 },
    headersTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000, default: 5000 },
    requestTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000, default: 15000 },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'], default: 'info' },
  },
  required: ['dbPath'],
  additionalProperties: false,
} as const;

const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(relayConfigSchema);

/**
 * Validate a relay config, fill in defaults, resolve `dbPath` against `baseDir`, and freeze it.
 *
 * @throws OnepadError CONFIG_INVALID naming the first bad field
 */
export function parseRelayConfig(raw: unknown, baseDir = process.cwd()): RelayConfig {
  const copy = structuredClone(raw) as Record<string, unknown>;
  if (!validate(copy)) {
    const err = validate.errors?.[0];
    const path = (err?.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
    const extra = (err?.params as { additionalProperty?: string; missingProperty?: string } | undefined) ?? {};
    const name = extra.additionalProperty ?? extra.missingProperty;
    const field = name ? (path ? `${path}.${name}` : name) : path || '(root)';
    throw new OnepadError('CONFIG_INVALID', { field, reason: err?.message ?? 'invalid' }, field);
  }
  copy.dbPath = resolve(baseDir, copy.dbPath as string);
  const per = copy.perSource as { bytes: RateConfig; names: object; sends: object };
  if (per.bytes.burst < (copy.maxPackageBytes as number)) {
    // A bucket smaller than one package would refuse the largest package forever.
    throw new OnepadError('CONFIG_INVALID', { field: 'perSource.bytes.burst', reason: 'below maxPackageBytes' });
  }
  for (const o of [per.bytes, per.names, per.sends, per]) Object.freeze(o);
  Object.freeze(copy.rate);
  return Object.freeze(copy) as unknown as RelayConfig;
}

/**
 * Read a relay config file.
 *
 * @throws OnepadError CONFIG_INVALID when it cannot be read, is not JSON, or fails the schema
 */
export function loadRelayConfig(path: string): RelayConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new OnepadError('CONFIG_INVALID', { field: '(file)', reason: 'unreadable or not JSON' }, path);
  }
  return parseRelayConfig(raw, resolve(path, '..'));
}
