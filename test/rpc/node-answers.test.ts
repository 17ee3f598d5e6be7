/**
 * What Node's HTTP server would answer on its own (a bodyless 417 for an unknown Expect, a bodyless 400 for a
 * missing Host, 400/408/431 for malformed, slow or oversized messages) is answered with a registry code and a
 * fixed JSON body, over raw sockets. And the client-error handler answers each socket once: errors Node reports
 * again on the same socket add no listener (no MaxListenersExceededWarning, whatever a fuzzer sends).
 */
import { Duplex } from 'node:stream';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { ERRORS, type ErrorCode } from '../../device/errors.js';
import { NOT_FOUND_BODY } from '../../rpc/errors.js';
import { clientErrorHandler } from '../../rpc/http-guards.js';
import { errorResponseSchema } from '../../rpc/protocol.js';
import { build, listen, type RpcServer } from '../../rpc/server.js';
import { type RawAnswer, rawPost, rawRequest } from '../helpers/raw-http.js';
import { FakeEngine } from './fake-engine.js';

const validError = new Ajv({ strict: true, allowUnionTypes: true }).compile(errorResponseSchema);
let app: RpcServer;
let engine: FakeEngine;
let port: number;
let host: string;

beforeAll(async () => {
  const config = parseConfig({
    dataDir: '/nonexistent/unused',
    engine: { maxMessageLength: 100 },
    link: { address: '127.0.0.1', peer: '127.0.0.1', headersTimeoutMs: 400, requestTimeoutMs: 800 },
  });
  engine = new FakeEngine();
  app = build({ engine, config });
  port = (await listen(app, config.link, { simulated: false, port: 0 })).port;
  host = `127.0.0.1:${port}`;
});
afterAll(async () => {
  await app?.close();
});

/** The answer is a registry error with its own status and a well-formed body, or the fixed 404. */
function registryCode(a: RawAnswer): ErrorCode {
  expect(validError(a.json), a.raw.slice(0, 300)).toBe(true);
  const code = (a.json as { error: { code: ErrorCode } }).error.code;
  expect(Object.hasOwn(ERRORS, code)).toBe(true);
  expect(a.status).toBe(ERRORS[code].status);
  if (code === 'NOT_FOUND') expect(a.json).toEqual(NOT_FOUND_BODY);
  return code;
}

describe("Node's own answers are registry answers", () => {
  const body = JSON.stringify({ package: 'AAAA' });
  const cases: [string, () => string | Buffer, ErrorCode][] = [
    [
      'a non-standard Expect',
      () => rawPost('/unpackage', host, body, ['Expect: x-onepad-magic']),
      'EXPECTATION_FAILED',
    ],
    ['a missing Host (HTTP/1.1)', () => rawPost('/unpackage', null, body), 'HOST_REFUSED'],
    [
      'a missing Host (HTTP/1.0)',
      () =>
        `POST /unpackage HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      'HOST_REFUSED',
    ],
    ['a request line that does not parse', () => 'HELLO\r\n\r\n', 'INVALID_ARGUMENT'],
    ['an HTTP/2 preface', () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'INVALID_ARGUMENT'],
    [
      'Content-Length and chunked',
      () =>
        `POST /unpackage HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      'INVALID_ARGUMENT',
    ],
    [
      'two Content-Lengths',
      () => `POST /unpackage HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nAAAAA`,
      'INVALID_ARGUMENT',
    ],
    ['a bare LF header', () => `POST /unpackage HTTP/1.1\nHost: ${host}\n\n`, 'INVALID_ARGUMENT'],
    ['a header without a colon', () => `GET / HTTP/1.1\r\nHost: ${host}\r\nbroken\r\n\r\n`, 'INVALID_ARGUMENT'],
    ['HTTP/3.0', () => `GET / HTTP/3.0\r\nHost: ${host}\r\n\r\n`, 'INVALID_ARGUMENT'],
    [
      'headers over 16 KiB',
      () => `GET / HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      'HEADERS_TOO_LARGE',
    ],
    ['CONNECT', () => `CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 'NOT_FOUND'],
    [
      'an Upgrade to websocket',
      () => `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
      'NOT_FOUND',
    ],
    [
      'an absolute-form target',
      () =>
        `POST http://evil.example/unpackage HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      'HOST_REFUSED',
    ],
  ];
  it.each(cases)('%s', async (_name, bytes, code) => {
    engine.calls.length = 0;
    const a = await rawRequest(port, bytes());
    if (a.status === 0 && code === 'NOT_FOUND') {
      // Node closes CONNECT and Upgrade without answering when nobody handles them: no answer, no Node text.
      expect(a.raw).toBe('');
      return;
    }
    expect(registryCode(a)).toBe(code);
    expect(engine.calls).toHaveLength(0);
  });

  it('Expect: 100-continue itself is served', async () => {
    engine.calls.length = 0;
    const a = await rawRequest(port, rawPost('/unpackage', host, body, ['Expect: 100-continue']));
    expect(a.raw).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(engine.calls.length).toBe(1);
    engine.calls.length = 0;
  });

  it('a request whose headers never end: REQUEST_TIMEOUT with a registry body', async () => {
    const a = await rawRequest(port, `POST /unpackage HTTP/1.1\r\nHost: ${host}\r\n`, { end: false, timeoutMs: 5000 });
    expect(registryCode(a)).toBe('REQUEST_TIMEOUT');
  });

  it('a body that never ends: REQUEST_TIMEOUT', async () => {
    const a = await rawRequest(
      port,
      `POST /unpackage HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{`,
      { end: false, timeoutMs: 5000 },
    );
    expect(registryCode(a)).toBe('REQUEST_TIMEOUT');
  });
});

