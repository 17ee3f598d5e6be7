/**
 * Real sockets on loopback: binding, the peer check at connection level, timeouts, and the host client.
 */
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../device/config/config.js';
import { OnepadError } from '../../device/errors.js';
import { LinkClient } from '../../rpc/client.js';
import { build, isWildcard, listen } from '../../rpc/server.js';
import { FakeEngine } from './fake-engine.js';

function config(link: Record<string, unknown> = {}, queueLength = 2): Config {
  return parseConfig({
    dataDir: '/nonexistent/unused',
    engine: { maxMessageLength: 1000 },
    confirm: { queueLength, timeoutMs: 1000 },
    link: { address: '127.0.0.1', peer: '127.0.0.1', ...link },
  });
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(link: Record<string, unknown> = {}, queueLength = 2) {
  const engine = new FakeEngine();
  const cfg = config(link, queueLength);
  const app = build({ engine, config: cfg });
  cleanups.push(() => app.close());
  const bound = await listen(app, cfg.link, { simulated: false, port: 0 });
  return { app, engine, ...bound, url: `http://${cfg.link.address}:${bound.port}` };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof OnepadError) return e.code;
    throw e;
  }
}

describe('binding', () => {
  it('binds to the link address only', async () => {
    const { port, url } = await start();
    expect((await new LinkClient({ url }).package('bob', { text: 'hi' })).contact).toBe('bob');
    // 127.0.0.2 is the same loopback interface, but not the bound address.
    const other = new LinkClient({ url: `http://127.0.0.2:${port}` });
    await expect(other.package('bob', { text: 'hi' })).rejects.toMatchObject({
      code: 'LINK_UNREACHABLE',
      details: { reason: 'ECONNREFUSED' },
    });
  });

  it.each(['0.0.0.0', '::', '0:0:0:0:0:0:0:0', '::0'])('refuses the wildcard %s on a real device', async (address) => {
    expect(isWildcard(address)).toBe(true);
    const app = build({ engine: new FakeEngine(), config: config() });
    cleanups.push(() => app.close());
    await expect(listen(app, { ...config().link, address }, { simulated: false, port: 0 })).rejects.toMatchObject({
      code: 'LINK_ADDRESS_REFUSED',
    });
    expect(app.server.listening).toBe(false);
  });

  it('refuses an address that is not an IP', async () => {
    const app = build({ engine: new FakeEngine(), config: config() });
    cleanups.push(() => app.close());
    await expect(
      listen(app, { ...config().link, address: 'localhost' }, { simulated: false, port: 0 }),
    ).rejects.toMatchObject({
      code: 'LINK_ADDRESS_REFUSED',
    });
    expect(isWildcard('127.0.0.1')).toBe(false);
    expect(isWildcard('::1')).toBe(false);
  });
});

describe('the peer check on real connections', () => {
  it('drops connections from any other source address; answers the peer', async () => {
    const { url, engine } = await start({ peer: '127.0.0.2' });
    expect(await codeOf(new LinkClient({ url, localAddress: '127.0.0.1' }).package('bob', { text: 'x' }))).toBe(
      'LINK_UNREACHABLE',
    );
    expect(await codeOf(new LinkClient({ url, localAddress: '127.0.0.3' }).unpackage('AAAA'))).toBe('LINK_UNREACHABLE');
    expect(engine.calls).toHaveLength(0);
    const r = await new LinkClient({ url, localAddress: '127.0.0.2' }).package('bob', { text: 'x' });
    expect(r.contact).toBe('bob');
  });
});

function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', reject);
  });
}

