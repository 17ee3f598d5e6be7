/**
 * The health gate of one source: runs the SP 800-90B continuous tests on every raw byte and releases bytes only
 * in whole windows that passed.
 *
 * - Start-up: the first `startupSamples` (1024) samples are held until all of them passed; only then are they
 *   released together.
 * - After start-up, bytes are held in windows of `window` (512, the APT window) and released when the window
 *   completes without a failure. The RCT runs continuously across windows.
 * - A failure latches: the failing window (or the whole start-up block) is zeroed and dropped, every later byte
 *   is dropped, and only {@link HealthGate.resume} (an explicit operator action) starts over, with a new
 *   start-up test.
 */
import { APT_WINDOW_BYTES } from './cutoffs.js';
import { AdaptiveProportionTest, type HealthTestName, RepetitionCountTest } from './health.js';

/** Where and why a gate failed. Only counts and names: never sample values. */
export interface HealthFailure {
  readonly test: HealthTestName;
  /** 'startup' when the start-up block failed, else 'continuous'. */
  readonly phase: 'startup' | 'continuous';
  /** Index (0-based, since the last resume) of the raw sample at which the test failed. */
  readonly sample: number;
  /** How many held bytes were dropped (the failing window). */
  readonly dropped: number;
}

/** Gate settings. */
export interface GateOptions {
  /** -log2(alpha). */
  readonly alphaLog2: number;
  /** Claimed min-entropy per byte, bits. */
  readonly h: number;
  /** Samples in the start-up test, default 1024. */
  readonly startupSamples?: number;
}

/** What one push produced. */
export interface GateResult {
  /** Bytes that passed and may be used. A fresh array the caller owns. */
  readonly released: Uint8Array;
  /** Set when this push caused the gate to fail. */
  readonly failure?: HealthFailure;
}

export type GateState = 'startup' | 'running' | 'failed';

/** Per-source health gate; see the module comment. */
export class HealthGate {
  readonly rct: RepetitionCountTest;
  readonly apt: AdaptiveProportionTest;
  readonly startupSamples: number;
  private readonly held: Uint8Array;
  private heldLen = 0;
  private stateValue: GateState = 'startup';
  private failureValue: HealthFailure | null = null;
  private samples = 0;
  /** Windows (and the start-up block) that passed since construction. */
  windowsPassed = 0;
  /** Bytes released since construction. */
  bytesReleased = 0;

  /**
   * @param opts - alpha, claimed entropy, start-up length
   * @throws RangeError for bad parameters
   */
  constructor(opts: GateOptions) {
    this.rct = RepetitionCountTest.forEntropy(opts.alphaLog2, opts.h);
    this.apt = AdaptiveProportionTest.forEntropy(opts.alphaLog2, opts.h);
    this.startupSamples = opts.startupSamples ?? 1024;
    if (!Number.isInteger(this.startupSamples) || this.startupSamples < 1 || this.startupSamples % APT_WINDOW_BYTES) {
      // A whole number of APT windows keeps the held windows aligned with the APT's own windows.
      throw new RangeError('startupSamples must be a positive multiple of 512');
    }
    this.held = new Uint8Array(Math.max(this.startupSamples, APT_WINDOW_BYTES));
  }

  get state(): GateState {
    return this.stateValue;
  }

  /** The latched failure, or null. */
  get failure(): HealthFailure | null {
    return this.failureValue;
  }

  /** Samples tested since the last resume. */
  get samplesTested(): number {
    return this.samples;
  }

  /** Bytes held back, waiting for their window to finish. */
  get heldBytes(): number {
    return this.heldLen;
  }

  private blockSize(): number {
    return this.stateValue === 'startup' ? this.startupSamples : this.apt.window;
  }

  /**
   * Test raw bytes and return what may be released. After a failure nothing is ever released until resume.
   *
   * @param raw - raw bytes from the source (not kept; copied where held)
   */
  push(raw: Uint8Array): GateResult {
    if (this.stateValue === 'failed' || raw.length === 0) return { released: new Uint8Array(0) };
    // Both tests over the whole input in tight loops; the earlier failure (if any) is the one that counts.
    const fr = this.rct.feedMany(raw);
    const fa = this.apt.feedMany(raw);
    const failAt = fr < 0 ? fa : fa < 0 ? fr : Math.min(fr, fa);
    const tested = failAt < 0 ? raw.length : failAt;
    // Walk the window boundaries inside raw[0..tested): bytes up to the last completed block are released.
    let boundary = 0; // raw index up to which everything is released
    let held = this.heldLen;
    let pos = 0;
    while (pos < tested) {
      const need = this.blockSize() - held;
      if (tested - pos < need) break;
      pos += need;
      boundary = pos;
      held = 0;
      this.windowsPassed++;
      this.stateValue = 'running';
    }
    let released: Uint8Array;
    if (boundary > 0) {
      released = new Uint8Array(this.heldLen + boundary);
      released.set(this.held.subarray(0, this.heldLen), 0);
      released.set(raw.subarray(0, boundary), this.heldLen);
      this.held.fill(0, 0, this.heldLen);
      this.heldLen = 0;
      this.bytesReleased += released.length;
    } else {
      released = new Uint8Array(0);
    }
    if (failAt >= 0) {
      const failure: HealthFailure = {
        test: fr === failAt ? 'rct' : 'apt',
        phase: this.stateValue === 'startup' ? 'startup' : 'continuous',
        sample: this.samples + failAt,
        dropped: this.heldLen + (failAt - boundary) + 1,
      };
      this.samples += failAt + 1;
      this.held.fill(0);
      this.heldLen = 0;
      this.stateValue = 'failed';
      this.failureValue = failure;
      return { released, failure };
    }
    this.samples += raw.length;
    this.held.set(raw.subarray(boundary), this.heldLen);
    this.heldLen += raw.length - boundary;
    return { released };
  }

  /**
   * Start over: forget any failure and everything held; the next bytes go through a new start-up test. Used for
   * the operator's resume and whenever the source is reopened.
   */
  resume(): void {
    this.rct.reset();
    this.apt.reset();
    this.held.fill(0);
    this.heldLen = 0;
    this.samples = 0;
    this.stateValue = 'startup';
    this.failureValue = null;
  }

  /** Drop whatever is held (source closed mid-window): those bytes never passed a whole window. */
  discardHeld(): number {
    const n = this.heldLen;
    this.held.fill(0);
    this.heldLen = 0;
    return n;
  }
}
