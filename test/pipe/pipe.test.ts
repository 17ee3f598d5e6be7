/**
 * `onepad pipe` end to end on loopback: -e and -d ends with two simulated devices, an echo service behind the
 * -d end; an interactive exchange, a bulk transfer, the stdin/stdout mode, and a hostile wire (a flipped bit, a
 * cut stream, a reordered stream) ending the stream with a clear error.
 */
import { connect, createServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runPipe } from '../../client/pipe-cli.js';
import { makePair, type Pair } from '../helpers/engine-fixture.js';
import { startEcho, startLink, startPipe } from './pipe-world.js';
import { SessionScreen } from './session-helpers.js';

const IP = '127.0.0.1';
let cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function world(pairSize = 8 << 20, padTo?: number, withE = true) {
  const pair: Pair = makePair(pairSize);
  cleanups.push(() => pair.cleanup());
  const a = await startLink(pair, 'A', IP, new SessionScreen());
  const b = await startLink(pair, 'B', IP, new SessionScreen());
  cleanups.push(
    () => a.server.close(),
    () => b.server.close(),
  );
  const echo = await startEcho(IP);
  cleanups.push(() => echo.server.close());
  const extra = padTo ? ['--pad-to', String(padTo)] : [];
  const d = await startPipe([
    '-d',
    '-s',
    `${IP}:0`,
    '-t',
    `${IP}:${echo.port}`,
    '--contact',
    'alice',
    '--device',
    b.url,
  ]);
  cleanups.push(() => d.stop());
  const e = withE
    ? await startPipe(['-e', '-s', `${IP}:0`, '-t', `${IP}:${d.port}`, '--contact', 'bob', '--device', a.url, ...extra])
    : null;
  if (e) cleanups.push(() => e.stop());
  return { pair, a, b, d, e: e as NonNullable<typeof e>, echo };
}

function dialPlain(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect({ host: IP, port }, () => resolve(s));
    s.setNoDelay(true);
    // The pipe destroys it when the stream breaks (the tests check why on the pipe's stderr).
    s.on('error', () => undefined);
  });
}

function readN(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const on = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        s.off('data', on);
        resolve(Buffer.concat(chunks));
      }
    };
    s.on('data', on);
    s.once('error', reject);
  });
}

describe('onepad pipe (loopback)', () => {
  it('an SSH-like interactive exchange: each keystroke comes back through both devices', async () => {
    const w = await world();
    const s = await dialPlain(w.e.port);
    for (const key of ['l', 's', ' ', '-', 'l', '\n']) {
      s.write(key);
      expect((await readN(s, 1)).toString()).toBe(key);
    }
    s.end();
    const va = w.a.engine.runningSessions()[0]!;
    expect(va.framesSent).toBeGreaterThanOrEqual(7);
  });

  it('a bulk transfer of 3 MiB arrives whole and in order', async () => {
    const w = await world(32 << 20);
    const s = await dialPlain(w.e.port);
    const data = Buffer.alloc(3 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 11)) & 0xff;
    const back = readN(s, data.length);
    s.write(data);
    const got = await back;
    expect(got.length).toBe(data.length);
    expect(got.equals(data)).toBe(true);
    s.end();
  }, 120_000);

  it('pads every frame when asked: the pad cost shows on the session', async () => {
    const w = await world(8 << 20, 1024);
    const s = await dialPlain(w.e.port);
    s.write('x');
    expect((await readN(s, 1)).toString()).toBe('x');
    const v = w.a.engine.runningSessions()[0]!;
    expect(v.frameSize).toBe(1024);
    // OPEN and one DATA frame, padded to 1024 each: at least 2 * 1056 bytes of pad.
    expect(v.usedBytes).toBeGreaterThanOrEqual(2 * 1056);
    s.end();
  });

  it('stdin/stdout mode (spipe) talks to a -d end', async () => {
    // Device A runs one session at a time: this one is the spipe's, no -e end.
    const w = await world(8 << 20, undefined, false);
    const stdin = new PassThrough();
    const out = new PassThrough();
    let got = '';
    out.on('data', (d) => {
      got += d;
    });
    const err = new PassThrough();
    let errText = '';
    err.on('data', (d) => {
      errText += d;
    });
    const code = runPipe({
      argv: ['-t', `${IP}:${w.d.port}`, '--contact', 'bob', '--device', w.a.url],
      stdout: new PassThrough(),
      stderr: err,
      signal: new AbortController().signal,
      stdin,
      plainOut: out,
    });
    stdin.end('hello through spipe\n');
    expect(await code, errText).toBe(0);
    expect(got).toBe('hello through spipe\n');
  });
});

describe('onepad pipe: a hostile wire between the laptops', () => {
  /** A man in the middle between the -e end and the -d end that rewrites what the -e end sends. */
  async function withMitm(rewrite: (chunk: Buffer, n: number) => Buffer | null) {
    const pair: Pair = makePair(4 << 20);
    cleanups.push(() => pair.cleanup());
    const a = await startLink(pair, 'A', IP, new SessionScreen());
    const b = await startLink(pair, 'B', IP, new SessionScreen());
    cleanups.push(
      () => a.server.close(),
      () => b.server.close(),
    );
    const echo = await startEcho(IP);
    cleanups.push(() => echo.server.close());
    const d = await startPipe([
      '-d',
      '-s',
      `${IP}:0`,
      '-t',
      `${IP}:${echo.port}`,
      '--contact',
      'alice',
      '--device',
      b.url,
    ]);
    cleanups.push(() => d.stop());
    const mitm = createServer((inner) => {
      const outer = connect({ host: IP, port: d.port });
      let n = 0;
      inner.on('data', (c: Buffer) => {
        const r = rewrite(c, n++);
        if (r === null) {
          outer.end();
          inner.destroy();
        } else outer.write(r);
      });
      outer.pipe(inner);
      outer.on('close', () => inner.destroy());
      outer.on('error', () => inner.destroy());
      inner.on('error', () => outer.destroy());
    });
    await new Promise<void>((r) => mitm.listen(0, IP, () => r()));
    cleanups.push(() => mitm.close());
    const port = (mitm.address() as { port: number }).port;
    const e = await startPipe(['-e', '-s', `${IP}:0`, '-t', `${IP}:${port}`, '--contact', 'bob', '--device', a.url]);
    cleanups.push(() => e.stop());
    return { d, e, b };
  }

  it('a flipped bit: the -d end refuses it (MAC_INVALID) and nothing of it reaches the service', async () => {
    const w = await withMitm((c, n) => {
      if (n === 1) c[c.length - 20] = (c[c.length - 20] as number) ^ 1;
      return c;
    });
    const s = await dialPlain(w.e.port);
    const closed = new Promise((r) => s.once('close', r));
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.write('first');
    await new Promise((r) => setTimeout(r, 300));
    s.write('second');
    await closed;
    expect(Buffer.concat(got).toString()).not.toContain('second');
    expect(w.d.stderr()).toContain('MAC_INVALID');
  });

  it('a stream cut before its EOF ends with PIPE_BROKEN', async () => {
    const w = await withMitm((c, n) => (n >= 2 ? null : c));
    const s = await dialPlain(w.e.port);
    const closed = new Promise((r) => s.once('close', r));
    s.on('data', () => undefined);
    s.write('a');
    await new Promise((r) => setTimeout(r, 300));
    s.write('b');
    await new Promise((r) => setTimeout(r, 300));
    s.write('c');
    await closed;
    expect(w.d.stderr()).toContain('PIPE_BROKEN');
  });
});
