import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EXTRACTOR_SEED_BYTES,
  extractorShape,
  ToeplitzExtractor,
  ToeplitzWords,
  toeplitzReference,
} from '../../hrng/toeplitz.js';

const xor = (a: Uint8Array, b: Uint8Array) => a.map((v, i) => v ^ (b[i] as number));

/** Shapes small enough for the bit-by-bit reference; kBits = input bits, epsilon 2^-1 so any m fits. */
const shapeArb = fc
  .record({ inWords: fc.integer({ min: 1, max: 24 }), outWords: fc.integer({ min: 1, max: 12 }) })
  .map(({ inWords, outWords }) => ({
    inBytes: 4 * inWords,
    outBytes: 4 * Math.min(outWords, inWords),
    kBits: 32 * inWords,
    epsilonLog2: 0,
  }))
  .filter((s) => s.outBytes * 8 <= s.kBits);

describe('Toeplitz extractor', () => {
  for (const [name, Ex] of [
    ['WebAssembly SIMD', ToeplitzExtractor],
    ['32-bit word', ToeplitzWords],
  ] as const) {
    it(`the ${name} form equals the bit-by-bit definition (property)`, () => {
      fc.assert(
        fc.property(shapeArb, fc.uint8Array({ minLength: 256, maxLength: 256 }), fc.nat(), (shape, seed, s) => {
          const ex = new Ex(seed, shape);
          const input = Uint8Array.from({ length: shape.inBytes }, (_, i) => (s * 2654435761 + i * 40503) >>> 13);
          expect(ex.extract(input)).toEqual(toeplitzReference(seed, input, shape.outBytes * 8));
        }),
        { numRuns: 150 },
      );
    });
  }

  it('many blocks at once (SIMD, batches of 1024) equal the 32-bit word form block by block, every shape H = 8..0.3', () => {
    for (const h of [8, 7, 6, 5, 4, 3, 2, 1, 0.5, 0.3]) {
      const shape = extractorShape(h);
      const seed = randomBytes(EXTRACTOR_SEED_BYTES);
      const simd = new ToeplitzExtractor(seed, shape);
      const words = new ToeplitzWords(seed, shape);
      const blocks = h >= 4 ? 2500 : 40; // past one batch of 1024 where blocks are small
      const x = randomBytes(blocks * shape.inBytes);
      const out = new Uint8Array(blocks * shape.outBytes + 3);
      simd.extractBlocks(x, out, 3);
      for (const b of [0, 1, 1023, 1024, blocks - 1]) {
        if (b >= blocks) continue;
        const want = words.extract(x.subarray(b * shape.inBytes, (b + 1) * shape.inBytes));
        expect(out.subarray(3 + b * shape.outBytes, 3 + (b + 1) * shape.outBytes)).toEqual(want);
      }
      expect(() => simd.extractBlocks(x.subarray(1), out)).toThrow(RangeError);
    }
  });

  it('equals the definition for the production shapes (H = 8, 4, 2) on random blocks', () => {
    for (const h of [8, 4, 2]) {
      const shape = extractorShape(h);
      const seed = randomBytes(EXTRACTOR_SEED_BYTES);
      const ex = new ToeplitzExtractor(seed, shape);
      for (let k = 0; k < 3; k++) {
        const x = randomBytes(shape.inBytes);
        expect(ex.extract(x)).toEqual(toeplitzReference(seed, x, shape.outBytes * 8));
      }
    }
  });

  it('is linear over GF(2): T(x ^ y) = T x ^ T y, and T 0 = 0 (property)', () => {
    const shape = extractorShape(4);
    const ex = new ToeplitzExtractor(randomBytes(EXTRACTOR_SEED_BYTES), shape);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: shape.inBytes, maxLength: shape.inBytes }),
        fc.uint8Array({ minLength: shape.inBytes, maxLength: shape.inBytes }),
        (x, y) => {
          expect(ex.extract(xor(x, y))).toEqual(xor(ex.extract(x), ex.extract(y)));
        },
      ),
      { numRuns: 100 },
    );
    expect(ex.extract(new Uint8Array(shape.inBytes)).every((b) => b === 0)).toBe(true);
  });

  it('a single input bit gives its matrix column: seed bits s[n-1-j .. n-1-j+m)', () => {
    const shape = { inBytes: 8, outBytes: 4, kBits: 64, epsilonLog2: 0 };
    const seed = randomBytes(16);
    const ex = new ToeplitzExtractor(seed, shape);
    const bit = (t: number) => ((seed[t >> 3] as number) >> (t & 7)) & 1;
    for (const j of [0, 1, 7, 8, 33, 63]) {
      const x = new Uint8Array(8);
      x[j >> 3] = 1 << (j & 7);
      const y = ex.extract(x);
      for (let i = 0; i < 32; i++) expect(((y[i >> 3] as number) >> (i & 7)) & 1).toBe(bit(i - j + 63));
    }
  });

  it('output length is m = k - 2 log2(1/epsilon) rounded down to 32 bits, with epsilon = 2^-64 (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.3, max: 8, noNaN: true }), (h) => {
        const s = extractorShape(h);
        expect(s.epsilonLog2).toBe(64);
        expect(s.kBits).toBe(Math.floor(s.inBytes * h));
        expect(s.kBits).toBeGreaterThanOrEqual(1024);
        expect(s.outBytes * 8).toBeLessThanOrEqual(s.kBits - 128);
        expect(s.outBytes * 8).toBeGreaterThan(s.kBits - 128 - 32);
        expect(s.outBytes % 4).toBe(0);
        const ex = new ToeplitzExtractor(new Uint8Array(EXTRACTOR_SEED_BYTES), s);
        expect(ex.extract(new Uint8Array(s.inBytes)).length).toBe(s.outBytes);
      }),
      { numRuns: 60 },
    );
    expect(extractorShape(4)).toEqual({ inBytes: 256, outBytes: 112, kBits: 1024, epsilonLog2: 64 });
    expect(extractorShape(8)).toEqual({ inBytes: 128, outBytes: 112, kBits: 1024, epsilonLog2: 64 });
  });

  it('refuses when H is too low: more output than the lemma allows, or a claim too low to extract (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 64 }), fc.integer({ min: 1, max: 16 }), (inWords, extra) => {
        const kBits = 32 * inWords;
        const m = kBits - 128 + 32 * extra; // past k - 2 log2(1/epsilon)
        if (m < 32 || m > kBits) return;
        const shape = { inBytes: 4 * inWords, outBytes: m / 8, kBits, epsilonLog2: 64 };
        expect(() => new ToeplitzExtractor(new Uint8Array(EXTRACTOR_SEED_BYTES), shape)).toThrow(RangeError);
      }),
    );
    for (const h of [0, -1, 0.1, 0.25, 9, Number.NaN]) expect(() => extractorShape(h)).toThrow(RangeError);
    expect(() => new ToeplitzExtractor(new Uint8Array(10), extractorShape(4))).toThrow(/seed too short/);
    const ex = new ToeplitzExtractor(new Uint8Array(EXTRACTOR_SEED_BYTES), extractorShape(4));
    expect(() => ex.extract(new Uint8Array(255))).toThrow(RangeError);
  });
});
