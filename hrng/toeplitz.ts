/**
 * Seeded Toeplitz hashing: the 2-universal extractor between the health-tested raw stream and the pool
 * (docs/HRNG.md, "Extraction").
 *
 * An m x n binary Toeplitz matrix T is fixed by n + m - 1 seed bits s: T[i][j] = s[i - j + n - 1]. One block of
 * n input bits x gives m output bits y = T x over GF(2): y_i = XOR_j s[i - j + n - 1] x_j. Bits are numbered
 * least significant first inside each byte (bit j of a byte string is (bytes[j >> 3] >> (j & 7)) & 1), for the
 * seed, the input and the output alike.
 *
 * The Toeplitz family is 2-universal (for x != x', P_s[T x = T x'] = 2^-m), so by the leftover hash lemma a
 * block with k bits of min-entropy gives m = k - 2 log2(1/epsilon) bits within statistical distance epsilon of
 * uniform, even given the seed, provided the seed is uniform and independent of the block.
 *
 * This is onepad's own linear algebra, not a cryptographic primitive. {@link ToeplitzExtractor} is the fast
 * form (WebAssembly SIMD, hrng/wasm/kernels.as: one 256-row table of precomputed column combinations, read at
 * the byte offset of each input byte); {@link ToeplitzWords} is the same idea in 32-bit JavaScript words (four
 * byte alignments); {@link toeplitzReference} is the plain definition both are checked against.
 */

import { KernelMemory, Stage } from './kernels.js';

/** -log2(epsilon) of every extraction block: each block's output is within 2^-64 of uniform. */
export const EXTRACTOR_EPSILON_LOG2 = 64;

/** Bits of claimed min-entropy each block is sized to hold (so the 128-bit loss stays at 1/8). */
export const EXTRACTOR_BLOCK_ENTROPY_BITS = 1024;

/** Seed bytes kept in the data dir: enough for n + m - 1 bits of any block shape down to H = 0.28. */
export const EXTRACTOR_SEED_BYTES = 4096;

/** The size of one extraction block. */
export interface ExtractorShape {
  /** Input bytes per block (n / 8). */
  readonly inBytes: number;
  /** Output bytes per block (m / 8), a multiple of 4. */
  readonly outBytes: number;
  /** Claimed min-entropy of one input block, bits (inBytes x H, rounded down). */
  readonly kBits: number;
  /** -log2(epsilon). */
  readonly epsilonLog2: number;
}

/**
 * The block shape for a claimed min-entropy of `h` bits per input byte: the smallest block (a multiple of 4
 * bytes) holding {@link EXTRACTOR_BLOCK_ENTROPY_BITS} bits, and m = k - 2 log2(1/epsilon) rounded down to 32 bits.
 *
 * @param h - claimed min-entropy per input byte, bits (0 < h <= 8)
 * @param epsilonLog2 - -log2(epsilon), default 64
 * @throws RangeError when h is out of range or so low that the block's seed would not fit
 *   {@link EXTRACTOR_SEED_BYTES}
 * @example extractorShape(4) // { inBytes: 256, outBytes: 112, kBits: 1024, epsilonLog2: 64 }
 */
export function extractorShape(h: number, epsilonLog2 = EXTRACTOR_EPSILON_LOG2): ExtractorShape {
  if (!Number.isFinite(h) || h <= 0 || h > 8) throw new RangeError('h must be in (0, 8] bits per byte');
  if (!Number.isInteger(epsilonLog2) || epsilonLog2 < 1) throw new RangeError('epsilonLog2 must be a positive integer');
  const inBytes = Math.ceil(Math.ceil(EXTRACTOR_BLOCK_ENTROPY_BITS / h) / 4) * 4;
  const kBits = Math.floor(inBytes * h);
  const mBits = Math.floor((kBits - 2 * epsilonLog2) / 32) * 32;
  if (mBits < 32) throw new RangeError('claimed min-entropy too low for extraction');
  if (inBytes * 8 + mBits - 1 > EXTRACTOR_SEED_BYTES * 8) {
    throw new RangeError('claimed min-entropy too low: the block would need a longer seed than is kept');
  }
  return { inBytes, outBytes: mBits / 8, kBits, epsilonLog2 };
}

