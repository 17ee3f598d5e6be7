/**
 * The health gate of one stream (a source's raw bytes, or the XOR of all sources): runs every continuous test
 * on every byte and holds bytes back until every test covering them has passed.
 *
 * Tests (each latches at its first failure; false-alarm rates in docs/HRNG.md):
 * - SP 800-90B 4.4: Repetition Count and Adaptive Proportion tests (health.ts);
 * - periodic structure: any repeat of L bytes at a distance up to 4096 (periodic-test.ts);
 * - repeated 64-byte block within the last 64 MiB (repeat-test.ts);
 * - sliding most-common-value and collision min-entropy tests against the claimed H (estimate-tests.ts);
 * - FIPS 140-2 failure rate over the last 128 blocks (fips-rate.ts).
 *
 * Holdback: a byte is released only once `holdbackBytes` (1 MiB) more bytes after it have passed every test,
 * and only in whole 512-byte units. Every test decides about a window of the stream within less than that
 * (the longest sliding window, the FIPS one, is 320,000 bytes), so a fault that a test catches within the
 * holdback of its start is caught before any byte from it leaves the gate, wherever it starts.
 *
 * A failure latches: every held byte is zeroed and dropped, nothing is released until {@link HealthGate.resume}
 * (an explicit operator action, or a reopened source), which restarts every test from nothing.
 */
import { ByteQueue } from './byte-queue.js';
import {
  KernelApt,
  KernelCollision,
  KernelFipsRate,
  KernelMcv,
  KernelPeriodic,
  KernelRct,
  KernelRepeat,
  STAGE_HISTORY,
  type StagedTest,
} from './gate-kernels.js';
import type { HealthTestName } from './health.js';
import { KernelMemory, STAGE_BYTES, Stage } from './kernels.js';
import { REPEAT_HISTORY_BYTES } from './repeat-test.js';

/** Default holdback: 1 MiB. */
export const HOLDBACK_BYTES = 1 << 20;

/** Bytes are released in multiples of this. */
export const RELEASE_UNIT = 512;

/** Where and why a gate failed. Only counts and names: never sample values. */
export interface HealthFailure {
  readonly test: HealthTestName;
  /** 'startup' when nothing had been released yet, else 'continuous'. */
  readonly phase: 'startup' | 'continuous';
  /** Index (0-based, since the last resume) of the sample at which the test failed. */
  readonly sample: number;
  /** How many held bytes were dropped. */
  readonly dropped: number;
}

/** Gate settings. */
export interface GateOptions {
  /** -log2(alpha), the false-alarm rate of each test per GiB of data meeting the claim (RCT and APT: per sample
   * 2^-(alphaLog2 + 30)). */
  readonly alphaLog2: number;
  /** Claimed min-entropy per byte, bits. */
  readonly h: number;
  /** Bytes held behind the tested frontier (default 1 MiB, a multiple of 512, at least 384 KiB). */
  readonly holdbackBytes?: number;
  /** History of the repeated-block test (default 64 MiB). */
  readonly repeatHistoryBytes?: number;
}

/** What one push produced. */
export interface GateResult {
  /** Bytes that passed and may be used. A fresh array the caller owns. */
  readonly released: Uint8Array;
  /** Set when this push caused the gate to fail. */
  readonly failure?: HealthFailure;
}

export type GateState = 'startup' | 'running' | 'failed';

/** Counters of every test, for `hrng status`, `hrng test` and the progress line. Numbers and names only. */
export interface GateCounters {
  readonly state: GateState;
  readonly tested: number;
  readonly held: number;
  readonly released: number;
  readonly failure: HealthFailure | null;
  readonly rct: { readonly cutoff: number; readonly longestRun: number; readonly failed: boolean };
  readonly apt: {
    readonly cutoff: number;
    readonly window: number;
    readonly maxCount: number;
    readonly failed: boolean;
  };
  readonly periodic: {
    readonly length: number;
    readonly maxPeriod: number;
    readonly candidates: number;
    readonly period: number;
    readonly failed: boolean;
  };
  readonly repeat: {
    readonly historyBytes: number;
    readonly blocks: number;
    readonly repeats: number;
    readonly failed: boolean;
  };
  readonly mcv: {
    readonly cutoff: number;
    readonly window: number;
    readonly evaluations: number;
    readonly maxCount: number;
    readonly estimate: number | null;
    readonly minEstimate: number | null;
    readonly failed: boolean;
  };
  readonly collision: {
    readonly evaluations: number;
    readonly maxShortFraction: number;
    readonly estimate: number | null;
    readonly minEstimate: number | null;
    readonly failed: boolean;
  };
  readonly fipsRate: {
    readonly cutoff: number;
    readonly window: number;
    readonly blocks: number;
    readonly blocksFailed: number;
    readonly failedInWindow: number;
    readonly maxFailedInWindow: number;
    readonly failed: boolean;
  };
}

