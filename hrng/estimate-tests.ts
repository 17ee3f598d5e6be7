/**
 * Sliding min-entropy tests after SP 800-90B section 6.3: the most-common-value estimate (6.3.1) over a sliding
 * window of bytes and the collision estimate (6.3.2, on bits) over a sliding window of collision samples.
 *
 * Each keeps the SP 800-90B estimate (a 99% lower confidence bound on the min-entropy, for the operator) and
 * fails when the window is so skewed that the claimed H is implausible at the test's false-alarm rate: for MCV
 * when the most common value's count reaches {@link mcvCutoff}, for collision when short samples reach
 * {@link collisionCutoff}. Both false-alarm rates are at most 2^-alphaLog2 per GiB of data meeting the claim.
 * (The SP 800-90B estimates themselves cannot be the trigger: their 99% bound lies below 8 bits for perfect
 * bytes, so they would fail every source claiming H = 8.)
 */
import { collisionBound, collisionCutoff, mcvCutoff } from './cutoffs.js';

/** MCV window (bytes) and evaluation step. */
export const MCV_WINDOW = 65536;
export const MCV_STEP = 4096;

/** Collision test: input bytes per step, steps per window. */
export const COLLISION_STEP_BYTES = 2048;
export const COLLISION_STEPS = 8;

/** SP 800-90B 6.3.1: min-entropy (bits per sample) from the most common value's count among n samples. */
export function mcvEstimate(maxCount: number, n: number): number {
  const p = maxCount / n;
  const pu = Math.min(1, p + 2.576 * Math.sqrt((p * (1 - p)) / (n - 1)));
  return -Math.log2(pu);
}

/**
 * SP 800-90B 6.3.2 for bits: min-entropy per bit from v collision samples of which `short` had length 2, scaled
 * to a byte (x 8).
 */
export function collisionEstimate(short: number, v: number): number {
  const mean = 3 - short / v;
  const f = short / v;
  const sd = Math.sqrt((f * (1 - f) * v) / (v - 1));
  const lower = mean - (2.576 * sd) / Math.sqrt(v);
  const p = lower < 2.5 ? 0.5 + Math.sqrt(Math.max(0, 1.25 - 0.5 * lower)) : 0.5;
  return 8 * -Math.log2(Math.min(1, p));
}

/** Sliding most-common-value test; see the module comment. */
export class McvTest {
  readonly cutoff: number;
  readonly window: number;
  readonly step: number;
  private readonly ring: Uint8Array;
  private readonly counts = new Int32Array(256);
  private n = 0;
  private failedFlag = false;
  /** Windows evaluated since the last reset. */
  evaluations = 0;
  /** Highest most-common count of any evaluated window. */
  maxCount = 0;
  /** SP 800-90B estimate of the last evaluated window (bits per byte), or null. */
  estimate: number | null = null;
  /** Lowest estimate seen. */
  minEstimate: number | null = null;

  /** @throws RangeError for out-of-range parameters */
  constructor(alphaLog2: number, h: number, window = MCV_WINDOW, step = MCV_STEP) {
    if (!Number.isInteger(window) || !Number.isInteger(step) || step < 1 || window % step) {
      throw new RangeError('window must be a multiple of step');
    }
    this.window = window;
    this.step = step;
    this.cutoff = mcvCutoff(alphaLog2, h, window, step);
    this.ring = new Uint8Array(window);
  }

  get failed(): boolean {
    return this.failedFlag;
  }

  /** Test `bytes[start..end)`. @returns the index of the sample ending the failing window, or -1 */
  feedMany(bytes: Uint8Array, start = 0, end = bytes.length): number {
    if (this.failedFlag) return start < end ? start : -1;
    const ring = this.ring;
    const counts = this.counts;
    const W = this.window;
    let n = this.n;
    let i = start;
    while (i < end) {
      // Up to the next evaluation point.
      const k = Math.min(end - i, this.step - (n % this.step));
      for (let j = 0; j < k; j++) {
        const x = bytes[i + j] as number;
        const at = (n + j) % W;
        if (n + j >= W) counts[ring[at] as number] = (counts[ring[at] as number] as number) - 1;
        ring[at] = x;
        counts[x] = (counts[x] as number) + 1;
      }
      n += k;
      i += k;
      if (n % this.step === 0 && n >= W) {
        let max = 0;
        for (let v = 0; v < 256; v++) if ((counts[v] as number) > max) max = counts[v] as number;
        this.evaluations++;
        if (max > this.maxCount) this.maxCount = max;
        this.estimate = mcvEstimate(max, W);
        if (this.minEstimate === null || this.estimate < this.minEstimate) this.minEstimate = this.estimate;
        if (max >= this.cutoff) {
          this.failedFlag = true;
          this.n = n;
          return i - 1;
        }
      }
    }
    this.n = n;
    return -1;
  }

