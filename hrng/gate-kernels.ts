/**
 * The health gate's seven continuous tests with their per-byte loops in WebAssembly (hrng/wasm/kernels.as), all
 * in one {@link KernelMemory} per gate so that each chunk is copied in once and read by every test there.
 *
 * Each class is the same test, with the same cutoffs, windows, latching and counters, as its JavaScript
 * reference (health.ts, periodic-test.ts, repeat-test.ts, estimate-tests.ts, fips-rate.ts): the per-byte work
 * runs in a kernel, the per-window decisions (estimates, cutoffs, the FIPS failure ring) stay in the same
 * JavaScript. test/hrng/kernels.test.ts feeds both the same streams, in random chunkings, and compares every
 * failure index and counter.
 */

import {
  APT_WINDOW_BYTES,
  aptCutoff,
  collisionBound,
  collisionCutoff,
  fipsRateCutoff,
  mcvCutoff,
  periodicRepeatLength,
  rctCutoff,
} from './cutoffs.js';
import {
  COLLISION_STEP_BYTES,
  COLLISION_STEPS,
  COLLISION_TABLE,
  collisionEstimate,
  MCV_STEP,
  MCV_WINDOW,
  mcvEstimate,
} from './estimate-tests.js';
import { FIPS_BLOCK_BYTES, type FipsTestName, type FipsVerdict, fipsKernelTables } from './fips.js';
import { FIPS_RATE_WINDOW } from './fips-rate.js';
import { type KernelExports, type KernelMemory, STAGE_BYTES, Stage } from './kernels.js';
import { PERIODIC_MAX_PERIOD } from './periodic-test.js';
import { REPEAT_BLOCK_BYTES, REPEAT_HISTORY_BYTES } from './repeat-test.js';

/** Bytes of the stream every test may read before its input (the periodic test: maxPeriod + L). */
export const STAGE_HISTORY = 8192;

/** A test that reads its input from kernel memory (with {@link STAGE_HISTORY} bytes of the stream before it). */
export interface StagedTest {
  /** Test `len` bytes at offset `p` of the shared memory. @returns the index (0-based in them) of the failing byte, or -1 */
  feedStaged(p: number, len: number): number;
  reset(): void;
  readonly failed: boolean;
}

/** Base: the shared memory, and feedMany through a stage of its own for direct use. */
abstract class KernelTest implements StagedTest {
  protected readonly k: KernelExports;
  private ownStage: Stage | null = null;
  protected failedFlag = false;

  constructor(protected readonly mem: KernelMemory) {
    this.k = mem.k;
  }

  get failed(): boolean {
    return this.failedFlag;
  }

  abstract feedStaged(p: number, len: number): number;
  abstract reset(): void;

  /**
   * Test `bytes[start..end)` (copied into kernel memory in pieces).
   * @returns the index of the byte at which the test failed, or -1
   */
  feedMany(bytes: Uint8Array, start = 0, end = bytes.length): number {
    if (this.failedFlag) return start < end ? start : -1;
    this.ownStage ??= new Stage(this.mem, 1 << 16, STAGE_HISTORY);
    const stage = this.ownStage;
    for (let o = start; o < end; o += stage.bytes) {
      const n = Math.min(stage.bytes, end - o);
      const p = stage.put(bytes.subarray(o, o + n));
      const at = this.feedStaged(p, n);
      if (at >= 0) return o + at;
    }
    return -1;
  }

  protected i32(at: number): Int32Array {
    return new Int32Array(this.mem.u8.buffer, at);
  }
}

/** Repetition Count Test (SP 800-90B 4.4.1), as {@link import('./health.js').RepetitionCountTest}. */
export class KernelRct extends KernelTest {
  readonly cutoff: number;
  private readonly st: number;

  /** @throws RangeError for bad parameters */
  constructor(mem: KernelMemory, alphaLog2: number, h: number) {
    super(mem);
    this.cutoff = rctCutoff(alphaLog2, h);
    this.st = mem.alloc(16);
    const s = this.i32(this.st);
    s[0] = -1;
    s[3] = this.cutoff;
  }