function checkShape(seed: Uint8Array, shape: ExtractorShape): void {
  const { inBytes, outBytes, kBits, epsilonLog2 } = shape;
  if (!Number.isInteger(inBytes) || inBytes < 4 || inBytes % 4) throw new RangeError('inBytes must be a multiple of 4');
  if (!Number.isInteger(outBytes) || outBytes < 4 || outBytes % 4) {
    throw new RangeError('outBytes must be a multiple of 4');
  }
  if (outBytes * 8 > kBits - 2 * epsilonLog2) {
    throw new RangeError('output longer than the leftover hash lemma allows for this min-entropy');
  }
  if (kBits > inBytes * 8) throw new RangeError('kBits cannot exceed the input bits');
  if (seed.length * 8 < inBytes * 8 + outBytes * 8 - 1) throw new RangeError('seed too short');
}

function seedBit(seed: Uint8Array, t: number): number {
  const b = seed[t >> 3];
  return b === undefined ? 0 : (b >> (t & 7)) & 1;
}

/**
 * The definition, bit by bit: y_i = XOR_j s[i - j + n - 1] x_j, for n = 8 x input.length input bits and
 * `outBits` output bits. The reference {@link ToeplitzExtractor} is checked against.
 *
 * @param seed - at least n + outBits - 1 bits
 * @param input - the block
 * @param outBits - m, a multiple of 8
 * @throws RangeError when the seed is too short or outBits is not a positive multiple of 8
 */
export function toeplitzReference(seed: Uint8Array, input: Uint8Array, outBits: number): Uint8Array {
  const n = input.length * 8;
  if (!Number.isInteger(outBits) || outBits < 8 || outBits % 8) throw new RangeError('outBits must be a multiple of 8');
  if (seed.length * 8 < n + outBits - 1) throw new RangeError('seed too short');
  const out = new Uint8Array(outBits / 8);
  for (let i = 0; i < outBits; i++) {
    let bit = 0;
    for (let j = 0; j < n; j++) {
      bit ^= seedBit(seed, i - j + n - 1) & (((input[j >> 3] as number) >> (j & 7)) & 1);
    }
    out[i >> 3] = (out[i >> 3] as number) | (bit << (i & 7));
  }
  return out;
}

/**
 * The 32-bit-word Toeplitz extractor in plain JavaScript: a second, independent implementation that the
 * WebAssembly {@link ToeplitzExtractor} is checked against (and the one to read: same tables, no SIMD).
 *
 * With c = n - 1 - j, y_i = XOR_c s[i + c] x_{n-1-c}: input byte b (bits j = 8b..8b+7) adds, for its value v,
 * the vector Q_v shifted by 8 (n/8 - 1 - b) bits, where Q_v(t) = XOR over set bits k of v of s[t + 7 - k].
 * The 256 vectors Q_v are precomputed as 32-bit words in four byte alignments, so each input byte costs m/32
 * word XORs and no bit operation.
 *
 * @example
 * const ex = new ToeplitzExtractor(seed, extractorShape(4));
 * const out = ex.extract(block); // 112 bytes from 256
 */
export class ToeplitzWords {
  readonly inBytes: number;
  readonly outBytes: number;
  private readonly words: number; // m / 32
  private readonly stride: number; // words per table entry
  private readonly tables: Int32Array[];
  private readonly acc: Int32Array;

  /**
   * @param seed - uniform seed bits, at least 8 inBytes + 8 outBytes - 1 of them (only those are used)
   * @param shape - input and output bytes per block; outBytes a multiple of 4, inBytes a multiple of 4
   * @throws RangeError for a bad shape, a seed too short, or an output longer than k - 2 log2(1/epsilon)
   */
  constructor(seed: Uint8Array, shape: ExtractorShape) {
    checkShape(seed, shape);
    const { inBytes, outBytes } = shape;
    const n = inBytes * 8;
    const m = outBytes * 8;
    this.inBytes = inBytes;
    this.outBytes = outBytes;
    this.words = m / 32;
    this.stride = this.words + inBytes / 4;
    this.acc = new Int32Array(this.words);
    // Seed bits as words; bits past n + m - 1 are zero (they never reach an output).
    const used = Math.ceil((n + m - 1) / 8);
    const seedWords = new Uint32Array(Math.ceil((used + 8) / 4) + 2);
    for (let i = 0; i < used; i++) {
      let b = seed[i] as number;
      if (i === used - 1 && (n + m - 1) % 8) b &= (1 << ((n + m - 1) % 8)) - 1;
      seedWords[i >> 2] = ((seedWords[i >> 2] as number) | (b << ((i & 3) * 8))) >>> 0;
    }
    const bits32 = (off: number): number => {
      const w = off >>> 5;
      const sh = off & 31;
      const lo = (seedWords[w] ?? 0) >>> sh;
      return sh === 0 ? lo : (lo | ((seedWords[w + 1] ?? 0) << (32 - sh))) >>> 0;
    };
    this.tables = [];
    const stride = this.stride;
    for (let r = 0; r < 4; r++) {
      // sh[e][w]: seed bits [32 w + 8 r + e, +32) for e = 0..7.
      const sh: Int32Array[] = [];
      for (let e = 0; e < 8; e++) {
        const row = new Int32Array(stride);
        for (let w = 0; w < stride; w++) row[w] = bits32(32 * w + 8 * r + e);
        sh.push(row);
      }
      const t = new Int32Array(256 * stride);
      for (let v = 1; v < 256; v++) {
        const low = v & -v;
        const k = 31 - Math.clz32(low);
        const src = sh[7 - k] as Int32Array;
        const prev = (v ^ low) * stride;
        const at = v * stride;
        for (let w = 0; w < stride; w++) t[at + w] = (t[prev + w] as number) ^ (src[w] as number);
      }
      this.tables.push(t);
    }
  }

