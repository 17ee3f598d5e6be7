/**
 * The filler: reads every configured source, gates each raw stream through its health tests, XORs the released
 * bytes of all sources together, gates that combined stream again (when there are several sources), extracts
 * it with the seeded Toeplitz extractor, and appends the extractor's output to the pool in synced chunks.
 *
 * - Combining is XOR: n combined bytes take exactly n released bytes from every source. The combined stream's
 *   claimed min-entropy is the highest of the sources' (the XOR of independent sources has at least the
 *   min-entropy of each); its own tests check that claim online (two sources sending one stream fail there).
 * - Extraction (extraction.ts): the first combined bytes ever make the seed, kept in the data dir; then each
 *   block of k = 1024 claimed bits gives k - 128 output bits. Only extractor output reaches the pool.
 * - Holdback: each gate releases a byte only after 1 MiB more passed every test (gate.ts).
 * - Batches: while a source answers every read in full, its raw bytes are gathered (up to 1 MiB) and gated in one
 *   push; a short read gates them at once. Gathered bytes are untested: they only ever go into the gate, in order.
 * - Any failure stops filling at once: a health test (HRNG_HEALTH_FAILED), a source gone (HRNG_SOURCE_LOST), a
 *   source far slower than configured or stalled (HRNG_SOURCE_SLOW), storage (STORAGE_FAILED). Nothing that is not
 *   yet in the pool is kept: held windows, released-but-uncombined bytes and the unsynced staging chunk are
 *   zeroed. Filling never continues with fewer sources than configured.
 * - Health and slow-source failures latch in the ledger (pool latch): {@link Filler.run} refuses until the
 *   operator calls {@link Filler.resume}, which records HRNG_RESUMED and restarts every start-up test.
 * - Events go to the EventLog; they carry source names, test names and counts, never bytes.
 */

import { dirname, join } from 'node:path';
import { type ErrorCode, OnepadError } from '../device/errors.js';
import type { EventLog } from '../device/events.js';
import { ByteQueue } from './byte-queue.js';
import { ExtractionStage } from './extraction.js';
import { type GateCounters, type HealthFailure, HealthGate } from './gate.js';
import type { EntropyPool } from './pool.js';
import type { RawSource } from './source.js';
import { writeStatus } from './status-file.js';
import { extractorShape } from './toeplitz.js';

