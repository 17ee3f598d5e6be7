/**
 * More ways around the link's Host, Origin and fetch-metadata checks, over raw sockets against a listening
 * server: duplicate Host lines (Node keeps only the first), an Origin, a Sec-Fetch-Site or a second Host hidden
 * after 2,000 other header lines (Node's default maxHeadersCount drops the rest silently), Host with IPv4
 * leading zeros, absolute- and asterisk-form targets naming the right authority, pipelined requests with a
 * refused one in the middle, chunked bodies that never end or never stop growing, many connections trickling
 * their headers, and lone surrogates written as JSON escapes. Nothing refused reaches the engine.
 */
import { connect } from 'node:net';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { ERRORS, type ErrorCode } from '../../device/errors.js';
import { errorResponseSchema } from '../../rpc/protocol.js';
import { build, listen, type RpcServer } from '../../rpc/server.js';
import { type RawAnswer, rawPost, rawRequest } from '../helpers/raw-http.js';
import { FakeEngine } from './fake-engine.js';

const validError = new Ajv({ strict: true, allowUnionTypes: true }).compile(errorResponseSchema);
let app: RpcServer;
let engine: FakeEngine;
let port: number;
let host: string;
const body = JSON.stringify({ package: 'AAAA' });

beforeAll(async () => {
  const config = parseConfig({
    dataDir: '/nonexistent/unused',
    engine: { maxMessageLength: 100 },
    link: { address: '127.0.0.1', peer: '127.0.0.1', headersTimeoutMs: 1000, requestTimeoutMs: 1500 },
  });
  engine = new FakeEngine();
  app = build({ engine, config });
  port = (await listen(app, config.link, { simulated: false, port: 0 })).port;
  host = `127.0.0.1:${port}`;
});
afterAll(async () => {
  await app?.close();
});
beforeEach(() => {
  engine.calls.length = 0;
});

function expectCode(a: RawAnswer, code: ErrorCode, name = ''): void {
  expect(validError(a.json), `${name}: ${a.raw.slice(0, 300)}`).toBe(true);
  expect((a.json as { error: { code: string } }).error.code, name).toBe(code);
  expect(a.status, name).toBe(ERRORS[code].status);
}

/** A POST with the header lines exactly as given (no Host added). */
function post(path: string, lines: string[], b = body): Buffer {
  return Buffer.from(
    [`POST ${path} HTTP/1.1`, ...lines, 'Content-Type: application/json', `Content-Length: ${b.length}`, '', b].join(
      '\r\n',
    ),
    'latin1',
  );
}

describe('Host lines', () => {
  it('two Host lines are refused whichever comes first, and so are two identical ones', async () => {
    for (const lines of [
      [`Host: ${host}`, 'Host: evil.example'],
      ['Host: evil.example', `Host: ${host}`],
      [`Host: ${host}`, `Host: ${host}`],
      [`Host: ${host}`, `hOsT: ${host}`],
    ]) {
      const a = await rawRequest(port, post('/unpackage', [...lines, 'Connection: close']));
      expectCode(a, 'HOST_REFUSED', lines.join(' | '));
      expect((a.json as { error: { details: { reason: string } } }).error.details.reason).toBe('more than one Host');
    }
    expect(engine.calls).toHaveLength(0);
  });

  it('the header name in any case is the one Host line (served)', async () => {
    for (const name of ['HOST', 'host', 'hOsT']) {
      const a = await rawRequest(port, post('/unpackage', [`${name}: ${host}`, 'Connection: close']));
      expect(a.status, name).toBe(200);
    }
    expect(engine.calls).toHaveLength(3);
  });

  it('IPv4 with leading zeros, in any part, is not the link address', async () => {
    for (const h of [`127.000.000.001:${port}`, `127.0.0.01:${port}`, `0127.0.0.1:${port}`, `127.0.0.001:${port}`]) {
      expectCode(await rawRequest(port, rawPost('/unpackage', h, body)), 'HOST_REFUSED', h);
    }
    expect(engine.calls).toHaveLength(0);
  });

  it('absolute-form and asterisk-form targets, even naming the link address, are refused', async () => {
    for (const target of [`http://${host}/unpackage`, `HTTP://${host}/unpackage`, '*', `//${host}/unpackage`]) {
      const a = await rawRequest(port, post(target, [`Host: ${host}`, 'Connection: close']));
      // `//host/path` is origin-form (a path): no route, the fixed 404.
      expectCode(a, target.startsWith('//') ? 'NOT_FOUND' : 'HOST_REFUSED', target);
    }
    expect(engine.calls).toHaveLength(0);
  });
});

describe('headers hidden after 2,000 others', () => {
  const junk = Array.from({ length: 2000 }, (_, i) => `X-${i}: y`);
  it.each([
    ['an Origin', ['Origin: http://evil.example'], 'ORIGIN_REFUSED'],
    ['a Sec-Fetch-Site', ['Sec-Fetch-Site: cross-site'], 'ORIGIN_REFUSED'],
    ['a second Host', ['Host: evil.example'], 'HOST_REFUSED'],
  ] as const)('%s is still seen', async (_name, extra, code) => {
    const a = await rawRequest(port, rawPost('/unpackage', host, body, [...junk, ...extra]));
    expectCode(a, code);
    expect(engine.calls).toHaveLength(0);
  });

  it('more header bytes than 16 KiB: HEADERS_TOO_LARGE', async () => {
    const many = Array.from({ length: 4000 }, (_, i) => `X-${i}: y`);
    expectCode(await rawRequest(port, rawPost('/unpackage', host, body, many)), 'HEADERS_TOO_LARGE');
  });
});

