/**
 * Fault streams through a real pseudo-terminal read by the real serialport binding: every fault class of
 * issue 13, starting mid-stream and inside a release window (and at the very start). In every one the filler
 * fails and latches, and pool.bin holds exactly the extraction of bytes from before the fault: nothing derived
 * from the bad part. Good data, through the same path, fills without a refusal.
 */
import { randomBytes } from 'node:crypto';
import { autoDetect } from '@serialport/bindings-cpp';
import { afterEach, describe, expect, it } from 'vitest';
import { Filler } from '../../hrng/filler.js';
import type { HealthTestName } from '../../hrng/health.js';
import { SerialSource } from '../../hrng/serial-source.js';
import { SimStream } from '../../hrng/sim-source.js';
import type { RawSource } from '../../hrng/source.js';
import { tmpPool } from './helpers.js';
import { expectPoolFrom } from './pipeline-model.js';
import { type PtyPair, startPty } from './pty.js';

const binding = autoDetect();
const H = 4; // the TrueRNG profile's claim
let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.reverse()) c();
  cleanups = [];
});

/** A fault starting here is mid-stream (past the 1 MiB holdback, so good bytes did reach the pool) and mid-window. */
const ONSET = (1 << 20) + 300_001;

function watchOpen(source: RawSource): { source: RawSource; opened: Promise<void> } {
  let done: () => void = () => {};
  const opened = new Promise<void>((r) => {
    done = r;
  });
  return {
    opened,
    source: {
      name: source.name,
      kind: source.kind,
      insecure: source.insecure,
      claimedH: source.claimedH,
      minBytesPerSecond: 0,
      open: async () => {
        await source.open();
        done();
      },
      read: (max) => source.read(max),
      close: () => source.close(),
      info: () => source.info(),
    },
  };
}

async function device(name = 'truerng') {
  const pty = await startPty(60);
  cleanups.push(pty.kill);
  const { source, opened } = watchOpen(new SerialSource(binding, { profile: 'truerng', path: pty.path, name }));
  return { pty, source, opened };
}

async function feed(pty: PtyPair, opened: Promise<void>, bytes: Uint8Array): Promise<void> {
  await opened;
  for (let o = 0; o < bytes.length; o += 1 << 20) await pty.write(bytes.subarray(o, o + (1 << 20)));
}

/** Bits with P(1) = p(i), i the byte index, from node:crypto randomness. */
function biasedBytes(n: number, p: (i: number) => number): Uint8Array {
  const u = new Uint16Array(randomBytes(n * 16).buffer);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const t = p(i) * 65536;
    let v = 0;
    for (let k = 0; k < 8; k++) v = (v << 1) | ((u[i * 8 + k] as number) < t ? 1 : 0);
    out[i] = v;
  }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function withFault(onset: number, faultLen: number, fault: (good: Uint8Array, i: number) => number): Uint8Array {
  const bytes = new SimStream(`fault-${onset}-${faultLen}`).next(onset + faultLen);
  for (let i = onset; i < bytes.length; i++) bytes[i] = fault(bytes, i);
  return bytes;
}

async function expectCaught(stream: Uint8Array, onset: number, tests: HealthTestName[], limit = onset) {
  const d = await device();
  const t = tmpPool(4 << 20);
  cleanups.push(t.cleanup);
  const f = new Filler({ sources: [d.source], pool: t.pool, events: t.events, chunkBytes: 4096 });
  const run = f.run();
  void feed(d.pty, d.opened, stream);
  const r = await run;
  expect(r.state).toBe('failed');
  expect(r.error?.code).toBe('HRNG_HEALTH_FAILED');
  expect(tests).toContain(r.error?.details.test);
  expect(Number(r.error?.details.sample)).toBeGreaterThanOrEqual(onset);
  expect(t.pool.latch()).toMatch(/^HRNG_HEALTH_FAILED:truerng:/);
  expectPoolFrom(t.root, t.pool.available(), stream, H, limit);
  if (onset > (1 << 20) + 20_000) expect(t.pool.available()).toBeGreaterThan(0); // good bytes before it did pool
  return { r, t };
}

