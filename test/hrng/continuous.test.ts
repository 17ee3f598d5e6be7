/**
 * The gate's own continuous tests one by one: what each catches and when, and that data meeting the claim does
 * not trip them. The >= 1 GB run of good data is `npm run test:hrng-1g` (test/hrng/good-1g.ts); here 16 MiB.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mcvCutoff, periodicRepeatLength } from '../../hrng/cutoffs.js';
import { CollisionTest, collisionEstimate, McvTest, mcvEstimate } from '../../hrng/estimate-tests.js';
import { FipsRateTest } from '../../hrng/fips-rate.js';
import { HealthGate } from '../../hrng/gate.js';
import { PeriodicTest } from '../../hrng/periodic-test.js';
import { RepeatedBlockTest } from '../../hrng/repeat-test.js';

describe('periodic-structure test', () => {
  it('catches every period from 1 to 4096 within period + L bytes of its start', () => {
    const good = randomBytes(20_000);
    for (const p of [1, 2, 7, 8, 9, 31, 64, 255, 256, 1000, 2049, 4095, 4096]) {
      const t = new PeriodicTest(30, 4);
      const d = Buffer.from(good);
      for (let i = 8000 + p; i < d.length; i++) d[i] = d[i - p] as number;
      const at = t.feedMany(d);
      expect(at).toBeGreaterThanOrEqual(8000 + p);
      expect(at).toBeLessThan(8000 + p + t.length + 64);
      expect(t.period % p).toBe(0);
    }
  });

  it('does not see a period past its reach (4097), which the repeated-block test covers', () => {
    const d = randomBytes(40_000);
    for (let i = 4097; i < d.length; i++) d[i] = d[i - 4097] as number;
    expect(new PeriodicTest(30, 4).feedMany(d)).toBe(-1);
  });

  it('L follows the stated false-alarm bound 2^30 x 4096 x 2^-HL <= 2^-30 per GiB', () => {
    expect(periodicRepeatLength(30, 4, 4096)).toBe(18);
    expect(periodicRepeatLength(30, 8, 4096)).toBe(9);
    for (const h of [1, 2, 3.5, 4, 8]) {
      const L = periodicRepeatLength(30, h, 4096);
      expect(30 + 12 - h * L).toBeLessThanOrEqual(-30);
      expect(30 + 12 - h * (L - 1)).toBeGreaterThan(-30);
    }
  });
});

describe('repeated-block test', () => {
  it('catches a block repeated anywhere within the history, at any chunking', () => {
    const history = 1 << 16;
    const data = randomBytes(3 * history);
    const t = new RepeatedBlockTest(history);
    // Copy block 5 to the last block that still lies within one history of it.
    const dst = 5 * 64 + history - 64;
    data.copy(data, dst, 5 * 64, 6 * 64);
    let at = -1;
    for (let o = 0; o < data.length && at < 0; o += 1000) {
      const r = t.feedMany(data, o, Math.min(data.length, o + 1000));
      if (r >= 0) at = r;
    }
    expect(at).toBe(dst + 63);
  });

  it('remembers at least the last historyBytes across generations', () => {
    const history = 1 << 14;
    const t = new RepeatedBlockTest(history);
    const data = randomBytes(10 * history);
    // Fill 2.5 generations, then repeat the block exactly `history` bytes back.
    const at = Math.floor(2.5 * history);
    data.copy(data, at, at - history, at - history + 64);
    expect(t.feedMany(data.subarray(0, at + 64))).toBe(at + 63);
  });
});

describe('sliding min-entropy tests', () => {
  it('MCV estimate and cutoff: SP 800-90B 6.3.1 formula; the cutoff is above what the claim allows', () => {
    // 6.3.1 example arithmetic: p = 0.5 over 1000 samples.
    expect(mcvEstimate(500, 1000)).toBeCloseTo(-Math.log2(0.5 + 2.576 * Math.sqrt(0.25 / 999)), 10);
    expect(mcvCutoff(30, 8, 65536, 4096)).toBeGreaterThan(256 + 8 * 16);
    const t = new McvTest(30, 4);
    const skew = randomBytes(200_000).map((b) => (b < 32 ? 0 : b)); // p(0) = 33/256: H = 2.96 < 4
    expect(t.feedMany(skew)).toBe(65535);
    expect(t.estimate).toBeLessThan(3);
  });

  it('collision estimate: SP 800-90B 6.3.2 for bits; p(1) = 0.75 under a claim of 8 fails', () => {
    // Perfect bits: mean 2.5, X' = 2.5 - 2.576 sigma / sqrt(v), p = 0.5 + sqrt(1.25 - 0.5 X').
    const lower = 2.5 - (2.576 * Math.sqrt((0.25 * 100_000) / 99_999)) / Math.sqrt(100_000);
    expect(collisionEstimate(50_000, 100_000)).toBeCloseTo(-8 * Math.log2(0.5 + Math.sqrt(1.25 - 0.5 * lower)), 10);
    expect(collisionEstimate(100_000, 100_000)).toBeCloseTo(0, 10);
    const u = new Uint16Array(randomBytes(40_000 * 16).buffer);
    const heavy = Uint8Array.from({ length: 40_000 }, (_, i) => {
      let v = 0;
      for (let k = 0; k < 8; k++) v = (v << 1) | ((u[i * 8 + k] as number) < 0.75 * 65536 ? 1 : 0);
      return v;
    });
    const t = new CollisionTest(30, 8);
    expect(t.feedMany(heavy)).toBe(16 * 1024 - 1);
    expect(t.estimate).toBeLessThan(4);
  });
});

describe('FIPS failure-rate test', () => {
  it('fails at the cutoff of failed blocks in the window, not before', () => {
    const t = new FipsRateTest(30);
    expect(t.cutoff).toBe(12);
    const good = randomBytes(2500 * 20);
    const zeros = new Uint8Array(2500);
    let at = -1;
    for (let k = 0; k < t.cutoff && at < 0; k++) at = t.feedMany(zeros);
    expect(at).toBe(2499);
    expect(t.failedInWindow).toBe(12);
    t.reset();
    expect(t.feedMany(good)).toBe(-1);
  });
});

describe('good data is never refused', () => {
  it('16 MiB of node:crypto bytes pass every test of a gate claiming H = 8 and one claiming H = 4', () => {
    const g8 = new HealthGate({ alphaLog2: 30, h: 8 });
    const g4 = new HealthGate({ alphaLog2: 30, h: 4 });
    let released = 0;
    for (let i = 0; i < 16; i++) {
      const chunk = randomBytes(1 << 20);
      const a = g8.push(chunk);
      const b = g4.push(chunk);
      expect(a.failure).toBeUndefined();
      expect(b.failure).toBeUndefined();
      released += a.released.length;
    }
    expect(released).toBe(15 << 20);
    const c = g8.counters();
    expect(c.repeat.blocks).toBe(1 << 18);
    expect(c.mcv.evaluations).toBeGreaterThan(4000);
  });
});