  /** Longest run seen (a statistic, kept across resets as in the reference). */
  get longestRun(): number {
    return this.i32(this.st)[2] as number;
  }

  feedStaged(p: number, len: number): number {
    if (this.failedFlag) return len > 0 ? 0 : -1;
    const at = this.k.rct(this.st, p, len);
    if (at >= 0) this.failedFlag = true;
    return at;
  }

  reset(): void {
    const s = this.i32(this.st);
    s[0] = -1;
    s[1] = 0;
    this.failedFlag = false;
  }
}

/** Adaptive Proportion Test (SP 800-90B 4.4.2), as {@link import('./health.js').AdaptiveProportionTest}. */
export class KernelApt extends KernelTest {
  readonly cutoff: number;
  readonly window = APT_WINDOW_BYTES;
  private readonly st: number;

  /** @throws RangeError for bad parameters */
  constructor(mem: KernelMemory, alphaLog2: number, h: number) {
    super(mem);
    this.cutoff = aptCutoff(alphaLog2, h);
    this.st = mem.alloc(24);
    const s = this.i32(this.st);
    s[0] = -1;
    s[4] = this.cutoff;
    s[5] = this.window;
  }

  /** Highest count seen in any window (kept across resets as in the reference). */
  get maxCount(): number {
    return this.i32(this.st)[3] as number;
  }

  feedStaged(p: number, len: number): number {
    if (this.failedFlag) return len > 0 ? 0 : -1;
    const at = this.k.apt(this.st, p, len);
    if (at >= 0) this.failedFlag = true;
    return at;
  }

  reset(): void {
    const s = this.i32(this.st);
    s[0] = -1;
    s[1] = 0;
    s[2] = 0;
    this.failedFlag = false;
  }
}

const PERIODIC_SLOTS = 1 << 14;
const PERIODIC_BASE = 0x01000193;

/**
 * Periodic-structure test, as {@link import('./periodic-test.js').PeriodicTest}: the same rolling hash, table
 * size and byte-by-byte confirmation, reading the stream in place (with {@link STAGE_HISTORY} bytes before it)
 * instead of from a ring. Failures are the reference's exactly; the `candidates` statistic can differ only
 * after 4 GiB (see kernels.as).
 */
export class KernelPeriodic extends KernelTest {
  readonly length: number;
  readonly maxPeriod: number;
  private readonly st: number;
  private readonly table: number;

  /** @throws RangeError for out-of-range parameters */
  constructor(mem: KernelMemory, alphaLog2: number, h: number, maxPeriod = PERIODIC_MAX_PERIOD) {
    super(mem);
    this.length = periodicRepeatLength(alphaLog2, h, maxPeriod);
    if (maxPeriod > PERIODIC_MAX_PERIOD || maxPeriod + this.length + 1 > STAGE_HISTORY) {
      throw new RangeError('maxPeriod too long');
    }
    this.maxPeriod = maxPeriod;
    this.st = mem.alloc(40);
    this.table = mem.alloc(PERIODIC_SLOTS * 8);
    this.reset();
  }

  /** Positions where a candidate repeat was checked byte by byte (a statistic). */
  get candidates(): number {
    return Number(new DataView(this.mem.u8.buffer).getBigInt64(this.st + 8, true));
  }

  /** Distance of the repeat that failed the test, or 0. */
  get period(): number {
    return this.i32(this.st)[5] as number;
  }

  feedStaged(p: number, len: number): number {
    if (this.failedFlag) return len > 0 ? 0 : -1;
    const at = this.k.periodic(this.st, this.table, p, len);
    if (at >= 0) this.failedFlag = true;
    return at;
  }