/** Filler settings. */
export interface FillerOptions {
  readonly sources: readonly RawSource[];
  readonly pool: EntropyPool;
  readonly events?: EventLog;
  /** -log2(alpha) of the health tests (30 by default). */
  readonly alphaLog2?: number;
  /** Bytes per pool append, each synced before it is counted (default 65536). */
  readonly chunkBytes?: number;
  /** Largest single read from a source (default 4096). */
  readonly readBytes?: number;
  /** A read pending longer than this is a stalled source (default 10000 ms). */
  readonly stallTimeoutMs?: number;
  /** Window over which each source's rate is compared with its minBytesPerSecond (default 10000 ms). */
  readonly rateWindowMs?: number;
  /** Bytes each gate holds back behind its tested frontier (default 1 MiB). */
  readonly holdbackBytes?: number;
  /** History of the repeated-block tests (default 64 MiB). */
  readonly repeatHistoryBytes?: number;
  /** The extractor seed file (default `hrng-seed.bin` next to the pool file). */
  readonly seedPath?: string;
  /** The status file read by `hrng status` (default `hrng-status.json` next to the pool file; '' for none). */
  readonly statusPath?: string;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/** Per-source figures for the display and `hrng test`. Counts and verdicts only. */
export interface SourceStats {
  readonly name: string;
  readonly kind: string;
  readonly insecure: boolean;
  readonly claimedH: number;
  readonly rctCutoff: number;
  readonly aptCutoff: number;
  readonly rawBytes: number;
  readonly releasedBytes: number;
  readonly windowsPassed: number;
  readonly gate: 'startup' | 'running' | 'failed';
  readonly failure: HealthFailure | null;
  readonly longestRun: number;
  readonly maxAptCount: number;
  readonly fips: {
    readonly blocks: number;
    readonly blocksFailed: number;
    readonly monobit: number;
    readonly poker: number;
    readonly runs: number;
    readonly longRun: number;
  };
  /** Every test's counters. */
  readonly tests: GateCounters;
}

/** The combined stream and the extractor, for the display and `hrng status`. */
export interface CombinedStats {
  /** Counters of the combined stream's gate, or null with a single source (its gate is the source's). */
  readonly gate: GateCounters | null;
  readonly claimedH: number;
  readonly extractor: {
    readonly inBytes: number;
    readonly outBytes: number;
    readonly kBits: number;
    readonly epsilonLog2: number;
    readonly seeding: boolean;
    readonly seedBytesNeeded: number;
    readonly blocks: number;
  } | null;
}

export type FillerState = 'idle' | 'running' | 'full' | 'stopped' | 'failed';

/** Progress, for the display and the CLI. */
export interface FillProgress {
  readonly state: FillerState;
  /** Bytes in the pool. */
  readonly poolBytes: number;
  readonly capacity: number;
  /** Bytes appended in this run. */
  readonly appended: number;
  /** Appended bytes per second over this run. */
  readonly bytesPerSecond: number;
  /** Seconds until full at that rate, or null when unknown. */
  readonly secondsToFull: number | null;
  readonly insecure: boolean;
  readonly sources: readonly SourceStats[];
  readonly combined: CombinedStats;
}

/** How a run ended. */
export interface FillResult {
  readonly state: 'full' | 'stopped' | 'failed';
  readonly appended: number;
  /** The failure, when state is 'failed'. */
  readonly error?: OnepadError;
}

/** Options of one run. */
export interface RunOptions {
  /** Stop when this many bytes were appended in this run (default: until the pool is full). */
  readonly bytes?: number;
  /** Abort to stop (bytes already synced stay; the staging chunk is flushed). */
  readonly signal?: AbortSignal;
  /** Called after every append and at the end. */
  readonly onProgress?: (p: FillProgress) => void;
  /** Called once every source has opened, before the first read (the device clears a "source absent" notice). */
  readonly onOpened?: () => void /**
   * Sources already known to be absent (the device retries every few seconds): a failure to open one of these is
   * not recorded again as an event, so the log and the screen's warnings are not flooded.
   */;
  readonly knownAbsent?: readonly string[];
}

interface Lane {
  readonly source: RawSource;
  readonly gate: HealthGate;
  readonly queue: ByteQueue;
  /** Raw bytes read but not yet pushed through the gate (a source that keeps up is gated in batches). */
  batch: Uint8Array;
  batchLen: number;
  rawBytes: number;
  readStartedAt: number | null;
  windowBytes: number;
  windowReadMs: number;
  wake: (() => void) | null;
}

/** Bytes a lane processes between yields to the event loop. */
const YIELD_BYTES = 256 * 1024;

/**
 * Raw bytes a lane gathers before gating them, while its source answers every read in full. The gate's seven
 * tests and the extractor then each run over a long stretch with their tables in the cache, instead of taking
 * turns every read (measured in docs/HRNG.md). A read that returns less than asked for (the source has nothing
 * more at hand) is gated at once with what was gathered, so a slow source's bytes are never kept waiting.
 */
const GATE_BATCH_BYTES = 1 << 20;

/** Codes whose failure latches until an operator resumes. */
const LATCHING: readonly ErrorCode[] = ['HRNG_HEALTH_FAILED', 'HRNG_SOURCE_SLOW'];

/** See the module comment. */
export class Filler {
  private readonly pool: EntropyPool;
  private readonly events: EventLog | undefined;
  private readonly lanes: Lane[];
  private readonly chunkBytes: number;
  private readonly readBytes: number;
  private readonly stallTimeoutMs: number;
  private readonly rateWindowMs: number;
  private readonly now: () => number;
  private readonly insecureSources: boolean;
  private staging: Uint8Array;
  private spare: Uint8Array;
  private staged = 0;
  private inflight: Promise<void> | null = null;
  private inflightBytes = 0;
  private stateValue: FillerState = 'idle';
  private appended = 0;
  private target = Number.POSITIVE_INFINITY;
  private startedAt = 0;
  private finish: ((r: FillResult) => void) | null = null;
  private lastError: OnepadError | null = null;
  private onProgress: ((p: FillProgress) => void) | undefined;
  private readonly combinedGate: HealthGate | null;
  private readonly combinedH: number;
  private readonly seedPath: string;
  private readonly statusPath: string;
  private extraction: ExtractionStage | null = null;
  private readonly out = new ByteQueue();
  private lastStatusAt = 0;