describe('timeouts', () => {
  it('a client trickling bytes does not hold up the next one, and is cut off after requestTimeoutMs', async () => {
    const { port, url } = await start({ requestTimeoutMs: 2000, headersTimeoutMs: 2000 });
    const slow = await rawConnect(port);
    let received = '';
    slow.on('data', (d) => {
      received += String(d);
    });
    const closed = new Promise<number>((resolve) => slow.on('close', () => resolve(Date.now())));
    const t0 = Date.now();
    slow.write(
      `POST /package HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{`,
    );
    const trickle = setInterval(() => {
      if (!slow.destroyed) slow.write(' ');
    }, 100);
    cleanups.push(() => clearInterval(trickle));
    // The next client is served at once, while the slow one is still trickling.
    const t1 = Date.now();
    const r = await new LinkClient({ url }).package('bob', { text: 'next' });
    expect(r.contact).toBe('bob');
    // Well before the slow one is cut off at 2 s: it was never waiting behind it.
    expect(Date.now() - t1).toBeLessThan(1500);
    const end = await closed;
    clearInterval(trickle);
    expect(end - t0).toBeGreaterThanOrEqual(1900);
    expect(end - t0).toBeLessThan(5000);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a client that never finishes its headers is cut off after headersTimeoutMs', async () => {
    const { port } = await start({ headersTimeoutMs: 500, requestTimeoutMs: 5000 });
    const slow = await rawConnect(port);
    const t0 = Date.now();
    let received = '';
    slow.on('data', (d) => {
      received += String(d);
    });
    const closed = new Promise<number>((resolve) => slow.on('close', () => resolve(Date.now())));
    slow.write(`POST /package HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    const end = await closed;
    expect(end - t0).toBeGreaterThanOrEqual(400);
    expect(end - t0).toBeLessThan(3000);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a slow human is not a timeout: an answer after longer than every receive timeout still arrives', async () => {
    const { url, engine } = await start({ requestTimeoutMs: 300, headersTimeoutMs: 300, keepAliveTimeoutMs: 300 });
    engine.hold = true;
    const p = new LinkClient({ url }).package('bob', { text: 'think it over' });
    setTimeout(() => engine.release(), 1500);
    const r = await p;
    expect(r.contact).toBe('bob');
  });
});

describe('the host client', () => {
  it('is told DENIED and CONFIRM_TIMEOUT with their codes and details', async () => {
    const { url, engine } = await start();
    const client = new LinkClient({ url });
    engine.fail = new OnepadError('DENIED');
    await expect(client.package('bob', { text: 'x' })).rejects.toMatchObject({ code: 'DENIED', status: 403 });
    engine.fail = new OnepadError('CONFIRM_TIMEOUT', { waitedMs: 60000 });
    await expect(client.package('bob', { text: 'x' })).rejects.toMatchObject({
      code: 'CONFIRM_TIMEOUT',
      details: { waitedMs: 60000 },
    });
    engine.fail = new OnepadError('MAC_INVALID');
    await expect(client.unpackage('AAAA')).rejects.toMatchObject({ code: 'MAC_INVALID' });
  });

  it('gets BUSY when the queue is full', async () => {
    const { url, engine } = await start({}, 0);
    engine.hold = true;
    const client = new LinkClient({ url });
    const first = client.package('bob', { text: 'a' });
    while (engine.holding === 0) await new Promise((r) => setTimeout(r, 5));
    await expect(client.package('bob', { text: 'b' })).rejects.toMatchObject({ code: 'BUSY' });
    engine.release();
    await expect(first).resolves.toMatchObject({ contact: 'bob' });
  });

  it('a flood of 40 clients on real connections: each is answered (4 served, the rest BUSY); the server stays up', async () => {
    const { url, engine } = await start({ maxConnections: 64 }, 3);
    engine.hold = true;
    const client = new LinkClient({ url });
    let busy = 0;
    const flood = Array.from({ length: 40 }, (_, i) =>
      codeOf(client.package('bob', { text: `m${i}` })).then((c) => {
        if (c === 'BUSY') busy++;
        return c;
      }),
    );
    // Nothing is released before every request got its place or its BUSY.
    for (let i = 0; i < 1000 && busy < 36; i++) await new Promise((r) => setTimeout(r, 10));
    const releaser = setInterval(() => engine.release(), 20);
    cleanups.push(() => clearInterval(releaser));
    const codes = await Promise.all(flood);
    clearInterval(releaser);
    expect(codes.filter((c) => c === 'ok')).toHaveLength(4);
    expect(codes.filter((c) => c === 'BUSY')).toHaveLength(36);
    engine.hold = false;
    expect(await codeOf(client.unpackage('AAAA'))).toBe('ok');
  });

  it('BAD_RESPONSE for answers outside the protocol; LINK_UNREACHABLE for a closed port or a silent device', async () => {
    const answers = [
      { status: 200, body: 'not json' },
      { status: 200, body: '{"package": 5}' },
      { status: 403, body: '{"error":{"code":"DENIED","message":"m","details":{}}}' }, // wrong status for DENIED
      { status: 500, body: '{"error":{"code":"NO_SUCH_CODE","message":"m","details":{}}}' },
    ];
    let i = 0;
    const fake: Server = createServer((_req, res) => {
      const a = answers[i++ % answers.length] as { status: number; body: string };
      if (a.body === 'silence') return;
      res.writeHead(a.status === 403 ? 400 : a.status, { 'content-type': 'application/json' }).end(a.body);
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => fake.close(r)));
    const port = (fake.address() as { port: number }).port;
    const client = new LinkClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 300 });
    for (let k = 0; k < answers.length; k++)
      expect(await codeOf(client.package('bob', { text: 'x' }))).toBe('BAD_RESPONSE');
    answers.splice(0, answers.length, { status: 200, body: 'silence' });
    i = 0;
    expect(await codeOf(client.package('bob', { text: 'x' }))).toBe('LINK_UNREACHABLE');
    fake.closeAllConnections();
    expect(await codeOf(new LinkClient({ url: 'http://127.0.0.1:1' }).unpackage('AAAA'))).toBe('LINK_UNREACHABLE');
  });

  it('refuses a bad URL, timeout or package argument', () => {
    expect(() => new LinkClient({ url: 'not a url' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new LinkClient({ url: 'https://10.254.0.1' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => new LinkClient({ url: 'http://10.254.0.1', timeoutMs: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const c = new LinkClient({ url: 'http://127.0.0.1:1' });
    return expect(c.unpackage('not base64!')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