  reset(): void {
    const u8 = this.mem.u8;
    u8.fill(0, this.st, this.st + 40);
    u8.fill(0, this.table, this.table + PERIODIC_SLOTS * 8);
    let b = 1;
    for (let i = 0; i < this.length - 1; i++) b = Math.imul(b, PERIODIC_BASE);
    const s = this.i32(this.st);
    s[6] = this.length;
    s[7] = this.maxPeriod;
    s[8] = b;
    this.failedFlag = false;
  }
}

/**
 * Repeated 64-byte block test, as {@link import('./repeat-test.js').RepeatedBlockTest}: the same fingerprints,
 * history and generations, kept in buckets of one cache line instead of open addressing (kernels.as), so a
 * block is found exactly when the reference finds it (barring a 63-bit fingerprint collision, about 2^-60 per
 * block for both).
 */
export class KernelRepeat extends KernelTest {
  readonly historyBytes: number;
  private readonly st: number;
  private readonly gens: number;
  private readonly partial: number;
  private readonly slots: number;
  private readonly prints: number;
  private dirty = false;
  /** Repeats found (0 or 1: the test latches at the first). */
  repeats = 0;

  /** @throws RangeError for a bad history size */
  constructor(mem: KernelMemory, historyBytes = REPEAT_HISTORY_BYTES) {
    super(mem);
    if (!Number.isInteger(historyBytes) || historyBytes < 4096 || (historyBytes & (historyBytes - 1)) !== 0) {
      throw new RangeError('historyBytes must be a power of two >= 4096');
    }
    this.historyBytes = historyBytes;
    const perGeneration = historyBytes / REPEAT_BLOCK_BYTES;
    this.slots = 2 * perGeneration;
    this.st = mem.alloc(32);
    this.gens = mem.alloc(2 * this.slots * 8, 64); // buckets of one cache line
    this.partial = mem.alloc(REPEAT_BLOCK_BYTES);
    this.prints = mem.alloc((STAGE_BYTES / REPEAT_BLOCK_BYTES + 1) * 8);
    const s = this.i32(this.st);
    s[6] = this.slots;
    s[7] = perGeneration;
  }

  /** Blocks checked since the last reset. */
  get blocks(): number {
    return new Float64Array(this.mem.u8.buffer, this.st, 1)[0] as number;
  }

  feedStaged(p: number, len: number): number {
    if (this.failedFlag) return len > 0 ? 0 : -1;
    this.dirty = true;
    const at = this.k.repeat(this.st, this.gens, this.partial, this.prints, p, len);
    if (at >= 0) {
      this.failedFlag = true;
      this.repeats++;
      this.mem.u8.fill(0, this.partial, this.partial + REPEAT_BLOCK_BYTES);
    }
    return at;
  }

  reset(): void {
    const u8 = this.mem.u8;
    // The history is tens of MiB: zeroed only when something was put in it since.
    if (this.dirty) u8.fill(0, this.gens, this.gens + 2 * this.slots * 8);
    this.dirty = false;
    u8.fill(0, this.partial, this.partial + REPEAT_BLOCK_BYTES);
    u8.fill(0, this.st, this.st + 24);
    this.failedFlag = false;
    this.repeats = 0;
  }
}

/**
 * Sliding most-common-value test, as {@link import('./estimate-tests.js').McvTest}: the window's counts are kept
 * as the sum of its steps' histograms (kernels.as, mcvScan / mcvStep), so each byte costs one increment; the
 * counts at every evaluation are the reference's exactly.
 */
export class KernelMcv extends KernelTest {
  readonly cutoff: number;
  readonly window: number;
  readonly step: number;
  private readonly steps: number;
  private readonly hist: number;
  private readonly hists: number;
  private readonly counts: number;
  private n = 0;
  evaluations = 0;
  maxCount = 0;
  estimate: number | null = null;
  minEstimate: number | null = null;

