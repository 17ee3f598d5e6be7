/**
 * Multiplexed pipe channels on loopback (client/pipe-channel.ts): two simulated devices, an -e and a -d end of
 * `onepad pipe`, joined through the pipe relay or a hostile proxy. Many streams over one channel; one stream reset
 * while another goes on; a dropped, a flipped or a frozen wire ends every stream with its own coded error.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runPipe } from '../../client/pipe-cli.js';
import { channelId, joinRelay, RELAY_MAGIC, startPipeRelay } from '../../client/pipe-relay.js';
import { openTap } from '../../client/pipe-tap.js';
import { isOnepadError } from '../../device/errors.js';
import { makePair, type Pair } from '../helpers/engine-fixture.js';
import { startLink, startPipe } from './pipe-world.js';
import { SessionScreen } from './session-helpers.js';

const IP = '127.0.0.1';
let cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** Echo, except a connection whose first bytes are `RESET` is reset at once. */
async function startTarget(): Promise<{ server: Server; port: number }> {
  const server = createServer({ noDelay: true, allowHalfOpen: true }, (s: Socket) => {
    s.on('error', () => undefined);
    s.once('data', (c: Buffer) => {
      if (c.subarray(0, 5).toString() === 'RESET') {
        s.resetAndDestroy();
        return;
      }
      s.write(c);
      s.pipe(s);
    });
  });
  await new Promise<void>((r) => server.listen(0, IP, () => r()));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { server, port: (server.address() as { port: number }).port };
}

/**
 * A man in the middle between the two laptops: forwards both ways, and may `tamper` with each package from the -e
 * end (u32 length + package), by index: return it changed, null to drop it. `freeze()` stops forwarding.
 */
async function startProxy(to: number, tamper: (i: number, pkg: Buffer) => Buffer | null) {
  let frozen = false;
  const server = createServer((a) => {
    const b = connect({ host: IP, port: to });
    a.on('error', () => b.destroy());
    b.on('error', () => a.destroy());
    let buf = Buffer.alloc(0);
    let i = 0;
    a.on('data', (c: Buffer) => {
      if (frozen) return;
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const n = buf.readUInt32BE(0);
        const pkg = buf.subarray(4, 4 + n);
        buf = buf.subarray(4 + n);
        if (n === 0) continue;
        const out = tamper(i++, Buffer.from(pkg));
        if (out) {
          const len = Buffer.alloc(4);
          len.writeUInt32BE(out.length);
          b.write(Buffer.concat([len, out]));
        }
      }
    });
    b.on('data', (c: Buffer) => {
      if (!frozen) a.write(c);
    });
  });
  await new Promise<void>((r) => server.listen(0, IP, () => r()));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as { port: number }).port, freeze: () => (frozen = true) };
}

async function devices(size = 32 << 20) {
  const pair: Pair = makePair(size);
  cleanups.push(() => pair.cleanup());
  const a = await startLink(pair, 'A', IP, new SessionScreen());
  const b = await startLink(pair, 'B', IP, new SessionScreen());
  cleanups.push(
    () => a.server.close(),
    () => b.server.close(),
  );
  return { a, b };
}

/** `onepad pipe` in this process without waiting for it to listen (a -d end at the relay listens nowhere). */
function runPipeEnd(argv: string[]) {
  const ac = new AbortController();
  let err = '';
  const stderr = new PassThrough();
  stderr.on('data', (c) => {
    err += c;
  });
  const exit = runPipe({ argv, stdout: new PassThrough(), stderr, signal: ac.signal, stdin: new PassThrough() });
  return {
    stderr: () => err,
    exit,
    stop: () => {
      ac.abort();
      return exit;
    },
  };
}

function dialPlain(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect({ host: IP, port }, () => resolve(s));
    s.setNoDelay(true);
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
        s.off('close', onClose);
        resolve(Buffer.concat(chunks));
      }
    };
    const onClose = () => reject(new Error(`closed after ${got} bytes`));
    s.on('data', on);
    s.once('close', onClose);
  });
}

function closed(s: Socket): Promise<void> {
  return new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));
}