  /**
   * @throws RangeError when there is no source, a parameter is out of range, or the claimed min-entropy is too
   *   low to extract from
   */
  constructor(opts: FillerOptions) {
    if (opts.sources.length === 0) throw new RangeError('at least one source is needed');
    const alphaLog2 = opts.alphaLog2 ?? 30;
    this.pool = opts.pool;
    this.events = opts.events;
    this.chunkBytes = opts.chunkBytes ?? 65536;
    this.readBytes = opts.readBytes ?? 4096;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? 10_000;
    this.rateWindowMs = opts.rateWindowMs ?? 10_000;
    this.now = opts.now ?? Date.now;
    if (!Number.isInteger(this.chunkBytes) || this.chunkBytes < 1) throw new RangeError('chunkBytes must be >= 1');
    this.staging = new Uint8Array(this.chunkBytes);
    this.spare = new Uint8Array(this.chunkBytes);
    const gateOpts = {
      alphaLog2,
      ...(opts.holdbackBytes !== undefined ? { holdbackBytes: opts.holdbackBytes } : {}),
      ...(opts.repeatHistoryBytes !== undefined ? { repeatHistoryBytes: opts.repeatHistoryBytes } : {}),
    };
    this.lanes = opts.sources.map((source) => ({
      source,
      gate: new HealthGate({ ...gateOpts, h: source.claimedH }),
      queue: new ByteQueue(),
      batch: new Uint8Array(0),
      batchLen: 0,
      rawBytes: 0,
      readStartedAt: null,
      windowBytes: 0,
      windowReadMs: 0,
      wake: null,
    }));
    this.insecureSources = opts.sources.some((s) => s.insecure);
    this.combinedH = Math.max(...opts.sources.map((s) => s.claimedH));
    extractorShape(this.combinedH); // refuses a claim too low to extract from
    this.combinedGate = opts.sources.length > 1 ? new HealthGate({ ...gateOpts, h: this.combinedH }) : null;
    const dir = dirname(this.pool.path);
    this.seedPath = opts.seedPath ?? join(dir, 'hrng-seed.bin');
    this.statusPath = opts.statusPath ?? join(dir, 'hrng-status.json');
  }

  get state(): FillerState {
    return this.stateValue;
  }

  /** The latched failure code, if any (survives restarts through the ledger). */
  latched(): string | null {
    return this.pool.latch();
  }

  /**
   * Operator action: clear a latched failure and restart every source's start-up test.
   * @throws OnepadError STORAGE_FAILED when the latch cannot be cleared
   */
  resume(): void {
    const was = this.pool.latch();
    this.pool.setLatch(null);
    for (const lane of this.lanes) lane.gate.resume();
    this.combinedGate?.resume();
    this.lastError = null;
    if (this.stateValue === 'failed') this.stateValue = 'idle';
    this.events?.record('HRNG_RESUMED', null, { was: was ?? 'none' });
  }

  /** Current progress and per-source statistics. */
  progress(): FillProgress {
    const elapsed = this.startedAt ? (this.now() - this.startedAt) / 1000 : 0;
    const rate = elapsed > 0 ? this.appended / elapsed : 0;
    const free = this.pool.free();
    return {
      state: this.stateValue,
      poolBytes: this.pool.available(),
      capacity: this.pool.capacity,
      appended: this.appended,
      bytesPerSecond: rate,
      secondsToFull: free === 0 ? 0 : rate > 0 ? free / rate : null,
      insecure: this.pool.insecure,
      sources: this.lanes.map((l) => laneStats(l)),
      combined: {
        gate: this.combinedGate?.counters() ?? null,
        claimedH: this.combinedH,
        extractor: this.extraction
          ? {
              ...this.extraction.shape,
              seeding: this.extraction.seeding,
              seedBytesNeeded: this.extraction.seedBytesNeeded,
              blocks: this.extraction.blocks,
            }
          : null,
      },
    };
  }