  /** @throws RangeError for out-of-range parameters */
  constructor(mem: KernelMemory, alphaLog2: number, h: number, window = MCV_WINDOW, step = MCV_STEP) {
    super(mem);
    if (!Number.isInteger(window) || !Number.isInteger(step) || step < 1 || window % step) {
      throw new RangeError('window must be a multiple of step');
    }
    this.window = window;
    this.step = step;
    this.steps = window / step;
    this.cutoff = mcvCutoff(alphaLog2, h, window, step);
    this.hist = mem.alloc(4096);
    this.hists = mem.alloc(this.steps * 1024);
    this.counts = mem.alloc(1024);
  }

  feedStaged(p: number, len: number): number {
    if (this.failedFlag) return len > 0 ? 0 : -1;
    const W = this.window;
    let n = this.n;
    let i = 0;
    while (i < len) {
      const k = Math.min(len - i, this.step - (n % this.step));
      this.k.mcvScan(this.hist, p + i, k);
      n += k;
      i += k;
      if (n % this.step !== 0) continue;
      const slot = this.hists + ((n / this.step - 1) % this.steps) * 1024;
      this.k.mcvStep(this.hist, slot, this.counts);
      if (n >= W) {
        const max = this.k.mcvMax(this.counts);
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

  reset(): void {
    const u8 = this.mem.u8;
    u8.fill(0, this.hist, this.hist + 4096);
    u8.fill(0, this.hists, this.hists + this.steps * 1024);
    u8.fill(0, this.counts, this.counts + 1024);
    this.n = 0;
    this.failedFlag = false;
    this.evaluations = 0;
    this.maxCount = 0;
    this.estimate = null;
    this.minEstimate = null;
  }
}

/** Sliding collision test, as {@link import('./estimate-tests.js').CollisionTest}. */
export class KernelCollision extends KernelTest {
  readonly stepBytes: number;
  readonly steps: number;
  private readonly bound: { r: number; lnInvAlpha: number };
  private readonly shortRing: Int32Array;
  private readonly allRing: Int32Array;
  private readonly table: number;
  private readonly ret: number;
  private state = 0;
  private inStep = 0;
  private stepShort = 0;
  private stepAll = 0;
  private stepIndex = 0;
  evaluations = 0;
  maxShortFraction = 0;
  estimate: number | null = null;
  minEstimate: number | null = null;

  /** @throws RangeError for out-of-range parameters */
  constructor(
    mem: KernelMemory,
    alphaLog2: number,
    h: number,
    stepBytes = COLLISION_STEP_BYTES,
    steps = COLLISION_STEPS,
  ) {
    super(mem);
    if (!Number.isInteger(stepBytes) || stepBytes < 1 || !Number.isInteger(steps) || steps < 1) {
      throw new RangeError('stepBytes and steps must be positive integers');
    }
    this.stepBytes = stepBytes;
    this.steps = steps;
    this.bound = collisionBound(alphaLog2, h, stepBytes);
    this.shortRing = new Int32Array(steps);
    this.allRing = new Int32Array(steps);
    this.table = mem.alloc(COLLISION_TABLE.byteLength);
    mem.u8.set(
      new Uint8Array(COLLISION_TABLE.buffer, COLLISION_TABLE.byteOffset, COLLISION_TABLE.byteLength),
      this.table,
    );
    this.ret = mem.alloc(8 + 24 * 4); // [short, all] and the kernel's scratch
  }

  /** The cutoff for a window of v samples. */
  cutoffFor(v: number): number {
    return collisionCutoff(this.bound, v);
  }

  feedStaged(p: number, len: number): number {
    if (this.failedFlag) return len > 0 ? 0 : -1;
    let st = this.state;
    let i = 0;
    while (i < len) {
      const k = Math.min(len - i, this.stepBytes - this.inStep);
      st = this.k.collisionScan(this.table, st, p + i, k, this.ret);
      const r = this.i32(this.ret);
      this.stepShort += r[0] as number;
      this.stepAll += r[1] as number;
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

const FIPS_NAMES = ['monobit', 'poker', 'runs', 'longRun'] as const;

/** FIPS 140-2 block statistics, as {@link import('./fips.js').FipsMonitor}, blocks tested by the kernel. */
export class KernelFipsMonitor {
  private readonly k: KernelExports;
  private readonly buf: number;
  private readonly step: number;
  private readonly inner: number;
  private readonly work: number;
  private len = 0;
  blocks = 0;
  blocksFailed = 0;
  readonly failures: Record<FipsTestName, number> = { monobit: 0, poker: 0, runs: 0, longRun: 0 };
  last: FipsVerdict | null = null;
  lastFailed = false;

  constructor(private readonly mem: KernelMemory) {
    this.k = mem.k;
    const t = fipsKernelTables();
    this.step = mem.alloc(t.step.byteLength);
    mem.u8.set(new Uint8Array(t.step.buffer, t.step.byteOffset, t.step.byteLength), this.step);
    this.inner = mem.alloc(t.inner.length);
    mem.u8.set(t.inner, this.inner);
    this.work = mem.alloc(1024 + 128 + 169 * 4);
    this.buf = mem.alloc(FIPS_BLOCK_BYTES);
  }

  get pendingBytes(): number {
    return this.len;
  }

  reset(): void {
    this.mem.u8.fill(0, this.buf, this.buf + FIPS_BLOCK_BYTES);
    this.len = 0;
    this.blocks = 0;
    this.blocksFailed = 0;
    for (const t of FIPS_NAMES) this.failures[t] = 0;
    this.last = null;
    this.lastFailed = false;
  }

  /** Feed `len` bytes at offset p of the shared memory; complete blocks are tested. */
  feedStaged(p: number, len: number): void {
    let i = 0;
    while (i < len) {
      if (this.len === 0 && len - i >= FIPS_BLOCK_BYTES) {
        this.count(this.k.fipsBlock(this.step, this.inner, this.work, p + i));
        i += FIPS_BLOCK_BYTES;
        continue;
      }
      const n = Math.min(FIPS_BLOCK_BYTES - this.len, len - i);
      const u8 = this.mem.u8;
      u8.copyWithin(this.buf + this.len, p + i, p + i + n);
      this.len += n;
      i += n;
      if (this.len === FIPS_BLOCK_BYTES) {
        this.count(this.k.fipsBlock(this.step, this.inner, this.work, this.buf));
        this.len = 0;
      }
    }
  }

  private count(bits: number): void {
    const v: FipsVerdict = {
      monobit: (bits & 1) !== 0,
      poker: (bits & 2) !== 0,
      runs: (bits & 4) !== 0,
      longRun: (bits & 8) !== 0,
    };
    this.blocks++;
    let bad = false;
    for (const t of FIPS_NAMES) {
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

/** FIPS 140-2 failure-rate test, as {@link import('./fips-rate.js').FipsRateTest}. */
export class KernelFipsRate extends KernelTest {
  readonly window: number;
  readonly cutoff: number;
  readonly monitor: KernelFipsMonitor;
  private readonly ring: Uint8Array;
  private inWindow = 0;
  maxFailedInWindow = 0;

  /** @throws RangeError for out-of-range parameters */
  constructor(mem: KernelMemory, alphaLog2: number, window = FIPS_RATE_WINDOW) {
    super(mem);
    if (!Number.isInteger(window) || window < 8) throw new RangeError('window must be an integer >= 8');
    this.window = window;
    this.cutoff = fipsRateCutoff(alphaLog2, window);
    this.ring = new Uint8Array(window);
    this.monitor = new KernelFipsMonitor(mem);
  }

  get failedInWindow(): number {
    return this.inWindow;
  }

  feedStaged(p: number, len: number): number {
    if (this.failedFlag) return len > 0 ? 0 : -1;
    const m = this.monitor;
    let i = 0;
    while (i < len) {
      const before = m.blocks;
      const k = Math.min(len - i, FIPS_BLOCK_BYTES - m.pendingBytes);
      m.feedStaged(p + i, k);
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

  reset(): void {
    this.monitor.reset();
    this.ring.fill(0);
    this.inWindow = 0;
    this.failedFlag = false;
    this.maxFailedInWindow = 0;
  }
}
