/**
 * The laptop's client of one pipe session on its device: open (the owner approves on the device), then package
 * and unpackage frames several per request over one kept-alive connection, keepalive, end. Errors are
 * {@link OnepadError}s with the device's codes (docs/errors.md), LINK_UNREACHABLE and BAD_RESPONSE.
 */
import { Agent, request as httpRequest } from 'node:http';
import { Ajv } from 'ajv';
import type { SessionAsk } from '../device/engine-types.js';
import { ERRORS, type ErrorCode, OnepadError } from '../device/errors.js';
import { decodeBase64, encodeBase64 } from '../rpc/codec.js';
import {
  type OpenSessionResponse,
  openSessionResponseSchema,
  type SessionJson,
  type SessionPackageResponse,
  type SessionUnpackageResponse,
  sessionPackageResponseSchema,
  sessionUnpackageResponseSchema,
} from '../rpc/pipe-protocol.js';
import { type ErrorResponse, errorResponseSchema } from '../rpc/protocol.js';

const ajv = new Ajv({ strict: true, allowUnionTypes: true });
const validOpen = ajv.compile<OpenSessionResponse>(openSessionResponseSchema);
const validPackage = ajv.compile<SessionPackageResponse>(sessionPackageResponseSchema);
const validUnpackage = ajv.compile<SessionUnpackageResponse>(sessionUnpackageResponseSchema);
const validError = ajv.compile<ErrorResponse>(errorResponseSchema);

const MAX_RESPONSE = 64 * 1024 * 1024;

/** Connections to the device at most: the requests a pipe keeps in flight (client/pipe-connection.ts). */
export const LINK_SOCKETS = 4;

/** One session on one device. */
export class SessionLink {
  private readonly url: URL;
  /**
   * Kept-alive connections with Nagle off (a keystroke's request must not wait for an ACK), up to
   * {@link LINK_SOCKETS} of them so that a pipe can keep several requests in flight.
   */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: LINK_SOCKETS, noDelay: true });
  private id: string | null = null;
  private contact = '';
  /** The session as the device last reported it. */
  last: SessionJson | null = null;
  /**
   * Requests made inside the session with frames or packages, and their wall times on this laptop (ms; the last
   * 10,000 of each), for the exit line and the bench.
   */
  readonly timings = { package: [] as number[], unpackage: [] as number[] };

  /** @throws OnepadError INVALID_ARGUMENT when `url` is not an http URL */
  constructor(url: string) {
    try {
      this.url = new URL(url);
    } catch {
      throw new OnepadError('INVALID_ARGUMENT', { option: 'device' }, 'not a URL');
    }
    if (this.url.protocol !== 'http:')
      throw new OnepadError('INVALID_ARGUMENT', { option: 'device' }, 'must be http://');
  }

  /**
   * Ask the device for a session: resolves once the owner approved it on the device's screen (maybe with
   * another budget or time limit than asked: see {@link last}).
   * @throws OnepadError DENIED, CONFIRM_TIMEOUT, SESSION_UNAVAILABLE, UNKNOWN_CONTACT, PAD_EXHAUSTED, ...
   */
  async open(contact: string, ask: SessionAsk, signal?: AbortSignal): Promise<SessionJson> {
    const r = await this.post('/package', { contact, session: ask }, 600_000, signal);
    if (!validOpen(r)) throw new OnepadError('BAD_RESPONSE', { reason: 'shape' });
    this.id = r.session.id;
    this.contact = contact;
    this.last = r.session;
    return r.session;
  }

  /** Package frames (an empty list is a keepalive). @throws OnepadError SESSION_ENDED, ... */
  async package(frames: readonly Uint8Array[], end = false): Promise<Uint8Array[]> {
    const t0 = performance.now();
    const r = await this.post(
      '/package',
      { contact: this.contact, sessionId: this.sessionId(), frames: frames.map(encodeBase64), ...(end ? { end } : {}) },
      60_000,
    );
    if (!validPackage(r)) throw new OnepadError('BAD_RESPONSE', { reason: 'shape' });
    this.last = r.session;
    if (frames.length > 0) keep(this.timings.package, performance.now() - t0);
    return r.packages.map((p) => decodeBase64(p, 'packages'));
  }

  /** Authenticate and decrypt packages, all or nothing. @throws OnepadError MAC_INVALID, REPLAY, ... */
  async unpackage(packages: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const t0 = performance.now();
    const r = await this.post(
      '/unpackage',
      { sessionId: this.sessionId(), packages: packages.map(encodeBase64) },
      60_000,
    );
    if (!validUnpackage(r)) throw new OnepadError('BAD_RESPONSE', { reason: 'shape' });
    this.last = r.session;
    keep(this.timings.unpackage, performance.now() - t0);
    return r.frames.map((f) => decodeBase64(f.bytes, 'bytes'));
  }

  /** End the session (best effort) and drop the connection. */
  async end(): Promise<void> {
    try {
      if (this.id) await this.package([], true);
    } catch {
      // ended already, or the device is gone
    } finally {
      this.id = null;
      this.agent.destroy();
    }
  }

  private sessionId(): string {
    if (!this.id) throw new OnepadError('SESSION_UNKNOWN');
    return this.id;
  }

  private post(path: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port || 80,
          path,
          method: 'POST',
          agent: this.agent,
          timeout: timeoutMs,
          ...(signal ? { signal } : {}),
          headers: { 'content-type': 'application/json', 'content-length': payload.length, accept: 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE) req.destroy(new OnepadError('BAD_RESPONSE', { reason: 'too large' }));
            else chunks.push(c);
          });
          res.on('error', () => reject(new OnepadError('LINK_UNREACHABLE', { reason: 'connection broke' })));
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              reject(new OnepadError('BAD_RESPONSE', { reason: 'not JSON' }));
              return;
            }
            if (res.statusCode === 200) resolve(parsed);
            else reject(deviceError(parsed, res.statusCode ?? 0));
          });
        },
      );
      req.on('timeout', () => req.destroy(new OnepadError('LINK_UNREACHABLE', { reason: 'timeout' })));
      req.on('error', (e) => {
        if (e instanceof OnepadError) reject(e);
        else reject(new OnepadError('LINK_UNREACHABLE', { reason: (e as { code?: string }).code ?? 'error' }));
      });
      req.end(payload);
    });
  }
}

function keep(xs: number[], ms: number): void {
  if (xs.length >= 10_000) xs.shift();
  xs.push(ms);
}

function deviceError(parsed: unknown, status: number): OnepadError {
  if (!validError(parsed)) return new OnepadError('BAD_RESPONSE', { reason: 'shape', status });
  const code = parsed.error.code;
  if (!Object.hasOwn(ERRORS, code) || ERRORS[code as ErrorCode].status !== status) {
    return new OnepadError('BAD_RESPONSE', { reason: 'unknown code', status });
  }
  return new OnepadError(code as ErrorCode, parsed.error.details);
}
