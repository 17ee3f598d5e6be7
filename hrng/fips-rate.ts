/**
 * The FIPS 140-2 failure-rate test, as rngd uses its FIPS tests: every 2500-byte block is tested (hrng/fips.ts)
 * and the test fails when `cutoff` of the last `window` (128) blocks failed. The cutoff comes from
 * {@link fipsRateCutoff}: at most 2^-alphaLog2 false alarms per GiB of good data.
 */
import { fipsRateCutoff } from './cutoffs.js';
import { FIPS_BLOCK_BYTES, FipsMonitor } from './fips.js';

/** Blocks in the sliding window. */
export const FIPS_RATE_WINDOW = 128;

/** See the module comment. */
export class FipsRateTest {
  readonly window: number;
  readonly cutoff: number;
  /** Block counts and per-test failure counts since the last reset. */
  readonly monitor = new FipsMonitor();
  private readonly ring: Uint8Array;
  private inWindow = 0;
  private failedFlag = false;
  /** Highest count of failed blocks in any window. */
  maxFailedInWindow = 0;

  /** @throws RangeError for out-of-range parameters */
  constructor(alphaLog2: number, window = FIPS_RATE_WINDOW) {
    if (!Number.isInteger(window) || window < 8) throw new RangeError('window must be an integer >= 8');
    this.window = window;
    this.cutoff = fipsRateCutoff(alphaLog2, window);
    this.ring = new Uint8Array(window);
  }

  get failed(): boolean {
    return this.failedFlag;
  }

  /** Failed blocks among the last `window`. */
  get failedInWindow(): number {
    return this.inWindow;
  }

  /** Test `bytes[start..end)`. @returns the index of the last byte of the block that failed the test, or -1 */
  feedMany(bytes: Uint8Array, start = 0, end = bytes.length): number {
    if (this.failedFlag) return start < end ? start : -1;
    const m = this.monitor;
    let i = start;
    while (i < end) {
      const before = m.blocks;
      const pending = m.pendingBytes;
      const k = Math.min(end - i, FIPS_BLOCK_BYTES - pending);
      m.feed(bytes.subarray(i, i + k));
      i += k;
      if (m.blocks === before) continue;
      const bad = m.lastFailed ? 1 : 0;
      const slot = (m.blocks - 1) % this.window;
      this.inWindow += bad - (this.ring[slot] as number);
      this.ring[slot] = bad;
      if (this.inWindow > this.maxFailedInWindow) this.maxFailedInWindow = this.inWindow;
      if (this.inWindow >= this.cutoff) {
        this.failedFlag = true;
        return i - 1;
      }
    }
    return -1;
  }

  /** Forget all state. */
  reset(): void {
    this.monitor.reset();
    this.ring.fill(0);
    this.inWindow = 0;
    this.failedFlag = false;
    this.maxFailedInWindow = 0;
  }
}
