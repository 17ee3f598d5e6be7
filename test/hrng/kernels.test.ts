/**
 * The WebAssembly-backed continuous tests (hrng/gate-kernels.ts) against their JavaScript references, fed the
 * same streams in different chunkings: every failure index and every counter must agree. The streams are the
 * faults the gate must catch (stuck, short and long periods, a repeated block, bias, a drift, a mid-stream
 * switch) and good data, so both sides of every cutoff are exercised.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CollisionTest, McvTest } from '../../hrng/estimate-tests.js';
import { FipsRateTest } from '../../hrng/fips-rate.js';
import {
  KernelApt,
  KernelCollision,
  KernelFipsRate,
  KernelMcv,
  KernelPeriodic,
  KernelRct,
  KernelRepeat,
} from '../../hrng/gate-kernels.js';
import { AdaptiveProportionTest, RepetitionCountTest } from '../../hrng/health.js';
import { KernelMemory } from '../../hrng/kernels.js';
import { PeriodicTest } from '../../hrng/periodic-test.js';
import { RepeatedBlockTest } from '../../hrng/repeat-test.js';

interface Fed {
  feedMany(b: Uint8Array, start?: number, end?: number): number;
}

/** Deterministic generator (xorshift32) so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Bytes with P(bit = 1) = p. */
function biased(n: number, p: number, rnd: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (let k = 0; k < 8; k++) if (rnd() < p) b |= 1 << k;
    out[i] = b;
  }
  return out;
}

/** Good bytes, then from `at` on a fault of the given kind. */
function stream(kind: number, n: number, at: number, seed: number): Uint8Array {
  const rnd = prng(seed);
  const good = new Uint8Array(randomBytes(n));
  const tail = n - at;
  let f: Uint8Array;
  switch (kind) {
    case 0: // good throughout
      return good;
    case 1: // stuck byte
      f = new Uint8Array(tail).fill(0x5a);
      break;
    case 2: {
      // period p
      const p = 2 + Math.floor(rnd() * 5000);
      const pat = randomBytes(p);
      f = Uint8Array.from({ length: tail }, (_, i) => pat[i % p] as number);
      break;
    }
    case 3: {
      // a 4 KiB block repeated
      const blk = randomBytes(4096);
      f = Uint8Array.from({ length: tail }, (_, i) => blk[i % 4096] as number);
      break;
    }
    case 4: // biased bits
      f = biased(tail, 0.5 + rnd() * 0.3, rnd);
      break;
    case 5: // counter
      f = Uint8Array.from({ length: tail }, (_, i) => i & 0xff);
      break;
    case 6: {
      // an earlier stretch replayed (within the repeat history)
      f = good.slice(Math.floor(rnd() * Math.max(1, at)), n).subarray(0, tail);
      if (f.length < tail) {
        const g = new Uint8Array(tail);
        g.set(f);
        f = g;
      }
      break;
    }
    default: // few values
      f = Uint8Array.from({ length: tail }, () => Math.floor(rnd() * 12));
  }
  good.set(f, at);
  return good;
}

/** Feed in chunks of random sizes (the same chunking for both sides is not required: each side its own). */
function feedChunked(t: Fed, data: Uint8Array, rnd: () => number, maxChunk: number): number {
  let o = 0;
  while (o < data.length) {
    const n = Math.min(data.length - o, 1 + Math.floor(rnd() * maxChunk));
    const at = t.feedMany(data, o, o + n);
    if (at >= 0) return at;
    o += n;
  }
  return -1;
}

type Pair = [string, () => [Fed, Fed], (t: Fed) => unknown];

const H = [8, 4, 2];

function pairs(h: number, mem: KernelMemory): Pair[] {
  return [
    [
      'rct',
      () => [RepetitionCountTest.forEntropy(60, h), new KernelRct(mem, 60, h)],
      (t) => ({ longestRun: (t as KernelRct).longestRun, failed: (t as KernelRct).failed }),
    ],
    [
      'apt',
      () => [AdaptiveProportionTest.forEntropy(60, h), new KernelApt(mem, 60, h)],
      (t) => ({ maxCount: (t as KernelApt).maxCount, failed: (t as KernelApt).failed }),
    ],
    [
      'periodic',
      () => [new PeriodicTest(30, h), new KernelPeriodic(mem, 30, h)],
      (t) => {
        const p = t as KernelPeriodic;
        return { length: p.length, candidates: p.candidates, period: p.period, failed: p.failed };
      },
    ],
    [
      'repeat',
      () => [new RepeatedBlockTest(1 << 16), new KernelRepeat(mem, 1 << 16)],
      (t) => {
        const r = t as KernelRepeat;
        return { blocks: r.blocks, repeats: r.repeats, failed: r.failed };
      },
    ],
    [
      'mcv',
      () => [new McvTest(30, h), new KernelMcv(mem, 30, h)],
      (t) => {
        const m = t as KernelMcv;
        const { cutoff, evaluations, maxCount, estimate, minEstimate, failed } = m;
        return { cutoff, evaluations, maxCount, estimate, minEstimate, failed };
      },
    ],
    [
      'collision',
      () => [new CollisionTest(30, h), new KernelCollision(mem, 30, h)],
      (t) => {
        const c = t as KernelCollision;
        const { evaluations, maxShortFraction, estimate, minEstimate, failed } = c;
        return { evaluations, maxShortFraction, estimate, minEstimate, failed };
      },
    ],
    [
      'fips-rate',
      () => [new FipsRateTest(30), new KernelFipsRate(mem, 30)],
      (t) => {
        const f = t as KernelFipsRate;
        const { blocks, blocksFailed, failures, lastFailed } = f.monitor;
        return {
          failedInWindow: f.failedInWindow,
          maxFailedInWindow: f.maxFailedInWindow,
          failed: f.failed,
          blocks,
          blocksFailed,
          failures: { ...failures },
          lastFailed,
        };
      },
    ],
  ];
}

describe('WebAssembly continuous tests equal their JavaScript references', () => {
  it('same failure index and counters on good data and every fault class, any chunking (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.integer({ min: 1, max: 70_000 }),
        (kind, hi, seed, maxChunk) => {
          const h = H[hi] as number;
          const n = 400_000;
          const rnd = prng(seed);
          const at = Math.floor(rnd() * n);
          const data = stream(kind, n, at, seed);
          const mem = new KernelMemory();
          for (const [name, make, counters] of pairs(h, mem)) {
            const [ref, fast] = make();
            const a = feedChunked(ref, data, prng(seed ^ 1), maxChunk);
            const b = feedChunked(fast, data, prng(seed ^ 2), maxChunk);
            expect({ name, at: b, ...(counters(fast) as object) }).toEqual({
              name,
              at: a,
              ...(counters(ref as unknown as Fed) as object),
            });
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 300_000);

  it('after reset both start over alike (a fault, reset, good data, the fault again)', () => {
    const mem = new KernelMemory();
    const bad = stream(2, 200_000, 50_000, 7);
    const good = new Uint8Array(randomBytes(200_000));
    for (const [name, make, counters] of pairs(4, mem)) {
      const [ref, fast] = make();
      for (const d of [bad, good, bad]) {
        const a = feedChunked(ref, d, prng(3), 5000);
        const b = feedChunked(fast, d, prng(4), 9000);
        expect({ name, at: b, ...(counters(fast) as object) }).toEqual({
          name,
          at: a,
          ...(counters(ref as unknown as Fed) as object),
        });
        (ref as unknown as { reset(): void }).reset();
        (fast as unknown as { reset(): void }).reset();
      }
    }
  });
});
