import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../device/config/config.js';
import { ERRORS, type ErrorCode, OnepadError } from '../../device/errors.js';
import { NOT_FOUND_BODY } from '../../rpc/errors.js';
import { build, type RpcServer, serverTimeouts } from '../../rpc/server.js';
import { FakeEngine, unpackageResult } from './fake-engine.js';

function config(
  over: { maxMessageLength?: number; queueLength?: number; link?: Record<string, unknown> } = {},
): Config {
  return parseConfig({
    dataDir: '/nonexistent/unused',
    engine: { maxMessageLength: over.maxMessageLength ?? 100 },
    confirm: { queueLength: over.queueLength ?? 2 },
    link: { address: '127.0.0.1', peer: '127.0.0.1', ...over.link },
  });
}

function setup(over: Parameters<typeof config>[0] = {}): { app: RpcServer; engine: FakeEngine } {
  const engine = new FakeEngine();
  return { app: build({ engine, config: config(over) }), engine };
}

const json = { 'content-type': 'application/json' };
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');

async function post(app: RpcServer, url: string, body: unknown, headers: Record<string, string> = json) {
  const res = await app.inject({
    authority: '127.0.0.1:4747',
    method: 'POST',
    url,
    headers,
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown>, headers: res.headers, raw: res.body };
}

function codeOf(body: Record<string, unknown>): string | undefined {
  return (body.error as { code?: string } | undefined)?.code;
}

describe('POST /package', () => {
  it('packages text as UTF-8 and answers the package as base64', async () => {
    const { app, engine } = setup();
    const r = await post(app, '/package', { contact: 'bob', text: 'héllo ✓' });
    expect(r.status).toBe(200);
    expect(engine.calls).toHaveLength(1);
    expect(engine.calls[0]?.contact).toBe('bob');
    expect(Buffer.from(engine.calls[0]?.bytes ?? []).toString('utf8')).toBe('héllo ✓');
    const expected = Buffer.from('héllo ✓', 'utf8').reverse();
    expect(r.body.package).toBe(expected.toString('base64'));
    expect(r.body).toMatchObject({ contact: 'bob', insecure: true, remaining: 1000, messagesLeft: 5 });
    await app.close();
  });

  it('packages bytes given as base64, exactly', async () => {
    const { app, engine } = setup();
    const bytes = Uint8Array.from([0, 255, 1, 254, 0x80]);
    const r = await post(app, '/package', { contact: 'bob', bytes: b64(bytes) });
    expect(r.status).toBe(200);
    expect([...(engine.calls[0]?.bytes ?? [])]).toEqual([...bytes]);
    await app.close();
  });

  it('refuses a message longer than engine.maxMessageLength in bytes (MESSAGE_TOO_LONG), before the engine', async () => {
    const { app, engine } = setup({ maxMessageLength: 10 });
    // 6 code points pass the schema's length check but are 18 UTF-8 bytes.
    const r = await post(app, '/package', { contact: 'bob', text: '✓✓✓✓✓✓' });
    expect(r.status).toBe(413);
    expect(codeOf(r.body)).toBe('MESSAGE_TOO_LONG');
    expect(engine.calls).toHaveLength(0);
    await app.close();
  });
});

describe('POST /unpackage', () => {
  it('answers valid UTF-8 as text, with gaps', async () => {
    const { app, engine } = setup();
    engine.unpackageAnswer = () =>
      unpackageResult(new TextEncoder().encode('hi bob'), { gaps: [{ start: 100, end: 164 }], late: false });
    const r = await post(app, '/unpackage', { package: b64('whatever-bytes') });
    expect(r.status).toBe(200);
    expect(Buffer.from(engine.calls[0]?.bytes ?? []).toString()).toBe('whatever-bytes');
    expect(r.body).toMatchObject({ contact: 'alice', text: 'hi bob', bytes: null, shownOnDeviceOnly: false });
    expect(r.body.gaps).toEqual([{ start: 100, end: 164 }]);
    await app.close();
  });

  it('answers non-UTF-8 plaintext as base64 bytes, and private receive as neither', async () => {
    const { app, engine } = setup();
    const raw = Uint8Array.from([0xff, 0xfe, 0x00, 0xc3]);
    engine.unpackageAnswer = () => unpackageResult(raw.slice());
    let r = await post(app, '/unpackage', { package: b64('x') });
    expect(r.body).toMatchObject({ text: null, bytes: b64(raw), length: 4 });
    engine.unpackageAnswer = () => unpackageResult(null, { length: 9 });
    r = await post(app, '/unpackage', { package: b64('x') });
    expect(r.body).toMatchObject({ text: null, bytes: null, shownOnDeviceOnly: true, length: 9 });
    await app.close();
  });
});

describe('engine errors keep their registry code and status', () => {
  const codes: ErrorCode[] = [
    'DENIED',
    'CONFIRM_TIMEOUT',
    'PAD_EXHAUSTED',
    'UNKNOWN_CONTACT',
    'MAC_INVALID',
    'REPLAY',
    'OVERLAP',
    'REFLECTION',
    'MALFORMED',
    'UNSUPPORTED_VERSION',
    'UNKNOWN_PAD',
    'BUSY',
    'STORAGE_FAILED',
  ];
  it.each(codes)('%s', async (code) => {
    const { app, engine } = setup();
    engine.fail = new OnepadError(code, { remaining: 3 });
    const url = code === 'DENIED' || code === 'PAD_EXHAUSTED' ? '/package' : '/unpackage';
    const body = url === '/package' ? { contact: 'bob', text: 'x' } : { package: b64('x') };
    const r = await post(app, url, body);
    expect(r.status).toBe(ERRORS[code].status);
    expect(r.body).toEqual({ error: { code, message: ERRORS[code].message, details: { remaining: 3 } } });
    await app.close();
  });

  it('an unexpected fault is INTERNAL with nothing of its message', async () => {
    const { app, engine } = setup();
    engine.fail = new Error('secret plaintext in a fault message');
    const r = await post(app, '/package', { contact: 'bob', text: 'x' });
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ error: { code: 'INTERNAL', message: ERRORS.INTERNAL.message, details: {} } });
    expect(r.raw).not.toContain('secret');
    await app.close();
  });
});