describe('the client-error handler', () => {
  /** A socket whose writes never complete: a peer that does not read. */
  function stuckSocket(): Duplex {
    return new Duplex({ read() {}, write() {} });
  }

  it('answers a socket once and adds no listener for errors reported again (as Node repeats timeouts)', () => {
    const handle = clientErrorHandler();
    const s = stuckSocket();
    const writes: unknown[] = [];
    const end = s.end.bind(s);
    s.end = ((chunk: unknown) => {
      writes.push(chunk);
      return end(chunk as string);
    }) as typeof s.end;
    const before = s.listenerCount('finish') + s.listenerCount('close');
    const err = Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    handle(err, s);
    const afterFirst = s.listenerCount('finish') + s.listenerCount('close');
    for (let i = 0; i < 50; i++) handle(err, s);
    expect(writes).toHaveLength(1);
    expect(String(writes[0])).toMatch(/^HTTP\/1\.1 408 /);
    expect(s.listenerCount('finish') + s.listenerCount('close')).toBeLessThanOrEqual(afterFirst);
    expect(afterFirst - before).toBeLessThanOrEqual(2);
    expect(s.destroyed).toBe(true);
  });

  it('a raw-socket fuzz of framing mutations: registry answers only, no MaxListenersExceededWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const valid = rawPost('/unpackage', host, JSON.stringify({ package: 'AAAA' })).toString('latin1');
    const mutation = fc.oneof(
      fc
        .tuple(fc.nat({ max: valid.length }), fc.string({ maxLength: 8 }))
        .map(([i, s]) => valid.slice(0, i) + s + valid.slice(i)),
      fc
        .tuple(fc.nat({ max: valid.length }), fc.nat({ max: 8 }))
        .map(([i, n]) => valid.slice(0, i) + valid.slice(i + n)),
      fc.integer({ min: 2, max: 30 }).map((n) => valid.replace('Connection: close\r\n', '').repeat(n)),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
    );
    try {
      await fc.assert(
        fc.asyncProperty(mutation, async (m) => {
          const a = await rawRequest(port, Buffer.from(m, 'latin1'), { timeoutMs: 3000 });
          if (a.status === 0) return; // closed without an answer (nothing to judge)
          // Every answer on the socket is a registry answer: check the first, and every status line.
          for (const line of a.raw.match(/HTTP\/1\.1 \d{3}[^\r]*/g) ?? []) {
            const status = Number(line.slice(9, 12));
            expect([100, 200, ...Object.values(ERRORS).map((e) => e.status)]).toContain(status);
          }
          if (a.status !== 200) registryCode(a);
        }),
        { numRuns: 300, seed: 1414 },
      );
      await new Promise((r) => setTimeout(r, 50));
      expect(warnings.filter((w) => w.includes('MaxListeners'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      engine.calls.length = 0;
    }
  });
});
