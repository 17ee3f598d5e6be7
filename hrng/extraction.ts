/**
 * The extraction stage between the combined, health-tested stream and the pool: the first bytes ever make the
 * seed (seed.ts) when the data dir has none; after that every whole block of `shape.inBytes` bytes becomes
 * `shape.outBytes` bytes of Toeplitz output (toeplitz.ts). Only that output ever reaches the pool.
 */

import { loadSeed, saveSeed, seedFromRaw, seedRawBytes } from './seed.js';
import { type ExtractorShape, extractorShape, ToeplitzExtractor } from './toeplitz.js';

/** Stage settings. */
export interface ExtractionOptions {
  /** Claimed min-entropy per byte of the stream entering the stage. */
  readonly h: number;
  /** The seed file (`hrng-seed.bin` in the data dir). */
  readonly seedPath: string;
}

/** See the module comment. */
export class ExtractionStage {
  readonly shape: ExtractorShape;
  readonly h: number;
  private readonly seedPath: string;
  private extractor: ToeplitzExtractor | null = null;
  private seedBuf: Uint8Array | null = null;
  private seedLen = 0;
  private readonly block: Uint8Array;
  private blockLen = 0;
  /** Input bytes used for the seed in this process (0 when it was loaded). */
  seedBytesUsed = 0;
  /** Blocks extracted since construction. */
  blocks = 0;

  /**
   * @throws RangeError when h is too low to extract (see {@link extractorShape})
   * @throws OnepadError HRNG_SEED_INVALID when a seed file exists but is damaged
   */
  constructor(opts: ExtractionOptions) {
    this.h = opts.h;
    this.shape = extractorShape(opts.h);
    this.seedPath = opts.seedPath;
    this.block = new Uint8Array(this.shape.inBytes);
    const seed = loadSeed(opts.seedPath);
    if (seed) {
      this.extractor = new ToeplitzExtractor(seed, this.shape);
      seed.fill(0);
    } else {
      this.seedBuf = new Uint8Array(seedRawBytes(opts.h));
    }
  }

  /** True while the first bytes are being collected for the seed. */
  get seeding(): boolean {
    return this.extractor === null;
  }

  /** Bytes still needed for the seed (0 once it exists). */
  get seedBytesNeeded(): number {
    return this.seedBuf ? this.seedBuf.length - this.seedLen : 0;
  }

  /**
   * Take healthy stream bytes; return the extractor output they completed (a fresh array, maybe empty).
   * The input is not kept (copied where a block or the seed is still incomplete).
   *
   * @throws OnepadError STORAGE_FAILED when the new seed cannot be saved (nothing is extracted with it then)
   */
  push(bytes: Uint8Array): Uint8Array {
    let i = 0;
    if (this.seedBuf) {
      const k = Math.min(bytes.length, this.seedBuf.length - this.seedLen);
      this.seedBuf.set(bytes.subarray(0, k), this.seedLen);
      this.seedLen += k;
      i = k;
      if (this.seedLen < this.seedBuf.length) return new Uint8Array(0);
      const seed = seedFromRaw(this.seedBuf, this.h);
      this.seedBuf.fill(0);
      this.seedBuf = null;
      this.seedBytesUsed = this.seedLen;
      this.seedLen = 0;
      try {
        // A seed made by another process meanwhile (it never replaces one) is an error, not a silent switch.
        saveSeed(this.seedPath, seed);
        this.extractor = new ToeplitzExtractor(seed, this.shape);
      } finally {
        seed.fill(0);
      }
    }
    const ex = this.extractor as ToeplitzExtractor;
    const { inBytes, outBytes } = this.shape;
    const total = this.blockLen + (bytes.length - i);
    const nBlocks = Math.floor(total / inBytes);
    const out = new Uint8Array(nBlocks * outBytes);
    let o = 0;
    if (this.blockLen > 0) {
      const k = Math.min(inBytes - this.blockLen, bytes.length - i);
      this.block.set(bytes.subarray(i, i + k), this.blockLen);
      this.blockLen += k;
      i += k;
      if (this.blockLen < inBytes) return out;
      ex.extractInto(this.block, out, o);
      o += outBytes;
      this.block.fill(0);
      this.blockLen = 0;
      this.blocks++;
    }
    const whole = Math.floor((bytes.length - i) / inBytes);
    if (whole > 0) {
      ex.extractBlocks(bytes.subarray(i, i + whole * inBytes), out, o);
      i += whole * inBytes;
      o += whole * outBytes;
      this.blocks += whole;
    }
    if (i < bytes.length) {
      this.block.set(bytes.subarray(i), 0);
      this.blockLen = bytes.length - i;
    }
    return out;
  }

  /** Zero and drop the incomplete block and any incomplete seed collection. */
  discard(): void {
    this.block.fill(0);
    this.blockLen = 0;
    if (this.seedBuf) {
      this.seedBuf.fill(0);
      this.seedLen = 0;
    }
  }
}
