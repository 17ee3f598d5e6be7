/** A FIFO of byte chunks; bytes leave it by being copied or XORed into a target and zeroed behind. */
export class ByteQueue {
  private readonly chunks: Uint8Array[] = [];
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  /** Queue a chunk (kept by reference: the caller hands it over). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /**
   * Move the next `target.length` bytes into `target`, overwriting (`xor` false) or XORing (`xor` true).
   * @throws RangeError when fewer bytes are queued
   */
  drainInto(target: Uint8Array, xor: boolean): void {
    const n = target.length;
    if (n > this.size) throw new RangeError('not enough bytes queued');
    let o = 0;
    while (o < n) {
      const c = this.chunks[0] as Uint8Array;
      const k = Math.min(n - o, c.length - this.head);
      if (xor) {
        xorInto(target, o, c, this.head, k);
      } else {
        target.set(c.subarray(this.head, this.head + k), o);
      }
      c.fill(0, this.head, this.head + k);
      this.head += k;
      o += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.size -= n;
  }

  /**
   * Remove the next `n` bytes and return them as one array the caller owns: the queued chunk itself when it is
   * exactly those bytes (no copy), else a fresh array they are moved into (zeroed behind, as {@link drainInto}).
   * @throws RangeError when fewer bytes are queued
   */
  take(n: number): Uint8Array {
    if (n > this.size) throw new RangeError('not enough bytes queued');
    const c = this.chunks[0];
    if (c && this.head === 0 && c.length === n) {
      this.chunks.shift();
      this.size -= n;
      return c;
    }
    const out = new Uint8Array(n);
    this.drainInto(out, false);
    return out;
  }

  /** Zero and drop everything. */
  clear(): number {
    const n = this.size;
    for (const c of this.chunks) c.fill(0);
    this.chunks.length = 0;
    this.head = 0;
    this.size = 0;
    return n;
  }
}

/** target[to..to+k) ^= src[from..from+k), 32 bits at a time where both sides line up. */
function xorInto(target: Uint8Array, to: number, src: Uint8Array, from: number, k: number): void {
  let i = 0;
  const ta = target.byteOffset + to;
  const sa = src.byteOffset + from;
  if (k >= 64 && ta % 4 === sa % 4) {
    const lead = (4 - (ta % 4)) % 4;
    for (; i < lead; i++) target[to + i] = (target[to + i] as number) ^ (src[from + i] as number);
    const words = (k - lead) >>> 2;
    const t32 = new Uint32Array(target.buffer, ta + lead, words);
    const s32 = new Uint32Array(src.buffer, sa + lead, words);
    for (let w = 0; w < words; w++) t32[w] = (t32[w] as number) ^ (s32[w] as number);
    i = lead + words * 4;
  }
  for (; i < k; i++) target[to + i] = (target[to + i] as number) ^ (src[from + i] as number);
}