describe('unknown paths and methods', () => {
  const cases: [string, string, Record<string, string>?][] = [
    ['GET', '/'],
    ['GET', '/package'],
    ['PUT', '/package'],
    ['DELETE', '/unpackage'],
    ['HEAD', '/package'],
    ['OPTIONS', '/package'],
    ['POST', '/'],
    ['POST', '/PACKAGE'],
    ['POST', '/package/'],
    ['POST', '/package/x'],
    ['POST', '/../etc/passwd'],
    ['POST', '/%zz'],
    ['POST', '/admin', { 'content-type': 'text/xml' }],
    ['GET', '/documentation/json'],
  ];
  it.each(cases)('%s %s gets the fixed 404', async (method, url, headers) => {
    const { app, engine } = setup();
    const res = await app.inject({
      authority: '127.0.0.1:4747',
      method: method as 'GET',
      url,
      headers: headers ?? json,
      ...(method === 'POST' ? { payload: '{"contact":"bob","text":"x"}' } : {}),
    });
    expect(res.statusCode).toBe(404);
    if (method !== 'HEAD') expect(res.json()).toEqual(NOT_FOUND_BODY);
    expect(res.headers.server).toBeUndefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(engine.calls).toHaveLength(0);
    await app.close();
  });
});

describe('bad input is refused with its code before the engine', () => {
  const bad: [string, string, unknown, ErrorCode][] = [
    ['malformed JSON', '/package', '{"contact": "bob", "text": hello}', 'INVALID_ARGUMENT'],
    ['truncated JSON', '/unpackage', '{"package": "AAAA', 'INVALID_ARGUMENT'],
    ['a JSON array', '/package', '[1,2]', 'INVALID_ARGUMENT'],
    ['JSON null', '/package', 'null', 'INVALID_ARGUMENT'],
    ['an empty body', '/package', '', 'INVALID_ARGUMENT'],
    ['contact of wrong type', '/package', { contact: 7, text: 'x' }, 'INVALID_ARGUMENT'],
    ['text of wrong type', '/package', { contact: 'bob', text: 42 }, 'INVALID_ARGUMENT'],
    ['text as array', '/package', { contact: 'bob', text: ['x'] }, 'INVALID_ARGUMENT'],
    ['an extra field', '/package', { contact: 'bob', text: 'x', admin: true }, 'INVALID_ARGUMENT'],
    ['extra field on unpackage', '/unpackage', { package: 'AAAA', contact: 'bob' }, 'INVALID_ARGUMENT'],
    ['both text and bytes', '/package', { contact: 'bob', text: 'x', bytes: 'AAAA' }, 'INVALID_ARGUMENT'],
    ['neither text nor bytes', '/package', { contact: 'bob' }, 'INVALID_ARGUMENT'],
    ['no contact', '/package', { text: 'x' }, 'INVALID_ARGUMENT'],
    ['an empty contact', '/package', { contact: '', text: 'x' }, 'INVALID_ARGUMENT'],
    ['a contact with a newline', '/package', { contact: 'bob\nx', text: 'x' }, 'INVALID_ARGUMENT'],
    ['bytes not base64', '/package', { contact: 'bob', bytes: 'a b!' }, 'INVALID_ARGUMENT'],
    ['bytes unpadded base64', '/package', { contact: 'bob', bytes: 'AAA' }, 'INVALID_ARGUMENT'],
    ['bytes non-canonical base64', '/package', { contact: 'bob', bytes: 'AB==' }, 'INVALID_ARGUMENT'],
    ['text with a lone surrogate', '/package', '{"contact":"bob","text":"a\\ud800b"}', 'INVALID_ARGUMENT'],
    ['package not base64', '/unpackage', { package: '!!!!' }, 'INVALID_ARGUMENT'],
    ['package base64url', '/unpackage', { package: 'ab-_' }, 'INVALID_ARGUMENT'],
    ['empty package', '/unpackage', { package: '' }, 'INVALID_ARGUMENT'],
    ['package of wrong type', '/unpackage', { package: 12 }, 'INVALID_ARGUMENT'],
    ['__proto__ key', '/package', '{"contact":"bob","text":"x","__proto__":{"a":1}}', 'INVALID_ARGUMENT'],
    ['text too long', '/package', { contact: 'bob', text: 'x'.repeat(101) }, 'INVALID_ARGUMENT'],
  ];
  it.each(bad)('%s', async (_name, url, body, code) => {
    const { app, engine } = setup();
    const r = await post(app, url, body);
    expect(codeOf(r.body)).toBe(code);
    expect(r.status).toBe(ERRORS[code].status);
    expect(Object.keys(r.body)).toEqual(['error']);
    expect(engine.calls).toHaveLength(0);
    await app.close();
  });

  it('names the offending field and never echoes values', async () => {
    const { app } = setup();
    const r = await post(app, '/package', { contact: 'bob', text: 'x', secretfield: 'TOPSECRET' });
    expect(r.body).toMatchObject({ error: { details: { field: 'secretfield', reason: 'additionalProperties' } } });
    const m = await post(app, '/package', '{"contact":"bob","text": TOPSECRET}');
    expect(m.raw).not.toContain('TOPSECRET');
    await app.close();
  });

  const mediaTypes = [
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'text/json',
  ];
  it.each(mediaTypes)('content type %s is UNSUPPORTED_MEDIA_TYPE', async (type) => {
    const { app, engine } = setup();
    const r = await post(app, '/package', '{"contact":"bob","text":"x"}', { 'content-type': type });
    expect(r.status).toBe(415);
    expect(codeOf(r.body)).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(engine.calls).toHaveLength(0);
    await app.close();
  });

  it('a body without a content type is UNSUPPORTED_MEDIA_TYPE', async () => {
    const { app } = setup();
    const r = await post(app, '/package', '{"contact":"bob","text":"x"}', {});
    expect(codeOf(r.body)).toBe('UNSUPPORTED_MEDIA_TYPE');
    await app.close();
  });

  it('application/json with a charset is accepted', async () => {
    const { app } = setup();
    const r = await post(
      app,
      '/package',
      { contact: 'bob', text: 'x' },
      { 'content-type': 'application/json; charset=utf-8' },
    );
    expect(r.status).toBe(200);
    await app.close();
  });

  it('a body over the limit is BODY_TOO_LARGE', async () => {
    const { app, engine } = setup({ maxMessageLength: 100 });
    const r = await post(app, '/package', { contact: 'bob', text: 'x'.repeat(6 * 100 + 2000) });
    expect(r.status).toBe(413);
    expect(codeOf(r.body)).toBe('BODY_TOO_LARGE');
    expect(engine.calls).toHaveLength(0);
    await app.close();
  });

  it('a text of maxMessageLength control characters fits the body limit', async () => {
    const { app, engine } = setup({ maxMessageLength: 100 });
    const r = await post(app, '/package', { contact: 'bob', text: '\u0001'.repeat(100) });
    expect(r.status).toBe(200);
    expect(engine.calls[0]?.bytes.length).toBe(100);
    await app.close();
  });
});

