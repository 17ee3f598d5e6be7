/**
 * The SP 800-90B section 4.4 continuous health tests as pure, incremental state machines over byte samples.
 * Each `feed` looks at one sample and returns false the moment the test fails; once failed, a test stays failed
 * until {@link RepetitionCountTest.reset} / {@link AdaptiveProportionTest.reset}.
 */
import { APT_WINDOW_BYTES, aptCutoff, rctCutoff } from './cutoffs.js';

/** Which test failed: the SP 800-90B 4.4 tests here, and the gate's other continuous tests (gate.ts). */
export type HealthTestName = 'rct' | 'apt' | 'periodic' | 'repeat' | 'mcv' | 'collision' | 'fips-rate';

/** Repetition Count Test (4.4.1): fails when one value repeats `cutoff` times in a row. */
export class RepetitionCountTest {
  readonly cutoff: number;
  private last = -1;
  private run = 0;
  private failedFlag = false;
  /** Longest run seen since the last reset (a statistic). */
  longestRun = 0;

  /**
   * @param cutoff - run length that fails (>= 2)
   * @throws RangeError when cutoff < 2
   */
  constructor(cutoff: number) {
    if (!Number.isInteger(cutoff) || cutoff < 2) throw new RangeError('cutoff must be an integer >= 2');
    this.cutoff = cutoff;
  }

  /** Build from alpha and claimed entropy. @throws RangeError for bad parameters */
  static forEntropy(alphaLog2: number, h: number): RepetitionCountTest {
    return new RepetitionCountTest(rctCutoff(alphaLog2, h));
  }

  get failed(): boolean {
    return this.failedFlag;
  }

  /** Test one sample; false when the test has failed (now or earlier). */
  feed(sample: number): boolean {
    if (this.failedFlag) return false;
    if (sample === this.last) {
      this.run++;
    } else {
      this.last = sample;
      this.run = 1;
    }
    if (this.run > this.longestRun) this.longestRun = this.run;
    if (this.run >= this.cutoff) this.failedFlag = true;
    return !this.failedFlag;
  }

  /**
   * Test `bytes[start..end)` in one tight loop, as {@link feed} would sample by sample.
   * @returns the index of the sample at which the test failed, or -1
   */
  feedMany(bytes: Uint8Array, start = 0, end = bytes.length): number {
    if (this.failedFlag) return start < end ? start : -1;
    let last = this.last;
    let run = this.run;
    let longest = this.longestRun;
    const cutoff = this.cutoff;
    let failedAt = -1;
    for (let i = start; i < end; i++) {
      const b = bytes[i] as number;
      if (b === last) {
        if (++run >= cutoff) {
          failedAt = i;
          break;
        }
      } else {
        if (run > longest) longest = run;
        last = b;
        run = 1;
      }
    }
    if (run > longest) longest = run;
    this.last = last;
    this.run = run;
    this.longestRun = longest;
    if (failedAt >= 0) this.failedFlag = true;
    return failedAt;
  }

  /** Forget all state (operator resume). */
  reset(): void {
    this.last = -1;
    this.run = 0;
    this.failedFlag = false;
  }
}

/**
 * Adaptive Proportion Test (4.4.2): in each window of `window` samples, counts how often the window's first
 * sample occurs (the first one included) and fails when that count reaches `cutoff`.
 */
export class AdaptiveProportionTest {
  readonly cutoff: number;
  readonly window: number;
  private first = -1;
  private count = 0;
  private index = 0;
  private failedFlag = false;
  /** Highest count seen in any window since the last reset (a statistic). */
  maxCount = 0;

  /**
   * @param cutoff - count that fails (2..window)
   * @param window - samples per window
   * @throws RangeError for bad parameters
   */
  constructor(cutoff: number, window = APT_WINDOW_BYTES) {
    if (!Number.isInteger(window) || window < 2) throw new RangeError('window must be an integer >= 2');
    if (!Number.isInteger(cutoff) || cutoff < 2 || cutoff > window) {
      throw new RangeError('cutoff must be an integer in [2, window]');
    }
    this.cutoff = cutoff;
    this.window = window;
  }

  /** Build from alpha and claimed entropy, W = 512. @throws RangeError for bad parameters */
  static forEntropy(alphaLog2: number, h: number): AdaptiveProportionTest {
    return new AdaptiveProportionTest(aptCutoff(alphaLog2, h), APT_WINDOW_BYTES);
  }

  get failed(): boolean {
    return this.failedFlag;
  }

  /** Position of the next sample inside the current window (0 = next sample starts a window). */
  get position(): number {
    return this.index;
  }

  /** Test one sample; false when the test has failed (now or earlier). */
  feed(sample: number): boolean {
    if (this.failedFlag) return false;
    if (this.index === 0) {
      this.first = sample;
      this.count = 1;
    } else if (sample === this.first) {
      this.count++;
    }
    if (this.count > this.maxCount) this.maxCount = this.count;
    if (this.count >= this.cutoff) this.failedFlag = true;
    this.index = (this.index + 1) % this.window;
    return !this.failedFlag;
  }

  /**
   * Test `bytes[start..end)` in one tight loop, as {@link feed} would sample by sample.
   * @returns the index of the sample at which the test failed, or -1
   */
  feedMany(bytes: Uint8Array, start = 0, end = bytes.length): number {
    if (this.failedFlag) return start < end ? start : -1;
    let first = this.first;
    let count = this.count;
    let index = this.index;
    let max = this.maxCount;
    const cutoff = this.cutoff;
    const window = this.window;
    let failedAt = -1;
    for (let i = start; i < end; i++) {
      const b = bytes[i] as number;
      if (index === 0) {
        first = b;
        count = 1;
      } else if (b === first) {
        count++;
      }
      if (count > max) max = count;
      if (++index === window) index = 0;
      if (count >= cutoff) {
        failedAt = i;
        break;
      }
    }
    this.first = first;
    this.count = count;
    this.index = index;
    this.maxCount = max;
    if (failedAt >= 0) this.failedFlag = true;
    return failedAt;
  }

  /** Forget all state (operator resume). */
  reset(): void {
    this.first = -1;
    this.count = 0;
    this.index = 0;
    this.failedFlag = false;
  }
}