  /** Forget all state. */
  reset(): void {
    this.ring.fill(0);
    this.counts.fill(0);
    this.n = 0;
    this.failedFlag = false;
    this.evaluations = 0;
    this.maxCount = 0;
    this.estimate = null;
    this.minEstimate = null;
  }
}

/**
 * Per (state, byte): next state | short samples << 4 | long samples << 8. Bits are read most significant first.
 * States: 0 none pending, 1 one bit 0 pending, 2 one bit 1 pending, 3 two different bits pending.
 */
export const COLLISION_TABLE = (() => {
  const t = new Int32Array(4 * 256);
  for (let s = 0; s < 4; s++) {
    for (let v = 0; v < 256; v++) {
      let st = s;
      let short = 0;
      let long = 0;
      for (let k = 7; k >= 0; k--) {
        const b = (v >> k) & 1;
        if (st === 0) st = b === 0 ? 1 : 2;
        else if (st === 3) {
          long++;
          st = 0;
        } else if ((st === 1 && b === 0) || (st === 2 && b === 1)) {
          short++;
          st = 0;
        } else st = 3;
      }
      t[(s << 8) | v] = st | (short << 4) | (long << 8);
    }
  }
  return t;
})();

/** Sliding collision test on the bits of the stream; see the module comment. */
export class CollisionTest {
  readonly stepBytes: number;
  readonly steps: number;
  private readonly bound: { r: number; lnInvAlpha: number };
  private readonly shortRing: Int32Array;
  private readonly allRing: Int32Array;
  private state = 0;
  private inStep = 0;
  private stepShort = 0;
  private stepAll = 0;
  private stepIndex = 0;
  private failedFlag = false;
  evaluations = 0;
  /** Highest short-sample fraction of any evaluated window. */
  maxShortFraction = 0;
  /** SP 800-90B estimate of the last window, bits per byte, or null. */
  estimate: number | null = null;
  minEstimate: number | null = null;

  /** @throws RangeError for out-of-range parameters */
  constructor(alphaLog2: number, h: number, stepBytes = COLLISION_STEP_BYTES, steps = COLLISION_STEPS) {
    if (!Number.isInteger(stepBytes) || stepBytes < 1 || !Number.isInteger(steps) || steps < 1) {
      throw new RangeError('stepBytes and steps must be positive integers');
    }
    this.stepBytes = stepBytes;
    this.steps = steps;
    this.bound = collisionBound(alphaLog2, h, stepBytes);
    this.shortRing = new Int32Array(steps);
    this.allRing = new Int32Array(steps);
  }

  get failed(): boolean {
    return this.failedFlag;
  }

  /** The cutoff for a window of v samples. */
  cutoffFor(v: number): number {
    return collisionCutoff(this.bound, v);
  }

  /** Test `bytes[start..end)`. @returns the index of the byte ending the failing window, or -1 */
  feedMany(bytes: Uint8Array, start = 0, end = bytes.length): number {
    if (this.failedFlag) return start < end ? start : -1;
    const table = COLLISION_TABLE;
    let st = this.state;
    let i = start;
    while (i < end) {
      const k = Math.min(end - i, this.stepBytes - this.inStep);
      let short = 0;
      let all = 0;
      for (let j = i; j < i + k; j++) {
        const e = table[(st << 8) | (bytes[j] as number)] as number;
        st = e & 15;
        const s = (e >> 4) & 15;
        short += s;
        all += s + (e >> 8);
      }
      this.stepShort += short;
      this.stepAll += all;
      this.inStep += k;
      i += k;
      if (this.inStep === this.stepBytes) {
        const slot = this.stepIndex % this.steps;
        this.shortRing[slot] = this.stepShort;
        this.allRing[slot] = this.stepAll;
        this.stepIndex++;
        this.inStep = 0;
        this.stepShort = 0;
        this.stepAll = 0;
        if (this.stepIndex >= this.steps) {
          let s = 0;
          let v = 0;
          for (let q = 0; q < this.steps; q++) {
            s += this.shortRing[q] as number;
            v += this.allRing[q] as number;
          }
          this.evaluations++;
          if (s / v > this.maxShortFraction) this.maxShortFraction = s / v;
          this.estimate = collisionEstimate(s, v);
          if (this.minEstimate === null || this.estimate < this.minEstimate) this.minEstimate = this.estimate;
          if (s >= this.cutoffFor(v)) {
            this.failedFlag = true;
            this.state = st;
            return i - 1;
          }
        }
      }
    }
    this.state = st;
    return -1;
  }

  /** Forget all state. */
  reset(): void {
    this.state = 0;
    this.inStep = 0;
    this.stepShort = 0;
    this.stepAll = 0;
    this.stepIndex = 0;
    this.shortRing.fill(0);
    this.allRing.fill(0);
    this.failedFlag = false;
    this.evaluations = 0;
    this.maxShortFraction = 0;
    this.estimate = null;
    this.minEstimate = null;
  }
}
