/**
 * The chat client's side of the relay: typed send, fetch and ack, authenticated with the name's bearer token.
 */
import { randomBytes } from 'node:crypto';
import { Ajv } from 'ajv';
import { ERRORS, type ErrorCode, OnepadError } from '../device/errors.js';
import type { AckResponse, FetchResponse, SendResponse } from './relay-protocol.js';

/** Largest answer read from a relay (a relay answering more is not following the protocol). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The body as text, refusing more than `max` bytes. */
async function readLimited(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) throw new OnepadError('RELAY_BAD_RESPONSE', { reason: 'too large' });
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      throw new OnepadError('RELAY_BAD_RESPONSE', { reason: 'too large' });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A fresh relay token: 32 random bytes, base64url without padding (43 characters). */
export function newRelayToken(): string {
  return randomBytes(32).toString('base64url');
}

const ajv = new Ajv({ strict: true });
const ref = { type: 'integer', minimum: 0 } as const;
const validSend = ajv.compile<SendResponse>({
  type: 'object',
  required: ['ref', 'time'],
  properties: { ref, time: { type: 'number' } },
});
const validFetch = ajv.compile<FetchResponse>({
  type: 'object',
  required: ['messages', 'more'],
  properties: {
    more: { type: 'boolean' },
    messages: {
      type: 'array',
      items: {
        type: 'object',
        required: ['ref', 'from', 'package', 'time'],
        properties: { ref, from: { type: 'string' }, package: { type: 'string' }, time: { type: 'number' } },
      },
    },
  },
});
const validAck = ajv.compile<AckResponse>({
  type: 'object',
  required: ['deleted'],
  properties: { deleted: { type: 'integer', minimum: 0 } },
});

export interface RelayClientOptions {
  /** The relay's URL, e.g. http://127.0.0.1:4848 */
  readonly url: string;
  /** This user's name at the relay. */
  readonly name: string;
  /** This name's token (registered on first use). */
  readonly token: string;
  /** Give up on one call after this long (ms). */
  readonly timeoutMs?: number;
}

/** A client of one relay, acting for one name. */
export class RelayClient {
  readonly url: string;
  readonly name: string;
  private readonly token: string;
  private readonly timeoutMs: number;

  /** @throws OnepadError INVALID_ARGUMENT when `url` is not an http URL */
  constructor(opts: RelayClientOptions) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new OnepadError('INVALID_ARGUMENT', { option: 'relay' }, 'not a URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new OnepadError('INVALID_ARGUMENT', { option: 'relay' }, 'must be http:// or https://');
    }
    this.url = u.origin;
    this.name = opts.name;
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /**
   * Leave a package for `to`.
   *
   * @throws OnepadError with the relay's code (RELAY_UNAUTHORIZED, RELAY_RATE_LIMITED, RELAY_FULL,
   *   RELAY_PACKAGE_TOO_LARGE, ...), or RELAY_UNREACHABLE / RELAY_BAD_RESPONSE
   */
  async send(to: string, pkg: string): Promise<SendResponse> {
    const a = await this.call('POST', '/messages', { from: this.name, to, package: pkg });
    if (!validSend(a)) throw new OnepadError('RELAY_BAD_RESPONSE', { reason: 'shape' });
    return a;
  }

  /**
   * What waits for this name after `after`, oldest first.
   *
   * @throws OnepadError as {@link send}
   */
  async fetch(after: number, limit?: number): Promise<FetchResponse> {
    const q = new URLSearchParams({ to: this.name, after: String(after) });
    if (limit !== undefined) q.set('limit', String(limit));
    const a = await this.call('GET', `/messages?${q}`);
    if (!validFetch(a)) throw new OnepadError('RELAY_BAD_RESPONSE', { reason: 'shape' });
    return a;
  }

  /**
   * Delete these refs of this name at the relay.
   *
   * @throws OnepadError as {@link send}
   */
  async ack(refs: readonly number[]): Promise<number> {
    if (refs.length === 0) return 0;
    const a = await this.call('POST', '/ack', { to: this.name, refs });
    if (!validAck(a)) throw new OnepadError('RELAY_BAD_RESPONSE', { reason: 'shape' });
    return a.deleted;
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
      text = await readLimited(res, MAX_RESPONSE_BYTES);
    } catch (e) {
      if (e instanceof OnepadError) throw e;
      const name = (e as { name?: string }).name;
      throw new OnepadError('RELAY_UNREACHABLE', { reason: name === 'TimeoutError' ? 'timeout' : 'connection' });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new OnepadError('RELAY_BAD_RESPONSE', { reason: 'not JSON', status: res.status });
    }
    if (res.status === 200) return parsed;
    const err = (parsed as { error?: { code?: unknown; details?: unknown } } | null)?.error;
    const code = typeof err?.code === 'string' ? err.code : '';
    if (!Object.hasOwn(ERRORS, code) || ERRORS[code as ErrorCode].status !== res.status) {
      throw new OnepadError('RELAY_BAD_RESPONSE', { reason: 'unknown code', status: res.status });
    }
    const details: Record<string, number | string | boolean | null> = {};
    if (err?.details && typeof err.details === 'object') {
      for (const [k, v] of Object.entries(err.details).slice(0, 8)) {
        if (typeof v === 'number' || typeof v === 'boolean' || v === null) details[k] = v;
        else if (typeof v === 'string') details[k] = v.slice(0, 64);
      }
    }
    throw new OnepadError(code as ErrorCode, details);
  }
}