async function waitUntil(f: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function interactive(s: Socket, keys: string): Promise<void> {
  for (const k of keys) {
    s.write(k);
    expect((await readN(s, 1)).toString()).toBe(k);
  }
}

async function bulk(s: Socket, n: number): Promise<boolean> {
  const data = Buffer.alloc(n);
  for (let i = 0; i < n; i++) data[i] = (i * 131 + (i >> 9)) & 0xff;
  const back = readN(s, n);
  s.write(data);
  return (await back).equals(data);
}

/** The -d and -e ends over a direct wire (the -e end dials `wirePort(dPort)`). */
async function directEnds(extra: string[] = [], wirePort: (d: number) => Promise<number> = async (d) => d) {
  const { a, b } = await devices();
  const t = await startTarget();
  const d = await startPipe([
    '-d',
    '--mux',
    '-s',
    `${IP}:0`,
    '-t',
    `${IP}:${t.port}`,
    '--contact',
    'alice',
    '--device',
    b.url,
    ...extra,
  ]);
  cleanups.push(() => d.stop());
  const port = await wirePort(d.port);
  const e = await startPipe([
    '-e',
    '--mux',
    '-s',
    `${IP}:0`,
    '-t',
    `${IP}:${port}`,
    '--contact',
    'bob',
    '--device',
    a.url,
    ...extra,
  ]);
  cleanups.push(() => e.stop());
  return { a, b, d, e };
}

describe('pipe channels (loopback)', () => {
  it('through the pipe relay: an interactive stream and a bulk transfer at once over one channel', async () => {
    const { a, b } = await devices();
    const relay = await startPipeRelay({ address: IP, port: 0 });
    cleanups.push(() => relay.close());
    const t = await startTarget();
    const r = `${IP}:${relay.port}`;
    // The -d end joins first and waits at the relay; its plaintext side is -t.
    const d = runPipeEnd([
      '-d',
      '--relay',
      r,
      '--channel',
      'alice-bob',
      '-t',
      `${IP}:${t.port}`,
      '--contact',
      'alice',
      '--device',
      b.url,
    ]);
    cleanups.push(() => d.stop());
    const e = await startPipe([
      '-e',
      '--relay',
      r,
      '--channel',
      'alice-bob',
      '-s',
      `${IP}:0`,
      '--contact',
      'bob',
      '--device',
      a.url,
    ]);
    cleanups.push(() => e.stop());
    expect(relay.counts.paired).toBe(1);
    const [ssh, big] = await Promise.all([dialPlain(e.port), dialPlain(e.port)]);
    const [ok] = await Promise.all([bulk(big, 2 << 20), interactive(ssh, 'ls -la\n')]);
    expect(ok).toBe(true);
    ssh.end();
    big.end();
    await waitUntil(() => (e.stderr().match(/stream [0-9a-f]{16} ended/g) ?? []).length === 2);
    // One channel at the relay carried both streams.
    expect(relay.counts.paired).toBe(1);
    expect(relay.counts.active).toBe(1);
    expect(e.stderr()).toMatch(/channel open/);
    expect(e.stderr().match(/channel open/g)).toHaveLength(1);
  }, 120_000);

  it('a stream reset by its target ends that stream with PIPE_STREAM_RESET; the other goes on', async () => {
    const { e, d } = await directEnds();
    const ssh = await dialPlain(e.port);
    await interactive(ssh, 'ab');
    const bad = await dialPlain(e.port);
    bad.write('RESET');
    await closed(bad);
    await waitUntil(() => /failed: PIPE_STREAM_RESET \(reason=local-failed by=other side\)/.test(e.stderr()));
    expect(d.stderr()).toMatch(/failed: PIPE_BROKEN \(reason=local stream failed\)/);
    await interactive(ssh, 'cd\n');
    const big = await dialPlain(e.port);
    expect(await bulk(big, 256 << 10)).toBe(true);
    expect(e.stderr()).not.toMatch(/channel ended/);
  }, 120_000);

  it('a target that refuses: the stream is reset with target-refused', async () => {
    const { a, b } = await devices();
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, IP, () => r()));
    const port = (free.address() as { port: number }).port;
    await new Promise((r) => free.close(r));
    const d = await startPipe([
      '-d',
      '--mux',
      '-s',
      `${IP}:0`,
      '-t',
      `${IP}:${port}`,
      '--contact',
      'alice',
      '--device',
      b.url,
    ]);
    cleanups.push(() => d.stop());
    const e = await startPipe([
      '-e',
      '--mux',
      '-s',
      `${IP}:0`,
      '-t',
      `${IP}:${d.port}`,
      '--contact',
      'bob',
      '--device',
      a.url,
    ]);
    cleanups.push(() => e.stop());
    const s = await dialPlain(e.port);
    s.write('x');
    await closed(s);
    await waitUntil(() => /failed: PIPE_STREAM_RESET \(reason=target-refused by=other side\)/.test(e.stderr()));
  }, 60_000);

  it.each([
    ['a dropped package', (i: number, p: Buffer) => (i === 6 ? null : p), /MALFORMED \(reason=pipe frame out of order/],
    [
      'a flipped bit',
      (i: number, p: Buffer) => {
        if (i === 6) p[p.length - 20] = (p[p.length - 20] as number) ^ 1;
        return p;
      },
      /MAC_INVALID/,
    ],
    [
      'a replayed package',
      (() => {
        let keep: Buffer | null = null;
        return (i: number, p: Buffer) => {
          if (i === 2) keep = Buffer.from(p);
          return i === 6 && keep ? keep : p;
        };
      })(),
      /REPLAY|MALFORMED/,
    ],
  ] as const)(
    '%s on the wire ends every stream of the channel with a coded error',
    async (_name, tamper, re) => {
      const { e, d } = await directEnds([], async (dPort) => (await startProxy(dPort, tamper)).port);
      const one = await dialPlain(e.port);
      const two = await dialPlain(e.port);
      await interactive(one, 'a');
      await interactive(two, 'b');
      // More keystrokes until the tampered package comes by.
      const more = (async () => {
        try {
          for (let k = 0; k < 20; k++) await interactive(one, 'x');
        } catch {
          // the stream ended
        }
      })();
      await waitUntil(() => (d.stderr().match(/stream [0-9a-f]{16} failed: /g) ?? []).length >= 2);
      const lines = d.stderr().match(/stream [0-9a-f]{16} failed: .*/g) ?? [];
      expect(lines).toHaveLength(2);
      for (const l of lines) expect(l).toMatch(re);
      // The -e end learns the code from the -d end's notice.
      await waitUntil(() => (e.stderr().match(/stream [0-9a-f]{16} failed: PIPE_PEER_FAILED/g) ?? []).length === 2);
      await more;
    },
    120_000,
  );

  it('a frozen wire: the keepalive ends every stream with PIPE_KEEPALIVE_TIMEOUT', async () => {
    let proxy: Awaited<ReturnType<typeof startProxy>> | null = null;
    const { e } = await directEnds(['--keepalive', '2'], async (dPort) => {
      proxy = await startProxy(dPort, (_i, p) => p);
      return proxy.port;
    });
    const one = await dialPlain(e.port);
    await interactive(one, 'a');
    // Idle for longer than three intervals (the dead time): only the keepalives keep it open.
    await new Promise((r) => setTimeout(r, 7000));
    expect(e.stderr()).not.toMatch(/failed/);
    await interactive(one, 'b');
    (proxy as unknown as { freeze(): void }).freeze();
    await waitUntil(() => /stream [0-9a-f]{16} failed: PIPE_KEEPALIVE_TIMEOUT/.test(e.stderr()), 30_000);
    expect(await e.exit).toBe(2);
  }, 120_000);
});