describe('pipelined requests', () => {
  it('a refused request between two good ones on one connection never reaches the engine', async () => {
    const good = post('/unpackage', [`Host: ${host}`]).toString('latin1');
    const evil = post('/unpackage', ['Host: evil.example', 'Origin: http://evil.example']).toString('latin1');
    const a = await rawRequest(port, Buffer.from(good + evil + good, 'latin1'), { timeoutMs: 5000 });
    const statuses = [...a.raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    // Each answered in order on the one connection; only the two good ones reached the engine.
    expect(statuses).toEqual([200, 421, 200]);
    expect(engine.calls).toHaveLength(2);
  });

  it('200 pipelined requests in one write: each answered in order with a registry code or 200, server up', async () => {
    const one = (i: number) =>
      (i % 3 === 1
        ? post('/unpackage', [`Host: evil.example:${port}`])
        : i % 3 === 2
          ? post('/unpackage', [`Host: ${host}`, 'Origin: null'])
          : post('/unpackage', [`Host: ${host}`])
      ).toString('latin1');
    const all = Array.from({ length: 200 }, (_, i) => one(i)).join('');
    const a = await rawRequest(port, Buffer.from(all, 'latin1'), { timeoutMs: 20_000 });
    const statuses = [...a.raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    expect(statuses).toHaveLength(200);
    statuses.forEach((s, i) => {
      expect(s, `answer ${i}`).toBe(i % 3 === 0 ? 200 : i % 3 === 1 ? 421 : 403);
    });
    expect(engine.calls).toHaveLength(statuses.filter((s) => s === 200).length);
    // Still serving.
    expect((await rawRequest(port, post('/unpackage', [`Host: ${host}`, 'Connection: close']))).status).toBe(200);
  });
});

describe('chunked bodies', () => {
  it('a chunked body that never ends (a chunk now and then): REQUEST_TIMEOUT, before the engine', async () => {
    const a = await new Promise<RawAnswer>((resolve) => {
      const s = connect(port, '127.0.0.1');
      let raw = '';
      const t0 = Date.now();
      const timer = setInterval(() => {
        if (s.writable) s.write('1\r\n \r\n');
        if (Date.now() - t0 > 10_000) s.destroy();
      }, 100);
      s.on('data', (d) => {
        raw += d.toString('latin1');
      });
      s.on('error', () => undefined);
      s.on('close', () => {
        clearInterval(timer);
        const head = raw.indexOf('\r\n\r\n');
        let json: unknown;
        try {
          json = JSON.parse(raw.slice(head + 4));
        } catch {
          json = undefined;
        }
        resolve({ raw, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0), json });
      });
      s.write(
        `POST /unpackage HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n`,
      );
    });
    expectCode(a, 'REQUEST_TIMEOUT');
    expect(engine.calls).toHaveLength(0);
  });

  it('a chunked body that keeps growing: BODY_TOO_LARGE at the body limit, before the engine', async () => {
    const chunk = `${(4096).toString(16)}\r\n${' '.repeat(4096)}\r\n`;
    const a = await rawRequest(
      port,
      `POST /unpackage HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n${chunk.repeat(64)}`,
      { end: false, timeoutMs: 10_000 },
    );
    expectCode(a, 'BODY_TOO_LARGE');
    expect(engine.calls).toHaveLength(0);
  });
});

describe('many connections trickling their headers', () => {
  it('each is cut off at headersTimeoutMs however often it sends a byte; a request beside them is served', async () => {
    const t0 = Date.now();
    const closedAfter: number[] = [];
    const sockets = Array.from({ length: 12 }, () => {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('connect', () => s.write(`POST /unpackage HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `));
      const timer = setInterval(() => s.writable && s.write('a'), 200);
      const closed = new Promise<void>((resolve) =>
        s.on('close', () => {
          clearInterval(timer);
          closedAfter.push(Date.now() - t0);
          resolve();
        }),
      );
      return { s, closed };
    });
    // While they trickle, the owner's client is answered.
    const honest = await rawRequest(port, post('/unpackage', [`Host: ${host}`, 'Connection: close']));
    expect(honest.status).toBe(200);
    const until = Date.now() + 15_000;
    await Promise.race([
      Promise.all(sockets.map((x) => x.closed)),
      new Promise<void>((resolve) => setTimeout(resolve, until - Date.now())),
    ]);
    for (const x of sockets) x.s.destroy();
    // All were cut off by the server (well before 15 s of trickling), none lasted past headersTimeout much.
    expect(closedAfter).toHaveLength(12);
    for (const ms of closedAfter) expect(ms).toBeLessThan(10_000);
    expect(engine.calls).toHaveLength(1);
  }, 30_000);
});

describe('lone surrogates written as JSON escapes', () => {
  const text = async (escaped: string) =>
    rawRequest(port, rawPost('/package', host, `{"contact":"bob","text":"pay ${escaped} 100"}`));
  it.each([
    ['a lone low surrogate', '\\udc00'],
    ['a lone high surrogate at the end', '\\udbff'],
    ['two high surrogates', '\\ud800\\ud800'],
    ['a pair reversed', '\\ude00\\ud83d'],
    ['a high surrogate before a plain letter', '\\ud83dx'],
  ])('%s: INVALID_ARGUMENT', async (_name, escaped) => {
    expectCode(await text(escaped), 'INVALID_ARGUMENT');
    expect(engine.calls).toHaveLength(0);
  });

  it('an escaped pair is one code point, encrypted as its UTF-8', async () => {
    const a = await text('\\ud83d\\ude00');
    expect(a.status).toBe(200);
    expect([...(engine.calls[0]?.bytes ?? [])]).toEqual([...Buffer.from('pay \u{1f600} 100', 'utf8')]);
  });
});
