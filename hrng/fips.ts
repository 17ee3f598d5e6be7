/**
 * The FIPS 140-2 statistical block tests that rngd runs (monobit, poker, runs, long run), on 20,000-bit blocks.
 * {@link FipsMonitor} counts them; the failure-rate test built on it (fips-rate.ts) is one of the gate's tests.
 *
 * Bounds are those of FIPS 140-2 (change notice 1, 2001) as used by rng-tools:
 * monobit 9725 < ones < 10275; poker 2.16 < X < 46.17; runs of length 1..6+ (both bits) within
 * [2315,2685], [1114,1386], [527,723], [240,384], [103,209], [103,209]; long run: no run of 26 or more.
 */

/** Bytes in one FIPS block (20,000 bits). */
export const FIPS_BLOCK_BYTES = 2500;

export type FipsTestName = 'monobit' | 'poker' | 'runs' | 'longRun';

/** Verdict of one block. */
export interface FipsVerdict {
  readonly monobit: boolean;
  readonly poker: boolean;
  readonly runs: boolean;
  readonly longRun: boolean;
}

const RUN_BOUNDS: readonly (readonly [number, number])[] = [
  [2315, 2685],
  [1114, 1386],
  [527, 723],
  [240, 384],
  [103, 209],
  [103, 209],
];

/**
 * Run the four tests on one 2500-byte block (bits taken most significant first).
 *
 * @throws RangeError when the block is not 2500 bytes
 */
export function fipsTestBlock(block: Uint8Array): FipsVerdict {
  if (block.length !== FIPS_BLOCK_BYTES) throw new RangeError('block must be 2500 bytes');
  const t = tables();
  // Per byte: a histogram (the runs wholly inside a byte, ones and nibbles come from it afterwards) and one
  // step of a table-driven state machine over (current bit, current run length capped at 26) that counts the
  // runs crossing byte borders. Index 12 of `runs` is a sink for "no run closed".
  const hist = new Int32Array(256);
  const runs = new Int32Array(13); // runs[bit * 6 + min(len, 6) - 1]
  const step = t.step;
  let state = (block[0] as number) >> 7 === 1 ? RUN_STATES_PER_BIT : 0; // run length 0 of the first bit
  let longRun = 0;
  for (let i = 0; i < block.length; i++) {
    const byte = block[i] as number;
    hist[byte] = (hist[byte] as number) + 1;
    const e = step[(state << 8) | byte] as number; // next | close1 << 8 | close2 << 16 | long << 24
    const c1 = (e >>> 8) & 0xff;
    const c2 = (e >>> 16) & 0xff;
    runs[c1] = (runs[c1] as number) + 1;
    runs[c2] = (runs[c2] as number) + 1;
    longRun |= e >>> 24;
    state = e & 0xff;
  }
  {
    const bit = state >= RUN_STATES_PER_BIT ? 1 : 0;
    const run = state - bit * RUN_STATES_PER_BIT;
    const k = bit * 6 + Math.min(run, 6) - 1;
    runs[k] = (runs[k] as number) + 1;
    if (run >= 26) longRun = 1;
  }
  let ones = 0;
  const nibbles = new Float64Array(16);
  for (let v = 0; v < 256; v++) {
    const n = hist[v] as number;
    if (n === 0) continue;
    ones += (t.popcount[v] as number) * n;
    nibbles[v >> 4] = (nibbles[v >> 4] as number) + n;
    nibbles[v & 15] = (nibbles[v & 15] as number) + n;
    for (const k of t.inner[v] as number[]) runs[k] = (runs[k] as number) + n;
  }
  let sumSq = 0;
  for (const n of nibbles) sumSq += n * n;
  const poker = (16 / 5000) * sumSq - 5000;
  let runsOk = true;
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < 6; i++) {
      const n = runs[b * 6 + i] as number;
      const [lo, hi] = RUN_BOUNDS[i] as readonly [number, number];
      if (n < lo || n > hi) runsOk = false;
    }
  }
  return {
    monobit: ones > 9725 && ones < 10275,
    poker: poker > 2.16 && poker < 46.17,
    runs: runsOk,
    longRun: longRun === 0,
  };
}