  /**
   * Fill until the pool is full, `bytes` were appended, the signal aborts, or something fails.
   * Opens every source first and closes them all at the end.
   *
   * @throws OnepadError the latched code (HRNG_HEALTH_FAILED or HRNG_SOURCE_SLOW) while a failure is latched
   * @throws Error when called while already running
   */
  async run(opts: RunOptions = {}): Promise<FillResult> {
    if (this.stateValue === 'running') throw new Error('filler is already running');
    const latch = this.pool.latch();
    if (latch) {
      const code = (latch.split(':')[0] ?? '') as ErrorCode;
      throw new OnepadError(LATCHING.includes(code) ? code : 'HRNG_HEALTH_FAILED', { latched: latch });
    }
    this.appended = 0;
    this.target = opts.bytes ?? Number.POSITIVE_INFINITY;
    this.onProgress = opts.onProgress;
    this.startedAt = this.now();
    this.stateValue = 'running';
    for (const lane of this.lanes) {
      // Every run reopens its sources: each one passes a new start-up test before any byte is used.
      lane.gate.resume();
      dropBatch(lane);
      lane.windowBytes = 0;
      lane.windowReadMs = 0;
      lane.readStartedAt = null;
    }
    this.combinedGate?.resume();
    const done = new Promise<FillResult>((resolve) => {
      this.finish = resolve;
    });
    const onAbort = () => this.end('stopped');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) this.end('stopped');
    try {
      // Loaded (or made from the first healthy bytes) per run, so a seed made by another process is picked up.
      this.extraction = new ExtractionStage({ h: this.combinedH, seedPath: this.seedPath });
    } catch (e) {
      this.fail(e instanceof OnepadError ? e : new OnepadError('HRNG_HEALTH_FAILED', { reason: 'extractor' }));
    }

    const opened: RawSource[] = [];
    for (const lane of this.lanes) {
      if (this.stateValue !== 'running') break;
      try {
        await lane.source.open();
        opened.push(lane.source);
      } catch (e) {
        const err =
          e instanceof OnepadError ? e : new OnepadError('HRNG_SOURCE_UNAVAILABLE', { source: lane.source.name });
        if (!opts.knownAbsent?.includes(lane.source.name)) {
          this.events?.record('HRNG_SOURCE_LOST', null, { source: lane.source.name, reason: 'open failed' });
        }
        this.fail(err);
      }
    }
    if (this.stateValue === 'running') opts.onOpened?.();
    if (this.pool.free() === 0 || this.appended >= this.target) this.end('full');
    const loops = this.stateValue === 'running' ? this.lanes.map((l) => this.laneLoop(l)) : [];
    const watchdog = this.stateValue === 'running' ? setInterval(() => this.watch(), this.watchInterval()) : null;

    const result = await done;
    if (watchdog) clearInterval(watchdog);
    opts.signal?.removeEventListener('abort', onAbort);
    for (const lane of this.lanes) lane.wake?.();
    await Promise.all(opened.map((s) => s.close()));
    await Promise.allSettled(loops);
    for (const lane of this.lanes) {
      dropBatch(lane);
      lane.queue.clear();
      lane.gate.discardHeld();
    }
    this.combinedGate?.discardHeld();
    this.extraction?.discard();
    this.out.clear();
    const last = this.progress();
    this.saveStatus(last, true);
    this.onProgress?.(last);
    return result;
  }

  private watchInterval(): number {
    return Math.max(10, Math.min(this.stallTimeoutMs, this.rateWindowMs) / 4);
  }

