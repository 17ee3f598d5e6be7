/**
 * Repetition detector: fails when a 64-byte block (aligned to the stream's start) equals any block of the last
 * `historyBytes` (64 MiB by default): a stuck buffer, a replayed capture, a short loop.
 *
 * Memory: the history is kept as 64-bit fingerprints, not bytes, in two generations of open-addressed tables
 * (each with twice as many slots as the blocks it holds). A generation holds historyBytes / 64 blocks; when the
 * current one is full, the older one is dropped, so the blocks looked up always include the last historyBytes
 * (and at most twice that). For 64 MiB: 2 x 2^21 slots x 8 bytes = 32 MiB.
 *
 * False alarms: a good block only fails when its 63-bit fingerprint (the second half is odd) equals a stored
 * one: about 2.5 occupied slots compared per table at load <= 1/2 (linear probing), 2 tables, so about 2^-60 per
 * block and 2^-36 per GiB (2^24 blocks); a real repeat of 64 bytes of claimed min-entropy 64 H bits is at most
 * 2^(44-64H) per GiB (2^44 block pairs) for a 64 MiB history.
 */

/** Bytes per block. */
export const REPEAT_BLOCK_BYTES = 64;

/** Default history: 64 MiB. */
export const REPEAT_HISTORY_BYTES = 64 << 20;

function hash2(b: Uint8Array, o: number): [number, number] {
  let h1 = 0x243f6a88 | 0;
  let h2 = 0x85a308d3 | 0;
  for (let i = 0; i < 64; i += 4) {
    const w =
      (b[o + i] as number) |
      ((b[o + i + 1] as number) << 8) |
      ((b[o + i + 2] as number) << 16) |
      ((b[o + i + 3] as number) << 24);
    h1 = Math.imul(h1 ^ w, 0x9e3779b1);
    h1 ^= h1 >>> 15;
    h2 = Math.imul(h2 + w, 0x85ebca77);
    h2 ^= h2 >>> 13;
    h2 = Math.imul(h2, 0xc2b2ae3d);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x7feb352d);
  h1 ^= h1 >>> 15;
  h2 ^= h2 >>> 16;
  return [h1 | 0, h2 | 1]; // h2 odd: (0, 0) never occurs, so a zero slot is empty
}

class Generation {
  readonly a: Int32Array;
  readonly b: Int32Array;
  count = 0;
  constructor(readonly slots: number) {
    this.a = new Int32Array(slots);
    this.b = new Int32Array(slots);
  }
  /** true when present; inserts when absent and `insert`. */
  probe(h1: number, h2: number, insert: boolean): boolean {
    const mask = this.slots - 1;
    let i = (Math.imul(h2, 0x9e3779b1) >>> 0) & mask;
    for (;;) {
      const b = this.b[i] as number;
      if (b === 0) {
        if (insert) {
          this.a[i] = h1;
          this.b[i] = h2;
          this.count++;
        }
        return false;
      }
      if (b === h2 && this.a[i] === h1) return true;
      i = (i + 1) & mask;
    }
  }
  clear(): void {
    this.a.fill(0);
    this.b.fill(0);
    this.count = 0;
  }
}

/** See the module comment. */
export class RepeatedBlockTest {
  readonly historyBytes: number;
  private readonly perGeneration: number;
  private cur: Generation;
  private prev: Generation;
  private readonly partial = new Uint8Array(REPEAT_BLOCK_BYTES);
  private partialLen = 0;
  private failedFlag = false;
  /** Blocks checked since the last reset. */
  blocks = 0;
  /** Repeats found (0 or 1: the test latches at the first). */
  repeats = 0;

  /**
   * @param historyBytes - a power of two, at least 4096 (default 64 MiB)
   * @throws RangeError for a bad history size
   */
  constructor(historyBytes = REPEAT_HISTORY_BYTES) {
    if (!Number.isInteger(historyBytes) || historyBytes < 4096 || (historyBytes & (historyBytes - 1)) !== 0) {
      throw new RangeError('historyBytes must be a power of two >= 4096');
    }
    this.historyBytes = historyBytes;
    this.perGeneration = historyBytes / REPEAT_BLOCK_BYTES;
    this.cur = new Generation(2 * this.perGeneration);
    this.prev = new Generation(2 * this.perGeneration);
  }

  get failed(): boolean {
    return this.failedFlag;
  }

  private check(b: Uint8Array, o: number): boolean {
    const [h1, h2] = hash2(b, o);
    this.blocks++;
    if (this.prev.probe(h1, h2, false) || this.cur.probe(h1, h2, true)) return false;
    if (this.cur.count >= this.perGeneration) {
      const old = this.prev;
      this.prev = this.cur;
      old.clear();
      this.cur = old;
    }
    return true;
  }

  /**
   * Test `bytes[start..end)`.
   * @returns the index of the last byte of the first repeated block, or -1
   */
  feedMany(bytes: Uint8Array, start = 0, end = bytes.length): number {
    if (this.failedFlag) return start < end ? start : -1;
    let i = start;
    if (this.partialLen > 0) {
      const k = Math.min(REPEAT_BLOCK_BYTES - this.partialLen, end - i);
      this.partial.set(bytes.subarray(i, i + k), this.partialLen);
      this.partialLen += k;
      i += k;
      if (this.partialLen < REPEAT_BLOCK_BYTES) return -1;
      this.partialLen = 0;
      if (!this.check(this.partial, 0)) return this.fail(i - 1);
    }
    for (; i + REPEAT_BLOCK_BYTES <= end; i += REPEAT_BLOCK_BYTES) {
      if (!this.check(bytes, i)) return this.fail(i + REPEAT_BLOCK_BYTES - 1);
    }
    if (i < end) {
      this.partial.set(bytes.subarray(i, end), 0);
      this.partialLen = end - i;
    }
    return -1;
  }

  private fail(at: number): number {
    this.failedFlag = true;
    this.repeats++;
    this.partial.fill(0);
    this.partialLen = 0;
    return at;
  }

  /** Forget the history and any failure. */
  reset(): void {
    this.cur.clear();
    this.prev.clear();
    this.partial.fill(0);
    this.partialLen = 0;
    this.failedFlag = false;
    this.blocks = 0;
    this.repeats = 0;
  }
}