/** States per bit value of the run state machine: run lengths 0..26 (26 means 26 or more). */
const RUN_STATES_PER_BIT = 27;

interface Tables {
  readonly popcount: Uint8Array;
  /** Runs strictly between the leading and trailing runs of a byte, as indexes bit * 6 + min(len, 6) - 1. */
  readonly inner: number[][];
  /**
   * Indexed by (state << 8) | byte, packed: next state | first run closed << 8 | second run closed << 16 |
   * a long run closed << 24 (run index 12 = none).
   */
  readonly step: Uint32Array;
}

let cached: Tables | null = null;

/**
 * The block tests' lookup tables in the layout of the WebAssembly kernel (hrng/wasm/kernels.as, fipsBlock): the
 * run state machine as 54 x 256 u16, and per byte value 8 bytes: the count of its inner runs, then their indexes.
 */
export function fipsKernelTables(): { readonly step: Uint16Array; readonly inner: Uint8Array } {
  const t = tables();
  // Packed in 16 bits so the table (27 KiB) stays in a first-level cache: next state (6 bits) | the pair of runs
  // closed (first x 13 + second, 12 = none: 169 kinds, 8 bits) << 6 | long run closed << 14.
  const step = new Uint16Array(t.step.length);
  for (let j = 0; j < step.length; j++) {
    const e = t.step[j] as number;
    step[j] = (e & 0x3f) | ((((e >>> 8) & 0xf) * 13 + ((e >>> 16) & 0xf)) << 6) | ((e >>> 24) << 14);
  }
  const inner = new Uint8Array(256 * 8);
  for (let v = 0; v < 256; v++) {
    const runs = t.inner[v] as number[];
    inner[v * 8] = runs.length;
    runs.forEach((k, j) => {
      inner[v * 8 + 1 + j] = k;
    });
  }
  return { step, inner };
}

function tables(): Tables {
  if (cached) return cached;
  const popcount = new Uint8Array(256);
  const inner: number[][] = [];
  const lead = new Uint8Array(256);
  const trail = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const bits = Array.from({ length: 8 }, (_, k) => (v >> (7 - k)) & 1);
    popcount[v] = bits.reduce((a, b) => a + b, 0);
    const segs: [number, number][] = [];
    for (const b of bits) {
      const last = segs[segs.length - 1];
      if (last && last[0] === b) last[1]++;
      else segs.push([b, 1]);
    }
    lead[v] = (segs[0] as [number, number])[1];
    trail[v] = (segs[segs.length - 1] as [number, number])[1];
    inner.push(segs.slice(1, -1).map(([b, len]) => b * 6 + Math.min(len, 6) - 1));
  }
  const states = 2 * RUN_STATES_PER_BIT;
  const next = new Uint8Array(states * 256);
  const close1 = new Uint8Array(states * 256).fill(12);
  const close2 = new Uint8Array(states * 256).fill(12);
  const long = new Uint8Array(states * 256);
  const idx = (bit: number, len: number) => bit * 6 + Math.min(len, 6) - 1;
  const st = (bit: number, len: number) => bit * RUN_STATES_PER_BIT + Math.min(len, 26);
  for (let s = 0; s < states; s++) {
    const bit = s >= RUN_STATES_PER_BIT ? 1 : 0;
    const run = s - bit * RUN_STATES_PER_BIT;
    for (let v = 0; v < 256; v++) {
      const j = (s << 8) | v;
      const first = v >> 7;
      const l = lead[v] as number;
      const last = v & 1;
      const tr = trail[v] as number;
      if (first === bit) {
        if (l === 8) {
          next[j] = st(bit, run + 8);
        } else {
          close1[j] = idx(bit, run + l);
          long[j] = run + l >= 26 ? 1 : 0;
          next[j] = st(last, tr);
        }
      } else {
        if (run > 0) {
          close1[j] = idx(bit, run);
          long[j] = run >= 26 ? 1 : 0;
        }
        if (l === 8) {
          next[j] = st(first, 8);
        } else {
          close2[j] = idx(first, l);
          next[j] = st(last, tr);
        }
      }
    }
  }
  const step = new Uint32Array(states * 256);
  for (let j = 0; j < step.length; j++) {
    step[j] =
      ((next[j] as number) |
        ((close1[j] as number) << 8) |
        ((close2[j] as number) << 16) |
        ((long[j] as number) << 24)) >>>
      0;
  }
  cached = { popcount, inner, step };
  return cached;
}

