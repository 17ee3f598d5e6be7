import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdaptiveProportionTest, RepetitionCountTest } from '../../hrng/health.js';

/** Reference: index of the first sample at which the RCT fails, or -1. */
function rctReference(xs: number[], cutoff: number): number {
  for (let i = 0; i < xs.length; i++) {
    let run = 1;
    while (i - run >= 0 && xs[i - run] === xs[i]) run++;
    if (run >= cutoff) return i;
  }
  return -1;
}

/** Reference: index of the first sample at which the APT fails, or -1. */
function aptReference(xs: number[], cutoff: number, window: number): number {
  for (let start = 0; start < xs.length; start += window) {
    let count = 0;
    for (let i = start; i < Math.min(start + window, xs.length); i++) {
      if (xs[i] === xs[start]) count++;
      if (count >= cutoff) return i;
    }
  }
  return -1;
}

function firstFailure(t: { feed(b: number): boolean }, xs: number[]): number {
  for (let i = 0; i < xs.length; i++) if (!t.feed(xs[i] as number)) return i;
  return -1;
}

describe('Repetition Count Test', () => {
  it('fails exactly at the cutoff-th identical sample', () => {
    const t = new RepetitionCountTest(5);
    expect([1, 7, 7, 7, 7].map((b) => t.feed(b))).toEqual([true, true, true, true, true]);
    expect(t.feed(7)).toBe(false);
    expect(t.failed).toBe(true);
    expect(t.feed(3)).toBe(false); // latched
    t.reset();
    expect(t.feed(3)).toBe(true);
  });

  it('agrees with a reference on random sequences (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 300 }),
        fc.integer({ min: 2, max: 8 }),
        (xs, c) => {
          expect(firstFailure(new RepetitionCountTest(c), xs)).toBe(rctReference(xs, c));
        },
      ),
    );
  });

  it('always catches a run of cutoff identical bytes anywhere (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 2, max: 12 }),
        (prefix, b, c) => {
          const t = new RepetitionCountTest(c);
          for (const x of prefix) t.feed(x);
          for (let i = 0; i < c; i++) t.feed(b);
          expect(t.failed).toBe(true);
        },
      ),
    );
  });
});

describe('Adaptive Proportion Test', () => {
  it('counts the first sample of each window, the first one included', () => {
    const t = new AdaptiveProportionTest(3, 8);
    // window 1: 5 appears twice (first + one) -> passes
    expect([5, 1, 5, 2, 3, 4, 6, 7].every((b) => t.feed(b))).toBe(true);
    // window 2: 9 appears at 0, 3, 6 -> fails at index 6 of the window
    const w2 = [9, 0, 1, 9, 2, 3, 9, 4];
    expect(w2.map((b) => t.feed(b))).toEqual([true, true, true, true, true, true, false, false]);
  });

  it('agrees with a reference on random sequences (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 400 }),
        fc.integer({ min: 2, max: 20 }),
        fc.integer({ min: 20, max: 64 }),
        (xs, c, w) => {
          expect(firstFailure(new AdaptiveProportionTest(c, w), xs)).toBe(aptReference(xs, c, w));
        },
      ),
    );
  });

  it('rejects bad parameters', () => {
    expect(() => new AdaptiveProportionTest(1, 512)).toThrow(RangeError);
    expect(() => new AdaptiveProportionTest(600, 512)).toThrow(RangeError);
    expect(() => new RepetitionCountTest(1)).toThrow(RangeError);
  });
});