  private async laneLoop(lane: Lane): Promise<void> {
    // A source may run ahead of the others by a few chunks; then it waits for the combiner.
    const maxQueued = Math.max(this.chunkBytes, 4 * this.readBytes);
    let sinceYield = 0;
    while (this.stateValue === 'running') {
      if (lane.queue.length >= maxQueued) {
        await new Promise<void>((resolve) => {
          lane.wake = resolve;
        });
        lane.wake = null;
        continue;
      }
      const t0 = this.now();
      lane.readStartedAt = t0;
      let bytes: Uint8Array;
      try {
        bytes = await lane.source.read(this.readBytes);
      } catch (e) {
        lane.readStartedAt = null;
        if (this.stateValue !== 'running') return;
        // What the source sent before it went is tested first: a health failure in it is the failure to report.
        if (!this.gateGathered()) return;
        const err = e instanceof OnepadError ? e : new OnepadError('HRNG_SOURCE_LOST', { source: lane.source.name });
        this.events?.record('HRNG_SOURCE_LOST', null, {
          source: lane.source.name,
          reason: String(err.details.reason ?? err.code),
          rawBytes: lane.rawBytes,
        });
        this.fail(
          new OnepadError('HRNG_SOURCE_LOST', {
            source: lane.source.name,
            reason: String(err.details.reason ?? 'lost'),
          }),
        );
        return;
      }
      lane.readStartedAt = null;
      lane.windowReadMs += this.now() - t0;
      if (this.stateValue !== 'running') {
        bytes.fill(0);
        return;
      }
      lane.rawBytes += bytes.length;
      lane.windowBytes += bytes.length;
      sinceYield += bytes.length;
      // Gather while the source answers in full; gate the batch when it is full or a read comes back short.
      let n = 0;
      if (bytes.length >= this.readBytes || lane.batchLen > 0) {
        if (lane.batch.length === 0) lane.batch = new Uint8Array(GATE_BATCH_BYTES);
        n = Math.min(bytes.length, GATE_BATCH_BYTES - lane.batchLen);
        lane.batch.set(bytes.subarray(0, n), lane.batchLen);
        lane.batchLen += n;
      }
      const gateNow = bytes.length < this.readBytes || lane.batchLen === GATE_BATCH_BYTES;
      if (gateNow && lane.batchLen > 0) {
        const batch = lane.batch;
        const len = lane.batchLen;
        lane.batch = new Uint8Array(0);
        lane.batchLen = 0;
        // The gate keeps the batch itself as held bytes (no copy); it zeroes it when released or dropped.
        if (!this.gatePush(lane, batch.subarray(0, len), true)) {
          bytes.fill(0);
          return;
        }
      }
      // What did not fit the batch (or was never gathered) goes through the gate on its own.
      if (n < bytes.length && !this.gatePush(lane, bytes.subarray(n), false)) {
        bytes.fill(0);
        return;
      }
      bytes.fill(0);
      if (gateNow) this.combine();
      // A source that answers from memory would keep this loop in microtasks; yield now and then so the pool's
      // write and fdatasync callbacks (and the watchdog) get their turn.
      if (sinceYield >= YIELD_BYTES) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }

  /**
   * Gate every lane's gathered bytes now (a source is gone or slow: they would otherwise be dropped untested).
   * What they release stays queued and is dropped with the rest when the run fails. False when a gate failed
   * (then the health failure is what the run ends with).
   */
  private gateGathered(): boolean {
    for (const lane of this.lanes) {
      if (lane.batchLen === 0) continue;
      const batch = lane.batch.subarray(0, lane.batchLen);
      lane.batch = new Uint8Array(0);
      lane.batchLen = 0;
      if (!this.gatePush(lane, batch, true)) return false;
    }
    return true;
  }

  /** Push raw bytes through a lane's gate and queue what it releases; false when the gate failed (handled). */
  private gatePush(lane: Lane, raw: Uint8Array, owned: boolean): boolean {
    const res = owned ? lane.gate.pushOwned(raw) : lane.gate.push(raw);
    lane.queue.push(res.released);
    if (res.failure) {
      this.healthFailed(lane.source.name, res.failure);
      return false;
    }
    return true;
  }

  /** Stall and rate watchdog. */
  private watch(): void {
    if (this.stateValue !== 'running') return;
    const t = this.now();
    for (const lane of this.lanes) {
      if (lane.readStartedAt !== null && t - lane.readStartedAt > this.stallTimeoutMs) {
        this.slow(lane, 'stalled', 0);
        return;
      }
    }
    if (t - this.windowStart() < this.rateWindowMs) return;
    for (const lane of this.lanes) {
      const s = lane.source;
      const pending = lane.readStartedAt !== null ? t - lane.readStartedAt : 0;
      const readMs = lane.windowReadMs + pending;
      // Judge only a source the filler was actually waiting on for most of the window.
      if (s.minBytesPerSecond > 0 && readMs >= this.rateWindowMs / 2) {
        const rate = (lane.windowBytes * 1000) / readMs;
        if (rate < s.minBytesPerSecond) {
          this.slow(lane, 'slow', Math.round(rate));
          return;
        }
      }
      lane.windowBytes = 0;
      lane.windowReadMs = -pending;
    }
    this.rateWindowStartedAt = t;
  }

  private rateWindowStartedAt = 0;

  private windowStart(): number {
    if (this.rateWindowStartedAt < this.startedAt) this.rateWindowStartedAt = this.startedAt;
    return this.rateWindowStartedAt;
  }

  private slow(lane: Lane, reason: 'stalled' | 'slow', rate: number): void {
    if (!this.gateGathered()) return;
    const s = lane.source;
    this.events?.record('HRNG_SOURCE_SLOW', null, {
      source: s.name,
      reason,
      bytesPerSecond: rate,
      minBytesPerSecond: s.minBytesPerSecond,
    });
    this.fail(new OnepadError('HRNG_SOURCE_SLOW', { source: s.name, reason, bytesPerSecond: rate }));
  }

  private healthFailed(stream: string, f: HealthFailure): void {
    this.events?.record('HRNG_HEALTH_FAILURE', null, {
      source: stream,
      test: f.test,
      phase: f.phase,
      sample: f.sample,
      dropped: f.dropped,
    });
    this.fail(
      new OnepadError('HRNG_HEALTH_FAILED', { source: stream, test: f.test, phase: f.phase, sample: f.sample }),
    );
  }

  /**
   * XOR whatever every source has released, gate the result (several sources), extract it, and move the
   * extractor's output into the staging chunk. A full chunk goes to the pool while the next one fills (double
   * buffering); when the pool is still syncing the previous chunk, combining waits and the sources wait behind it.
   */
  private combine(): void {
    while (this.stateValue === 'running') {
      if (this.out.length < this.chunkBytes) {
        let k = Number.POSITIVE_INFINITY;
        for (const lane of this.lanes) k = Math.min(k, lane.queue.length);
        if (k > 0) {
          // One source: its released chunk is the stream itself (no copy when it is whole); several: XORed.
          const first = this.lanes[0] as Lane;
          const mixed = this.lanes.length === 1 ? first.queue.take(k) : new Uint8Array(k);
          if (this.lanes.length > 1) {
            this.lanes.forEach((lane, i) => {
              lane.queue.drainInto(mixed, i > 0);
            });
          }
          for (const lane of this.lanes) lane.wake?.();
          let healthy: Uint8Array = mixed;
          if (this.combinedGate) {
            const r = this.combinedGate.push(mixed);
            mixed.fill(0);
            if (r.failure) {
              this.healthFailed('combined', r.failure);
              return;
            }
            healthy = r.released;
          }
          try {
            this.out.push((this.extraction as ExtractionStage).push(healthy));
          } catch (e) {
            this.fail(e instanceof OnepadError ? e : new OnepadError('STORAGE_FAILED', { op: 'extractor seed' }));
            return;
          } finally {
            healthy.fill(0);
          }
        }
      }
      // The chunk ends at the chunk size, at the pool's free room, or at the run's target.
      const limit = Math.min(
        this.chunkBytes,
        this.pool.free() - this.inflightBytes,
        this.target - this.appended - this.inflightBytes,
      );
      const k = Math.min(this.out.length, limit - this.staged);
      if (k > 0) {
        this.out.drainInto(this.staging.subarray(this.staged, this.staged + k), false);
        this.staged += k;
      }
      if (this.staged > 0 && this.staged === limit && !this.inflight) {
        this.startFlush();
        continue;
      }
      break;
    }
  }

  /** Write the status file for `hrng status` (at most once a second unless `force`); never fails the fill. */
  private saveStatus(p: FillProgress, force = false): void {
    if (!this.statusPath) return;
    const t = Date.now();
    if (!force && t - this.lastStatusAt < 1000) return;
    this.lastStatusAt = t;
    writeStatus(this.statusPath, {
      time: t,
      progress: p,
      latch: this.pool.latch(),
      error: this.lastError ? { code: this.lastError.code, details: this.lastError.details } : null,
    });
  }

  /** Hand the staging chunk to the pool (async write + fdatasync + commit) and swap in the spare buffer. */
  private startFlush(): void {
    const buf = this.staging;
    const n = this.staged;
    this.staging = this.spare;
    this.spare = buf;
    this.staged = 0;
    this.inflightBytes = n;
    this.inflight = this.pool.appendAsync(buf.subarray(0, n), this.insecureSources).then(
      (appended) => {
        buf.fill(0, 0, n);
        this.appended += appended;
        this.inflight = null;
        this.inflightBytes = 0;
        if (this.stateValue !== 'running') return;
        const p = this.progress();
        this.saveStatus(p);
        this.onProgress?.(p);
        if (this.pool.free() === 0 || this.appended >= this.target) {
          this.end('full');
          return;
        }
        this.combine();
      },
      (e: unknown) => {
        buf.fill(0, 0, n);
        this.inflight = null;
        this.inflightBytes = 0;
        this.fail(e instanceof OnepadError ? e : new OnepadError('STORAGE_FAILED', { op: 'pool append' }));
      },
    );
  }

  /** Stop filling: wait for the chunk being synced, append what is staged (whole passed windows), resolve. */
  private end(state: 'full' | 'stopped'): void {
    if (this.stateValue !== 'running') return;
    this.stateValue = state;
    void (async () => {
      await this.inflight;
      if (this.staged > 0 && this.stateValue === state) {
        try {
          this.appended += await this.pool.appendAsync(this.staging.subarray(0, this.staged), this.insecureSources);
        } catch (e) {
          this.stateValue = 'running';
          this.fail(e instanceof OnepadError ? e : new OnepadError('STORAGE_FAILED', { op: 'pool append' }));
          return;
        } finally {
          this.staging.fill(0, 0, this.staged);
          this.staged = 0;
        }
      }
      this.finish?.({ state, appended: this.appended });
    })();
  }

  private fail(err: OnepadError): void {
    if (this.stateValue !== 'running') return;
    this.stateValue = 'failed';
    this.lastError = err;
    // Nothing that is not in the pool yet survives a failure. A chunk already being synced holds only bytes of
    // windows that passed; it completes and counts.
    this.staging.fill(0);
    this.staged = 0;
    for (const lane of this.lanes) {
      dropBatch(lane);
      lane.queue.clear();
      lane.gate.discardHeld();
    }
    this.combinedGate?.discardHeld();
    this.extraction?.discard();
    this.out.clear();
    if (LATCHING.includes(err.code)) {
      try {
        const test = err.details.test ?? err.details.reason;
        this.pool.setLatch(`${err.code}:${String(err.details.source ?? '')}${test ? `:${String(test)}` : ''}`);
      } catch {
        // The failure is still reported; the latch in memory (state 'failed') holds for this process.
      }
    }
    void (async () => {
      await this.inflight;
      this.finish?.({ state: 'failed', appended: this.appended, error: err });
    })();
  }

  /** The error that ended the last failed run, if any. */
  get error(): OnepadError | null {
    return this.lastError;
  }
}

/** Zero and drop the raw bytes a lane gathered but did not gate yet. */
function dropBatch(lane: Lane): void {
  lane.batch.fill(0);
  lane.batch = new Uint8Array(0);
  lane.batchLen = 0;
}

function laneStats(l: Lane): SourceStats {
  const fips = l.gate.fipsRate.monitor;
  return {
    name: l.source.name,
    kind: l.source.kind,
    insecure: l.source.insecure,
    claimedH: l.source.claimedH,
    rctCutoff: l.gate.rct.cutoff,
    aptCutoff: l.gate.apt.cutoff,
    rawBytes: l.rawBytes,
    releasedBytes: l.gate.bytesReleased,
    windowsPassed: l.gate.windowsPassed,
    gate: l.gate.state,
    failure: l.gate.failure,
    longestRun: l.gate.rct.longestRun,
    maxAptCount: l.gate.apt.maxCount,
    fips: {
      blocks: fips.blocks,
      blocksFailed: fips.blocksFailed,
      monobit: fips.failures.monobit,
      poker: fips.failures.poker,
      runs: fips.failures.runs,
      longRun: fips.failures.longRun,
    },
    tests: l.gate.counters(),
  };
}