/**
 * The same tests bit by bit, the plain way: the reference the table-driven {@link fipsTestBlock} is checked
 * against in test/hrng/fips.test.ts.
 *
 * @throws RangeError when the block is not 2500 bytes
 */
export function fipsTestBlockReference(block: Uint8Array): FipsVerdict {
  if (block.length !== FIPS_BLOCK_BYTES) throw new RangeError('block must be 2500 bytes');
  let ones = 0;
  const nibbles = new Array<number>(16).fill(0);
  const runs = [new Array<number>(6).fill(0), new Array<number>(6).fill(0)];
  let longRun = false;
  let bit = -1;
  let run = 0;
  const close = () => {
    if (bit < 0) return;
    const r = runs[bit] as number[];
    const i = Math.min(run, 6) - 1;
    r[i] = (r[i] as number) + 1;
    if (run >= 26) longRun = true;
  };
  for (const byte of block) {
    nibbles[byte >> 4] = (nibbles[byte >> 4] as number) + 1;
    nibbles[byte & 15] = (nibbles[byte & 15] as number) + 1;
    for (let k = 7; k >= 0; k--) {
      const b = (byte >> k) & 1;
      ones += b;
      if (b === bit) {
        run++;
      } else {
        close();
        bit = b;
        run = 1;
      }
    }
  }
  close();
  let sumSq = 0;
  for (const n of nibbles) sumSq += n * n;
  const poker = (16 / 5000) * sumSq - 5000;
  const runsOk = runs.every((r) =>
    r.every((n, i) => n >= (RUN_BOUNDS[i] as readonly number[])[0]! && n <= (RUN_BOUNDS[i] as readonly number[])[1]!),
  );
  return {
    monobit: ones > 9725 && ones < 10275,
    poker: poker > 2.16 && poker < 46.17,
    runs: runsOk,
    longRun: !longRun,
  };
}

/** Running FIPS statistics over a byte stream: cut into blocks, tested, counted. */
export class FipsMonitor {
  private readonly buf = new Uint8Array(FIPS_BLOCK_BYTES);
  private len = 0;
  blocks = 0;
  /** Blocks that failed at least one test. */
  blocksFailed = 0;
  readonly failures: Record<FipsTestName, number> = { monobit: 0, poker: 0, runs: 0, longRun: 0 };
  /** The verdict of the last complete block, or null before the first. */
  last: FipsVerdict | null = null;
  /** True when the last complete block failed at least one test. */
  lastFailed = false;

  /** Bytes of the block in progress. */
  get pendingBytes(): number {
    return this.len;
  }

  /** Forget all counts and the block in progress. */
  reset(): void {
    this.buf.fill(0);
    this.len = 0;
    this.blocks = 0;
    this.blocksFailed = 0;
    for (const t of ['monobit', 'poker', 'runs', 'longRun'] as const) this.failures[t] = 0;
    this.last = null;
    this.lastFailed = false;
  }

  /** Feed raw bytes; complete blocks are tested. */
  feed(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length) {
      if (this.len === 0 && bytes.length - i >= FIPS_BLOCK_BYTES) {
        // A whole block straight from the input.
        this.count(fipsTestBlock(bytes.subarray(i, i + FIPS_BLOCK_BYTES)));
        i += FIPS_BLOCK_BYTES;
        continue;
      }
      const n = Math.min(FIPS_BLOCK_BYTES - this.len, bytes.length - i);
      this.buf.set(bytes.subarray(i, i + n), this.len);
      this.len += n;
      i += n;
      if (this.len === FIPS_BLOCK_BYTES) {
        this.count(fipsTestBlock(this.buf));
        this.len = 0;
      }
    }
  }

  private count(v: FipsVerdict): void {
    this.blocks++;
    let bad = false;
    for (const t of ['monobit', 'poker', 'runs', 'longRun'] as const) {
      if (!v[t]) {
        this.failures[t]++;
        bad = true;
      }
    }
    if (bad) this.blocksFailed++;
    this.lastFailed = bad;
    this.last = v;
  }
}