/** Per-stream health gate; see the module comment. */
export class HealthGate {
  readonly h: number;
  readonly rct: KernelRct;
  readonly apt: KernelApt;
  readonly periodic: KernelPeriodic;
  readonly repeat: KernelRepeat;
  readonly mcv: KernelMcv;
  readonly collision: KernelCollision;
  readonly fipsRate: KernelFipsRate;
  readonly holdbackBytes: number;
  private readonly tests: readonly (readonly [HealthTestName, StagedTest])[];
  /** One WebAssembly memory for all seven tests: each chunk is copied in once (gate-kernels.ts). */
  private readonly mem = new KernelMemory();
  private readonly stage: Stage;
  private readonly held = new ByteQueue();
  private stateValue: GateState = 'startup';
  private failureValue: HealthFailure | null = null;
  private tested = 0;
  private releasedSinceResume = 0;
  /** 512-byte units released since construction. */
  windowsPassed = 0;
  /** Bytes released since construction. */
  bytesReleased = 0;

  /** @throws RangeError for bad parameters */
  constructor(opts: GateOptions) {
    const { alphaLog2, h } = opts;
    this.h = h;
    this.holdbackBytes = opts.holdbackBytes ?? HOLDBACK_BYTES;
    if (!Number.isInteger(this.holdbackBytes) || this.holdbackBytes % RELEASE_UNIT || this.holdbackBytes < 384 * 1024) {
      throw new RangeError('holdbackBytes must be a multiple of 512 and at least 384 KiB');
    }
    // SP 800-90B sets alpha per sample; onepad states every test's false-alarm rate per GiB (2^30 samples).
    const mem = this.mem;
    this.rct = new KernelRct(mem, alphaLog2 + 30, h);
    this.apt = new KernelApt(mem, alphaLog2 + 30, h);
    this.periodic = new KernelPeriodic(mem, alphaLog2, h);
    this.repeat = new KernelRepeat(mem, opts.repeatHistoryBytes ?? REPEAT_HISTORY_BYTES);
    this.mcv = new KernelMcv(mem, alphaLog2, h);
    this.collision = new KernelCollision(mem, alphaLog2, h);
    this.fipsRate = new KernelFipsRate(mem, alphaLog2);
    this.stage = new Stage(mem, STAGE_BYTES, STAGE_HISTORY);
    this.tests = [
      ['rct', this.rct],
      ['apt', this.apt],
      ['periodic', this.periodic],
      ['repeat', this.repeat],
      ['mcv', this.mcv],
      ['collision', this.collision],
      ['fips-rate', this.fipsRate],
    ];
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
    return this.tested;
  }

  /** Bytes held back, waiting for the tests to pass the holdback after them. */
  get heldBytes(): number {
    return this.held.length;
  }

  /**
   * Test raw bytes and return what may be released. After a failure nothing is ever released until resume.
   *
   * @param raw - bytes of the stream (not kept; copied where held)
   */
  push(raw: Uint8Array): GateResult {
    return this.test(raw, true);
  }

  /**
   * {@link push} for an array the caller hands over: held as it is, without a copy. The gate zeroes it when it
   * drops it (a failure, {@link discardHeld}, {@link resume}); released, it is the caller's again (in `released`).
   *
   * @param raw - bytes of the stream, no longer the caller's
   */
  pushOwned(raw: Uint8Array): GateResult {
    return this.test(raw, false);
  }