describe('fault streams through a pty: nothing derived from the bad part reaches the pool', {
  timeout: 240_000,
}, () => {
  it('good data fills, and the pool is exactly the extraction of what the device sent', async () => {
    const d = await device();
    const t = tmpPool(4 << 20);
    cleanups.push(t.cleanup);
    const stream = new SimStream('good-pty').next(2 << 20);
    const f = new Filler({ sources: [d.source], pool: t.pool, events: t.events, chunkBytes: 65536 });
    const run = f.run({ bytes: 256 << 10 });
    void feed(d.pty, d.opened, stream);
    const r = await run;
    expect(r).toMatchObject({ state: 'full', appended: 256 << 10 });
    expectPoolFrom(t.root, 256 << 10, stream, H, stream.length);
    expect(t.pool.insecure).toBe(false);
  });

  for (const period of [8, 13, 100, 1000, 4096]) {
    it(`a pattern of period ${period} starting mid-window`, async () => {
      const stream = withFault(ONSET, 64 * 1024, (b, i) => b[ONSET + ((i - ONSET) % period)] as number);
      // The first period is fresh data; the bad part is where it starts repeating.
      const { r } = await expectCaught(stream, ONSET, ['periodic', 'repeat', 'apt', 'rct']);
      expect(Number(r.error?.details.sample)).toBeLessThan(ONSET + period + 64 + 18);
    });
  }

  // Past the periodic test's reach (4096): the repeated-block test, once an aligned 64-byte block recurs.
  for (const period of [4097, 65_536, 100_000]) {
    it(`a pattern of period ${period} starting mid-window`, async () => {
      const lcm = (period * 64) / gcd(period, 64);
      const stream = withFault(ONSET, period + lcm + 4096, (b, i) => b[ONSET + ((i - ONSET) % period)] as number);
      const { r } = await expectCaught(stream, ONSET, ['repeat']);
      expect(Number(r.error?.details.sample)).toBeLessThan(ONSET + period + lcm + 128);
    });
  }

  it('a 4 KiB block repeated forever (a stuck buffer)', async () => {
    const stream = withFault(ONSET, 256 * 1024, (b, i) => b[ONSET - 4096 + ((i - ONSET) % 4096)] as number);
    await expectCaught(stream, ONSET, ['periodic', 'repeat']);
  });

  it('a 4 KiB block repeated from the very start', async () => {
    const stream = withFault(4096, 256 * 1024, (b, i) => b[i % 4096] as number);
    await expectCaught(stream, 4096, ['periodic', 'repeat']);
  });

  it('an incrementing byte counter', async () => {
    const stream = withFault(ONSET, 64 * 1024, (_b, i) => (i - ONSET) & 0xff);
    await expectCaught(stream, ONSET, ['periodic', 'repeat', 'apt']);
  });

  it('an incrementing 32-bit little-endian counter', async () => {
    const stream = withFault(ONSET, 256 * 1024, (_b, i) => (((i - ONSET) >>> 2) >>> (8 * (i & 3))) & 0xff);
    await expectCaught(stream, ONSET, ['mcv', 'periodic', 'repeat', 'apt', 'collision', 'fips-rate']);
  });

  it('bits biased to p(1) = 0.51', async () => {
    const bad = biasedBytes(900_000, () => 0.51);
    const stream = withFault(ONSET, bad.length, (_b, i) => bad[i - ONSET] as number);
    await expectCaught(stream, ONSET, ['fips-rate', 'collision', 'mcv']);
  });

  it('p(1) drifting from 0.5 to 0.7: stops before the bias reaches 0.51', async () => {
    const len = 4 << 20;
    const p = (i: number) => 0.5 + (0.2 * i) / len;
    const bad = biasedBytes(len, p);
    const stream = withFault(ONSET, len, (_b, i) => bad[i - ONSET] as number);
    // A drift starts with no detectable change; the claim is that nothing from where p >= 0.51 is pooled.
    await expectCaught(stream, ONSET, ['fips-rate', 'collision', 'mcv'], ONSET + Math.ceil((0.01 * len) / 0.2));
  });

  it('two sources sending the same stream: their XOR is caught on the combined stream', async () => {
    const a = await device('a');
    const b = await device('b');
    const t = tmpPool(4 << 20);
    cleanups.push(t.cleanup);
    const own = new SimStream('two-a').next(ONSET);
    const ownB = new SimStream('two-b').next(ONSET);
    // Longer than a lane's holdback, so the identical part does leave the lanes and reach the combined gate.
    const same = new SimStream('two-same').next(1536 * 1024);
    const sa = new Uint8Array([...own, ...same]);
    const sb = new Uint8Array([...ownB, ...same]);
    const f = new Filler({ sources: [a.source, b.source], pool: t.pool, events: t.events, chunkBytes: 4096 });
    const run = f.run();
    void feed(a.pty, a.opened, sa);
    void feed(b.pty, b.opened, sb);
    const r = await run;
    expect(r.error?.details).toMatchObject({ source: 'combined', test: 'rct' });
    expect(Number(r.error?.details.sample)).toBeGreaterThanOrEqual(ONSET);
    expect(t.pool.latch()).toMatch(/^HRNG_HEALTH_FAILED:combined:rct/);
    const xor = sa.map((v, i) => v ^ (sb[i] as number));
    expectPoolFrom(t.root, t.pool.available(), xor, H, ONSET);
    expect(t.pool.available()).toBeGreaterThan(0);
  });
});
