import { describe, expect, it } from 'vitest';
import { APT_WINDOW_BYTES, aptCutoff, critBinom, rctCutoff } from '../../hrng/cutoffs.js';

describe('SP 800-90B cutoffs', () => {
  it('match the values the issue publishes for alpha = 2^-30', () => {
    expect(rctCutoff(30, 8)).toBe(5);
    expect(aptCutoff(30, 8)).toBe(16);
    expect(rctCutoff(30, 4)).toBe(9);
    expect(aptCutoff(30, 4)).toBe(71);
  });

  it('match SP 800-90B table 2 (W = 512, alpha = 2^-20) for non-binary samples', () => {
    // NIST SP 800-90B, section 4.4.2, table 2.
    expect([0.5, 1, 2, 4, 8].map((h) => aptCutoff(20, h, APT_WINDOW_BYTES))).toEqual([410, 311, 177, 62, 13]);
  });

  it('match the RCT example of SP 800-90B 4.4.1 (alpha = 2^-20, H = 2: C = 11)', () => {
    expect(rctCutoff(20, 2)).toBe(11);
  });

  it('CRITBINOM agrees with a direct tail sum on small cases', () => {
    // Binomial(10, 0.5): P(X > 8) = 11/1024 > 2^-7; P(X > 9) = 1/1024 <= 2^-7, so CRITBINOM = 9.
    expect(critBinom(10, 0.5, 7)).toBe(9);
    // P(X > 9) = 1/1024 > 2^-11; P(X > 10) = 0, so CRITBINOM = 10.
    expect(critBinom(10, 0.5, 11)).toBe(10);
    expect(critBinom(10, 0.5, 1)).toBe(5);
  });

  it('rejects parameters out of range', () => {
    expect(() => rctCutoff(30, 0)).toThrow(RangeError);
    expect(() => rctCutoff(30, 9)).toThrow(RangeError);
    expect(() => aptCutoff(0, 4)).toThrow(RangeError);
    expect(() => critBinom(0, 0.5, 30)).toThrow(RangeError);
    expect(() => critBinom(10, 1, 30)).toThrow(RangeError);
  });

  it('cutoffs fall as the claimed entropy rises', () => {
    let lastR = Number.POSITIVE_INFINITY;
    let lastA = Number.POSITIVE_INFINITY;
    for (const h of [0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8]) {
      expect(rctCutoff(30, h)).toBeLessThanOrEqual(lastR);
      expect(aptCutoff(30, h)).toBeLessThanOrEqual(lastA);
      lastR = rctCutoff(30, h);
      lastA = aptCutoff(30, h);
    }
  });
});
