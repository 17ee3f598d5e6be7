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
import { FIPS_BLOCK_BYTES, fipsTestBlockReference } from '../../hrng/fips.js';
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

/** Bits (most significant first) from runs of the given lengths, alternating from `first`; padded with `pad`. */
function fromRuns(runs: readonly number[], first: number, nBytes: number, pad: () => number): Uint8Array {
  const out = new Uint8Array(nBytes);
  let bit = first;
  let pos = 0;
  for (const r of runs) {
    for (let k = 0; k < r && pos < nBytes * 8; k++, pos++)
      if (bit) out[pos >> 3] = (out[pos >> 3] as number) | (0x80 >> (pos & 7));
    bit ^= 1;
  }
  for (; pos < nBytes * 8; pos++) if (pad()) out[pos >> 3] = (out[pos >> 3] as number) | (0x80 >> (pos & 7));
  return out;
}

describe('adversarial inputs for the split walks (four chains at once)', () => {
  it('FIPS blocks: runs of any length across the quarter boundaries (625, 1250, 1875) = the bit-by-bit reference (property)', () => {
    const mem = new KernelMemory();
    const fast = new KernelFipsRate(mem, 30);
    const quarter = FIPS_BLOCK_BYTES / 4;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 48 }), { minLength: 1, maxLength: 4000 }),
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.array(
          fc.record({
            q: fc.integer({ min: 1, max: 3 }),
            back: fc.integer({ min: 0, max: 40 }),
            len: fc.integer({ min: 1, max: 60 }),
            bit: fc.integer({ min: 0, max: 1 }),
          }),
          { maxLength: 4 },
        ),
        (runs, first, seed, long) => {
          const rnd = prng(seed);
          const block = fromRuns(runs, first, FIPS_BLOCK_BYTES, () => (rnd() < 0.5 ? 1 : 0));
          // Runs placed to straddle a quarter boundary, ending up to 40 bits after it.
          for (const { q, back, len, bit } of long) {
            const start = q * quarter * 8 - len + back;
            for (let b = Math.max(0, start); b < Math.min(FIPS_BLOCK_BYTES * 8, start + len); b++) {
              if (bit) block[b >> 3] = (block[b >> 3] as number) | (0x80 >> (b & 7));
              else block[b >> 3] = (block[b >> 3] as number) & ~(0x80 >> (b & 7));
            }
          }
          fast.reset();
          fast.feedMany(block);
          expect(fast.monitor.last).toEqual(fipsTestBlockReference(block));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('FIPS blocks: all zeros, all ones, one long run ending at each quarter boundary', () => {
    const mem = new KernelMemory();
    const fast = new KernelFipsRate(mem, 30);
    const cases: Uint8Array[] = [new Uint8Array(FIPS_BLOCK_BYTES), new Uint8Array(FIPS_BLOCK_BYTES).fill(0xff)];
    for (const edge of [625, 1250, 1875]) {
      for (const before of [0, 1, 3, 4, 25, 26]) {
        const b = new Uint8Array(randomBytes(FIPS_BLOCK_BYTES));
        // 0xff from `before` bytes ahead of the boundary, then a 0 bit right at it.
        for (let i = edge - before; i < edge; i++) b[i] = 0xff;
        b[edge] = (b[edge] as number) & 0x7f;
        if (edge - before > 0) b[edge - before - 1] = (b[edge - before - 1] as number) & 0xfe;
        cases.push(b);
      }
    }
    for (const block of cases) {
      fast.reset();
      fast.feedMany(block);
      expect(fast.monitor.last).toEqual(fipsTestBlockReference(block));
    }
  });

  it('collision test: regular bit patterns (the quarters never agree) and random runs, any chunking (property)', () => {
    const mem = new KernelMemory();
    const patterns = [0x55, 0xaa, 0x33, 0xcc, 0x0f, 0x66, 0x99, 0x5a, 0x00, 0xff, 0x49, 0x92, 0x24];
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              kind: fc.constant('pattern'),
              v: fc.constantFrom(...patterns),
              n: fc.integer({ min: 1, max: 9000 }),
            }),
            fc.record({ kind: fc.constant('random'), v: fc.constant(0), n: fc.integer({ min: 1, max: 9000 }) }),
            fc.record({
              kind: fc.constant('runs'),
              v: fc.integer({ min: 1, max: 6 }),
              n: fc.integer({ min: 1, max: 9000 }),
            }),
          ),
          { minLength: 1, maxLength: 12 },
        ),
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.integer({ min: 1, max: 10_000 }),
        (parts, seed, maxChunk) => {
          const rnd = prng(seed);
          const chunks = parts.map(({ kind, v, n }) => {
            if (kind === 'pattern') return new Uint8Array(n).fill(v);
            if (kind === 'random') return new Uint8Array(randomBytes(n));
            const runs = Array.from({ length: n * 8 }, () => 1 + Math.floor(rnd() * v));
            return fromRuns(runs, 0, n, () => 0);
          });
          const data = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
          let o = 0;
          for (const c of chunks) {
            data.set(c, o);
            o += c.length;
          }
          const ref = new CollisionTest(30, 8);
          const fast = new KernelCollision(mem, 30, 8);
          const a = feedChunked(ref, data, prng(seed ^ 1), maxChunk);
          const b = feedChunked(fast, data, prng(seed ^ 2), maxChunk);
          const pick = (t: CollisionTest | KernelCollision) => {
            const { evaluations, maxShortFraction, estimate, minEstimate, failed } = t;
            return { evaluations, maxShortFraction, estimate, minEstimate, failed };
          };
          expect({ at: b, ...pick(fast) }).toEqual({ at: a, ...pick(ref) });
        },
      ),
      { numRuns: 150 },
    );
  });
});