describe('the peer check', () => {
  it('refuses any source but link.peer with PEER_REFUSED, before the engine', async () => {
    const { app, engine } = setup();
    for (const remoteAddress of ['10.254.0.9', '127.0.0.2', '::1', '192.168.1.1']) {
      const res = await app.inject({
        authority: '127.0.0.1:4747',
        method: 'POST',
        url: '/package',
        headers: json,
        payload: '{"contact":"bob","text":"x"}',
        remoteAddress,
      });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({
        error: { code: 'PEER_REFUSED', message: ERRORS.PEER_REFUSED.message, details: {} },
      });
    }
    // Unknown routes too: a stranger learns nothing about which paths exist.
    const res = await app.inject({
      authority: '127.0.0.1:4747',
      method: 'GET',
      url: '/nothing',
      remoteAddress: '10.0.0.1',
    });
    expect(res.statusCode).toBe(403);
    expect(engine.calls).toHaveLength(0);
    const ok = await app.inject({
      authority: '127.0.0.1:4747',
      method: 'POST',
      url: '/package',
      headers: json,
      payload: '{"contact":"bob","text":"x"}',
      remoteAddress: '::ffff:127.0.0.1',
    });
    expect(ok.statusCode).toBe(200);
    await app.close();
  });

  it('refuses to build with a peer that is not an IP address (LINK_ADDRESS_REFUSED)', () => {
    expect(() => build({ engine: new FakeEngine(), config: config({ link: { peer: '1.2.3' } }) })).toThrow(
      expect.objectContaining({ code: 'LINK_ADDRESS_REFUSED' }),
    );
  });
});