describe('pipe relay', () => {
  it('pairs two ends of a channel and times out a lonely one', async () => {
    const relay = await startPipeRelay({ address: IP, port: 0, waitMs: 300 });
    cleanups.push(() => relay.close());
    const at = { host: IP, port: relay.port };
    const [x, y] = await Promise.all([joinRelay(at, 'c1'), joinRelay(at, 'c1')]);
    x.resume();
    y.write('hello');
    y.resume();
    const got = await new Promise<string>((r) => x.once('data', (c: Buffer) => r(c.toString())));
    expect(got).toBe('hello');
    const lonely = await joinRelay(at, 'c2').catch((e) => e);
    expect(isOnepadError(lonely) && lonely.code === 'PIPE_RELAY_FAILED' && lonely.details.reason).toBe('nobody came');
    x.destroy();
    y.destroy();
  });

  it('a bad hello is refused without pairing', async () => {
    const relay = await startPipeRelay({ address: IP, port: 0 });
    cleanups.push(() => relay.close());
    const s = connect({ host: IP, port: relay.port });
    s.write(Buffer.concat([Buffer.from('XXXX'), channelId('c')]));
    const answer = await new Promise<number>((r) => s.once('data', (c: Buffer) => r(c[0] as number)));
    expect(answer).toBe(4);
    expect(channelId('c')).toHaveLength(32);
    expect(RELAY_MAGIC.toString()).toBe('OPR1');
    s.destroy();
  });
});

describe('pipe --tap, without making an interface', () => {
  it('refuses a bad or taken interface name with a code', async () => {
    const bad = await openTap('no such/name').catch((e) => e);
    expect(isOnepadError(bad) && bad.code).toBe('INVALID_ARGUMENT');
    const taken = await openTap('lo').catch((e) => e);
    expect(isOnepadError(taken) && taken.code).toBe('PIPE_TAP_FAILED');
    expect(taken.details.reason).toBe('name taken');
  });
});