  /**
   * Extract one block.
   *
   * @param input - exactly {@link inBytes} bytes (not kept)
   * @param out - where to write {@link outBytes} bytes, at `at`
   * @throws RangeError when the input is not one block or out is too short
   */
  extractInto(input: Uint8Array, out: Uint8Array, at = 0): void {
    const nB = this.inBytes;
    if (input.length !== nB) throw new RangeError('input must be exactly one block');
    if (out.length < at + this.outBytes) throw new RangeError('output buffer too short');
    const acc = this.acc;
    const M = this.words;
    const stride = this.stride;
    acc.fill(0);
    const t0 = this.tables[0] as Int32Array;
    const t1 = this.tables[1] as Int32Array;
    const t2 = this.tables[2] as Int32Array;
    const t3 = this.tables[3] as Int32Array;
    // Four bytes at a time: byte b = nB - 1 - cb, cb = 4 q + r; its row is table r at word offset q.
    for (let q = 0; q < nB / 4; q++) {
      const b = nB - 1 - 4 * q;
      const o0 = (input[b] as number) * stride + q;
      const o1 = (input[b - 1] as number) * stride + q;
      const o2 = (input[b - 2] as number) * stride + q;
      const o3 = (input[b - 3] as number) * stride + q;
      for (let w = 0; w < M; w++) {
        acc[w] =
          (acc[w] as number) ^
          (t0[o0 + w] as number) ^
          (t1[o1 + w] as number) ^
          (t2[o2 + w] as number) ^
          (t3[o3 + w] as number);
      }
    }
    for (let w = 0; w < M; w++) {
      const v = acc[w] as number;
      const o = at + 4 * w;
      out[o] = v & 0xff;
      out[o + 1] = (v >>> 8) & 0xff;
      out[o + 2] = (v >>> 16) & 0xff;
      out[o + 3] = (v >>> 24) & 0xff;
    }
    acc.fill(0);
  }

  /** {@link extractInto} into a fresh array. @throws RangeError when the input is not one block */
  extract(input: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.outBytes);
    this.extractInto(input, out);
    return out;
  }

  /** Zero the tables (they are a function of the seed). */
  clean(): void {
    for (const t of this.tables) t.fill(0);
  }
}

/** Output bytes of one block the SIMD kernels can make (8 vectors). */
const SIMD_MAX_OUT = 128;

/** Blocks extracted per kernel call at most. */
const BATCH_BLOCKS = 1024;

/**
 * The fast Toeplitz extractor for one seed and block shape, in WebAssembly SIMD (hrng/wasm/kernels.as).
 *
 * With c = n - 1 - j, y_i = XOR_c s[i + c] x_{n-1-c}: input byte b (cb = n/8 - 1 - b) adds, for its value v, the
 * vector Q_v shifted by 8 cb bits, where Q_v(t) = XOR over set bits k of v of s[t + 7 - k]. A shift by whole bytes
 * is a load from byte offset cb, so one table of the 256 vectors Q_v (m + n bits each, a few more for the last
 * vector) serves every input byte: each byte costs one row lookup and m/128 vector XORs.
 *
 * @example
 * const ex = new ToeplitzExtractor(seed, extractorShape(4));
 * const out = ex.extract(block); // 112 bytes from 256
 */
export class ToeplitzExtractor {
  readonly inBytes: number;
  readonly outBytes: number;
  private readonly mem = new KernelMemory();
  private readonly table: number;
  private readonly rowBytes: number;
  private readonly input: Stage;
  private readonly output: number;
  private readonly vectors: 7 | 8;