describe('one request at a time through a bounded queue', () => {
  it('serves in order, one in the engine at a time, and answers BUSY beyond the queue', async () => {
    const { app, engine } = setup({ queueLength: 2 });
    engine.hold = true;
    const send = (i: number) => post(app, '/package', { contact: 'bob', text: `m${i}` });
    const first = [send(0), send(1), send(2)];
    await vi_waitFor(() => engine.holding === 1);
    // One in service, two waiting: the next ones are BUSY at once.
    const busy = await Promise.all([send(3), send(4)]);
    for (const b of busy) {
      expect(b.status).toBe(503);
      expect(codeOf(b.body)).toBe('BUSY');
    }
    expect(engine.calls).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      await vi_waitFor(() => engine.holding === 1);
      engine.release();
    }
    const done = await Promise.all(first);
    expect(done.map((d) => d.status)).toEqual([200, 200, 200]);
    expect(engine.calls.map((c) => Buffer.from(c.bytes).toString())).toEqual(['m0', 'm1', 'm2']);
    expect(engine.maxActive).toBe(1);
    // The queue drained: a new request is served.
    engine.hold = false;
    expect((await send(9)).status).toBe(200);
    await app.close();
  });

  it('a flood of 300 concurrent requests: one served at a time, queueLength wait, every other one BUSY', async () => {
    const { app, engine } = setup({ queueLength: 3 });
    engine.hold = true;
    const flood = Array.from({ length: 300 }, (_, i) =>
      i % 2 ? post(app, '/package', { contact: 'bob', text: `m${i}` }) : post(app, '/unpackage', { package: 'AAAA' }),
    );
    await vi_waitFor(() => engine.holding === 1 && app.rpcQueue.waitingCount === 3);
    for (let i = 0; i < 4; i++) {
      await vi_waitFor(() => engine.holding === 1);
      engine.release();
    }
    const answers = await Promise.all(flood);
    const codes = answers.map((a) => (a.status === 200 ? 'ok' : codeOf(a.body)));
    expect(codes.filter((c) => c === 'ok')).toHaveLength(4);
    expect(codes.filter((c) => c === 'BUSY')).toHaveLength(296);
    expect(answers.filter((a) => a.status === 503)).toHaveLength(296);
    expect(engine.maxActive).toBe(1);
    engine.hold = false;
    expect((await post(app, '/unpackage', { package: 'AAAA' })).status).toBe(200);
    await app.close();
  });

  it('queueLength 0: one in service, every other BUSY', async () => {
    const { app, engine } = setup({ queueLength: 0 });
    engine.hold = true;
    const a = post(app, '/unpackage', { package: 'AAAA' });
    await vi_waitFor(() => engine.holding === 1);
    const b = await post(app, '/unpackage', { package: 'AAAA' });
    expect(codeOf(b.body)).toBe('BUSY');
    engine.release();
    expect((await a).status).toBe(200);
    await app.close();
  });

  it('on close: waiting requests get SHUTTING_DOWN, the one in service is told to stop, new ones are refused', async () => {
    const { app, engine } = setup({ queueLength: 2 });
    engine.hold = true;
    const a = post(app, '/package', { contact: 'bob', text: 'a' });
    await vi_waitFor(() => engine.holding === 1);
    const b = post(app, '/package', { contact: 'bob', text: 'b' });
    await vi_waitFor(() => app.rpcQueue.waitingCount === 1);
    const closing = app.close();
    const [ra, rb] = await Promise.all([a, b]);
    // The fake engine answers an aborted wait as the real one does: CONFIRM_TIMEOUT, nothing committed.
    expect(codeOf(ra.body)).toBe('CONFIRM_TIMEOUT');
    expect(codeOf(rb.body)).toBe('SHUTTING_DOWN');
    expect(rb.status).toBe(503);
    expect(engine.calls).toHaveLength(1);
    expect(engine.calls[0]?.signal?.aborted).toBe(true);
    await closing;
  });
});