  private test(raw: Uint8Array, copy: boolean): GateResult {
    if (this.stateValue === 'failed' || raw.length === 0) {
      if (!copy) raw.fill(0);
      return { released: new Uint8Array(0) };
    }
    let failAt = -1;
    let failTest: HealthTestName = 'rct';
    // Every test sees the whole push (in pieces of the stage's size), as if fed it alone; the earliest failure
    // wins. A test that failed in an earlier piece is not asked again.
    for (let o = 0; o < raw.length; o += this.stage.bytes) {
      const n = Math.min(this.stage.bytes, raw.length - o);
      const p = this.stage.put(raw.subarray(o, o + n));
      for (const [name, test] of this.tests) {
        if (test.failed) continue;
        const at = test.feedStaged(p, n);
        if (at >= 0 && (failAt < 0 || o + at < failAt)) {
          failAt = o + at;
          failTest = name;
        }
      }
    }
    if (failAt >= 0) {
      const failure: HealthFailure = {
        test: failTest,
        phase: this.releasedSinceResume === 0 ? 'startup' : 'continuous',
        sample: this.tested + failAt,
        dropped: this.held.length + failAt + 1,
      };
      this.tested += failAt + 1;
      this.held.clear();
      if (!copy) raw.fill(0);
      this.stage.wipe();
      this.stateValue = 'failed';
      this.failureValue = failure;
      return { released: new Uint8Array(0), failure };
    }
    this.held.push(copy ? new Uint8Array(raw) : raw); // a copy, also for a Buffer (whose slice() is a view)
    this.tested += raw.length;
    const frontier = this.tested - this.holdbackBytes;
    const upTo = frontier > 0 ? frontier - (frontier % RELEASE_UNIT) : 0;
    const k = upTo - this.releasedSinceResume;
    if (k <= 0) return { released: new Uint8Array(0) };
    // Whole held chunks leave without a copy (each push's copy is a chunk of its own).
    const released = this.held.take(k);
    this.releasedSinceResume += k;
    this.bytesReleased += k;
    this.windowsPassed += k / RELEASE_UNIT;
    this.stateValue = 'running';
    return { released };
  }

  /** Start over: forget any failure, everything held and every test's state. */
  resume(): void {
    for (const [, t] of this.tests) t.reset();
    this.held.clear();
    this.stage.wipe();
    this.tested = 0;
    this.releasedSinceResume = 0;
    this.stateValue = 'startup';
    this.failureValue = null;
  }

  /** Drop whatever is held (source closed): those bytes never passed their holdback. */
  discardHeld(): number {
    // The stage keeps the stream's last bytes for the periodic test (like the reference's ring): it is zeroed at
    // a failure and at resume, when the tests start over, not here.
    return this.held.clear();
  }

  /** Every test's counters. */
  counters(): GateCounters {
    const f = this.fipsRate;
    return {
      state: this.stateValue,
      tested: this.tested,
      held: this.held.length,
      released: this.bytesReleased,
      failure: this.failureValue,
      rct: { cutoff: this.rct.cutoff, longestRun: this.rct.longestRun, failed: this.rct.failed },
      apt: { cutoff: this.apt.cutoff, window: this.apt.window, maxCount: this.apt.maxCount, failed: this.apt.failed },
      periodic: {
        length: this.periodic.length,
        maxPeriod: this.periodic.maxPeriod,
        candidates: this.periodic.candidates,
        period: this.periodic.period,
        failed: this.periodic.failed,
      },
      repeat: {
        historyBytes: this.repeat.historyBytes,
        blocks: this.repeat.blocks,
        repeats: this.repeat.repeats,
        failed: this.repeat.failed,
      },
      mcv: {
        cutoff: this.mcv.cutoff,
        window: this.mcv.window,
        evaluations: this.mcv.evaluations,
        maxCount: this.mcv.maxCount,
        estimate: this.mcv.estimate,
        minEstimate: this.mcv.minEstimate,
        failed: this.mcv.failed,
      },
      collision: {
        evaluations: this.collision.evaluations,
        maxShortFraction: this.collision.maxShortFraction,
        estimate: this.collision.estimate,
        minEstimate: this.collision.minEstimate,
        failed: this.collision.failed,
      },
      fipsRate: {
        cutoff: f.cutoff,
        window: f.window,
        blocks: f.monitor.blocks,
        blocksFailed: f.monitor.blocksFailed,
        failedInWindow: f.failedInWindow,
        maxFailedInWindow: f.maxFailedInWindow,
        failed: f.failed,
      },
    };
  }
}