  /**
   * @param seed - uniform seed bits, at least 8 inBytes + 8 outBytes - 1 of them (only those are used)
   * @param shape - input and output bytes per block; outBytes a multiple of 4 (at most 128), inBytes a multiple of 4
   * @throws RangeError for a bad shape, a seed too short, or an output longer than k - 2 log2(1/epsilon)
   */
  constructor(seed: Uint8Array, shape: ExtractorShape) {
    checkShape(seed, shape);
    const { inBytes, outBytes } = shape;
    if (outBytes > SIMD_MAX_OUT) throw new RangeError('outBytes above 128 is not supported');
    this.inBytes = inBytes;
    this.outBytes = outBytes;
    this.vectors = outBytes === 112 ? 7 : 8;
    const n = inBytes * 8;
    const m = outBytes * 8;
    // Row bytes read: offsets cb = 0..inBytes-1 plus 16 per vector.
    this.rowBytes = Math.ceil((inBytes + 16 * this.vectors) / 16) * 16;
    const rowBytes = this.rowBytes;
    this.table = this.mem.alloc(256 * rowBytes);
    this.input = new Stage(this.mem, BATCH_BLOCKS * inBytes);
    this.output = this.mem.alloc(BATCH_BLOCKS * outBytes + SIMD_MAX_OUT);
    // The seed's n + m - 1 bits, the rest zero; sh[e][j] = seed bits 8j + e .. 8j + e + 7.
    const used = n + m - 1;
    const s = new Uint8Array(rowBytes + 1);
    for (let i = 0; i < Math.ceil(used / 8) && i < s.length; i++) s[i] = seed[i] as number;
    const lastBits = used % 8;
    if (Math.ceil(used / 8) <= s.length && lastBits) {
      const li = Math.ceil(used / 8) - 1;
      s[li] = (s[li] as number) & ((1 << lastBits) - 1);
    }
    const sh: Uint8Array[] = [];
    for (let e = 0; e < 8; e++) {
      const row = new Uint8Array(rowBytes);
      for (let j = 0; j < rowBytes; j++) row[j] = (((s[j] as number) >> e) | ((s[j + 1] ?? 0) << (8 - e))) & 0xff;
      sh.push(row);
    }
    const u8 = this.mem.u8;
    const t = this.table;
    for (let v = 1; v < 256; v++) {
      const low = v & -v;
      const k = 31 - Math.clz32(low);
      const src = sh[7 - k] as Uint8Array;
      const prev = t + (v ^ low) * rowBytes;
      const at = t + v * rowBytes;
      for (let j = 0; j < rowBytes; j++) u8[at + j] = (u8[prev + j] as number) ^ (src[j] as number);
    }
    s.fill(0);
    for (const r of sh) r.fill(0);
  }

  /**
   * Extract `input.length / inBytes` whole blocks into `out` at `at`.
   *
   * @throws RangeError when the input is not whole blocks or out is too short
   */
  extractBlocks(input: Uint8Array, out: Uint8Array, at = 0): void {
    const nB = this.inBytes;
    const oB = this.outBytes;
    if (input.length % nB) throw new RangeError('input must be whole blocks');
    const blocks = input.length / nB;
    if (out.length < at + blocks * oB) throw new RangeError('output buffer too short');
    const k = this.mem.k;
    for (let b = 0; b < blocks; b += BATCH_BLOCKS) {
      const nb = Math.min(BATCH_BLOCKS, blocks - b);
      const p = this.input.put(input.subarray(b * nB, (b + nb) * nB));
      if (this.vectors === 7) k.toeplitz7(this.table, this.rowBytes, p, nB, this.output, nb);
      else k.toeplitz8(this.table, this.rowBytes, p, nB, this.output, oB, nb); // writes 128 bytes a block, oB apart
      const u8 = this.mem.u8;
      out.set(u8.subarray(this.output, this.output + nb * oB), at + b * oB);
      this.input.wipe();
      u8.fill(0, this.output, this.output + nb * oB + SIMD_MAX_OUT);
    }
  }

  /**
   * Extract one block.
   *
   * @param input - exactly {@link inBytes} bytes (not kept)
   * @param out - where to write {@link outBytes} bytes, at `at`
   * @throws RangeError when the input is not one block or out is too short
   */
  extractInto(input: Uint8Array, out: Uint8Array, at = 0): void {
    if (input.length !== this.inBytes) throw new RangeError('input must be exactly one block');
    this.extractBlocks(input, out, at);
  }

  /** {@link extractInto} into a fresh array. @throws RangeError when the input is not one block */
  extract(input: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.outBytes);
    this.extractInto(input, out);
    return out;
  }

  /** Zero the table (it is a function of the seed) and every buffer. */
  clean(): void {
    this.mem.clean();
  }
}