describe('logging', () => {
  it('logs method, path and status, never bodies, plaintext or packages', async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const engine = new FakeEngine();
    const app = build({ engine, config: config({ link: { logLevel: 'debug' } }), logStream });
    const secret = 'TOPSECRET-plaintext-4711';
    await post(app, '/package', { contact: 'bob', text: secret });
    await post(app, '/package', `{"contact":"bob","text": ${secret}}`);
    await post(app, '/package', { contact: 'bob', text: secret, extra: secret });
    engine.unpackageAnswer = () => unpackageResult(new TextEncoder().encode(secret));
    await post(app, '/unpackage', { package: b64(secret) });
    engine.fail = new Error(secret);
    await post(app, '/package', { contact: 'bob', text: 'x' });
    await app.close();
    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(5);
    expect(log).toContain('"statusCode":200');
    expect(log).toContain('unexpected fault');
    for (const needle of [secret, b64(secret), Buffer.from(secret).reverse().toString('base64'), 'TOPSECRET']) {
      expect(log).not.toContain(needle);
    }
  });
});

describe('timeouts', () => {
  it('the socket idle timeout outlasts every waiting request timing out in turn, plus the margin', () => {
    const cfg = parseConfig({
      dataDir: '/x',
      confirm: { timeoutMs: 60_000, queueLength: 4 },
      link: { responseMarginMs: 30_000, headersTimeoutMs: 5000, requestTimeoutMs: 20_000 },
    });
    expect(serverTimeouts(cfg)).toEqual({
      connectionTimeout: 5 * 60_000 + 30_000,
      headersTimeout: 5000,
      requestTimeout: 20_000,
      keepAliveTimeout: 5000,
    });
  });
});

async function vi_waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}
