/**
 * Periodic-structure test: fails when the last L bytes equal the L bytes ending d positions earlier, for any
 * d from 1 to `maxPeriod` (4096). A stream with any period p <= maxPeriod fails within p + L bytes of its start
 * (a little later when a table slot was reused, see below). L comes from {@link periodicRepeatLength}: the
 * false-alarm rate on data with the claimed min-entropy is at most 2^-alphaLog2 per GiB.
 *
 * How: a rolling hash of the last L bytes indexes a table of the last position each hash value was seen at; a
 * hit within maxPeriod is confirmed byte by byte against a ring of the last bytes, so hash collisions never
 * fail the test (a slot overwritten by another window only delays detection to a later position of the period).
 */
import { periodicRepeatLength } from './cutoffs.js';

/** Default longest period looked for. */
export const PERIODIC_MAX_PERIOD = 4096;

const TABLE_BITS = 14;
const RING = 8192;
const BASE = 0x01000193;

/** See the module comment. */
export class PeriodicTest {
  /** Repeated length that fails. */
  readonly length: number;
  readonly maxPeriod: number;
  private readonly ring = new Uint8Array(RING);
  private readonly pos = new Float64Array(1 << TABLE_BITS).fill(-1);
  private readonly hashes = new Int32Array(1 << TABLE_BITS);
  private readonly baseL: number;
  private hash = 0;
  private n = 0;
  private failedFlag = false;
  /** Positions where a candidate repeat was checked byte by byte (a statistic). */
  candidates = 0;
  /** Distance of the repeat that failed the test, or 0. */
  period = 0;

  /**
   * @param alphaLog2 - false-alarm rate per GiB, -log2
   * @param h - claimed min-entropy per byte
   * @param maxPeriod - longest period looked for (<= 4096)
   * @throws RangeError for out-of-range parameters
   */
  constructor(alphaLog2: number, h: number, maxPeriod = PERIODIC_MAX_PERIOD) {
    this.length = periodicRepeatLength(alphaLog2, h, maxPeriod);
    if (maxPeriod > PERIODIC_MAX_PERIOD || maxPeriod + this.length + 1 > RING) {
      throw new RangeError('maxPeriod too long');
    }
    this.maxPeriod = maxPeriod;
    let b = 1;
    for (let i = 0; i < this.length - 1; i++) b = Math.imul(b, BASE);
    this.baseL = b;
  }

  get failed(): boolean {
    return this.failedFlag;
  }

  /**
   * Test `bytes[start..end)`.
   * @returns the index of the byte completing the first repeat, or -1
   */
  feedMany(bytes: Uint8Array, start = 0, end = bytes.length): number {
    if (this.failedFlag) return start < end ? start : -1;
    const L = this.length;
    const ring = this.ring;
    const pos = this.pos;
    const hashes = this.hashes;
    const maxP = this.maxPeriod;
    const baseL = this.baseL;
    let h = this.hash;
    let n = this.n;
    for (let i = start; i < end; i++) {
      const x = bytes[i] as number;
      if (n >= L) h = (h - Math.imul(ring[(n - L) & (RING - 1)] as number, baseL)) | 0;
      h = (Math.imul(h, BASE) + x) | 0;
      ring[n & (RING - 1)] = x;
      if (n >= L - 1) {
        const slot = Math.imul(h, 0x9e3779b1) >>> (32 - TABLE_BITS);
        const p = pos[slot] as number;
        if (p >= 0 && hashes[slot] === h && n - p <= maxP) {
          this.candidates++;
          let k = 0;
          while (k < L && ring[(n - k) & (RING - 1)] === ring[(p - k) & (RING - 1)]) k++;
          if (k === L) {
            this.failedFlag = true;
            this.period = n - p;
            this.hash = h;
            this.n = n + 1;
            return i;
          }
        }
        pos[slot] = n;
        hashes[slot] = h;
      }
      n++;
    }
    this.hash = h;
    this.n = n;
    return -1;
  }

  /** Forget all state. */
  reset(): void {
    this.ring.fill(0);
    this.pos.fill(-1);
    this.hashes.fill(0);
    this.hash = 0;
    this.n = 0;
    this.failedFlag = false;
    this.candidates = 0;
    this.period = 0;
  }
}
