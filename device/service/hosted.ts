/**
 * What the device service runs beside its link server: the entropy pool's filler (the HRNG sources, health-tested,
 * XORed into the pool) and pairing when the user picks Start or Join on the screen. Both share one open pool, so
 * its counters have a single owner in a single process.
 */

import type { BindingInterface } from '@serialport/bindings-cpp';
import type { DeviceScreen } from '../../display/device-screen.js';
import { createSources, fillerSettings } from '../../hrng/factory.js';
import { Filler } from '../../hrng/filler.js';
import { requireKernels } from '../../hrng/kernels.js';
import { EntropyPool } from '../../hrng/pool.js';
import { pairOverLink } from '../../provisioning/pair.js';
import { type PairingMode, pairingModeFor } from '../../provisioning/pairing-mode.js';
import type { Config } from '../config/config.js';
import { prepareDataDir } from '../data-dir.js';
import type { DeviceEngine } from '../engine.js';
import type { OnepadError } from '../errors.js';
import { startupStep } from '../sd-notify.js';
import { sleepUnlessAborted } from '../sleep.js';
import { poolLimit } from '../storage.js';

export interface HostedOptions {
  readonly config: Config;
  /** The running engine: its ledger (held with the data dir's exclusive lock) and event log are shared, never
   * opened a second time. */
  readonly engine: DeviceEngine;
  readonly screen: DeviceScreen;
  /** Simulated hardware: the HRNG sources are simulated (insecure). */
  readonly simulated: boolean;
  /** The serialport binding for USB HRNGs (the device's main loads @serialport/bindings-cpp). */
  readonly binding?: BindingInterface;
  /** Let the screen start pairings (default true; the simulator's devices share loopback and cannot pair). */
  readonly pairing?: boolean;
  /** What to ask of the system around each pairing (default: from `pairing.modeRequest`). */
  readonly pairingMode?: PairingMode;
  /** How long to wait before topping the pool up again once it is full (default 5 s). */
  readonly refillIdleMs?: number;
  readonly log?: (line: string) => void;
}

export interface Hosted {
  readonly pool: EntropyPool;
  /** Why the pool is not filling right now without a latch (a source absent or unplugged), or null. */
  hrngNotice(): string | null;
  /** Settles when the pairing last started (if any) has ended, either way. */
  pairingSettled(): Promise<void>;
  /** Settles when the fill run in progress (if any) and the background burn have ended (after a Stop: stopped, and home redrawn with where they stopped). */
  jobsSettled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Open the pool on the engine's ledger, start filling it, and let the screen start pairings. The engine outlives
 * this: stop it before closing the engine.
 * A pairing that cannot request pairing mode (PAIRING_MODE_FAILED) fails like any other: recorded, logged.
 * @throws OnepadError HRNG_WASM_UNAVAILABLE (no WebAssembly SIMD), POOL_FILE_INVALID, STORAGE_FAILED,
 *   HRNG_SOURCE_UNAVAILABLE (a serial source with no binding)
 */
export function startHosted(o: HostedOptions): Hosted {
  const { config } = o;
  const layout = prepareDataDir(config.dataDir);
  const { ledger, events } = o.engine;
  // The health tests and the extractor run in WebAssembly SIMD: refuse to start without it, before anything opens.
  startupStep('checking the entropy kernels');
  requireKernels();
  startupStep('opening the pool');
  const pool = EntropyPool.open({
    db: ledger.db,
    path: layout.pool,
    maxBytes: poolLimit(config.hrng.poolMaxBytes, layout.root, layout.pool),
    events,
  });
  const ac = new AbortController();
  // A source that cannot be opened (the USB HRNG not plugged in) or that went away does not latch: the device runs
  // on, pairs from what the pool holds, says on its home screen which source is missing, and tries again every
  // refillIdleMs. Filling never goes on with fewer sources than configured (hrng/filler.ts).
  let notice: string | null = null;
  let absent: string[] = [];
  const setNotice = (n: string | null) => {
    if (n === notice) return;
    notice = n;
    o.screen.setHrngNotice(n);
  };

  // The owner's Stop on home stops the fill run in progress (it appends what passed the tests, as on SIGTERM) and
  // starts none until Resume; `paused` aborts on Stop, a fresh one is made on Resume.
  let stopped = false;
  let paused = new AbortController();
  let wake: (() => void) | null = null;
  let fillRun: Promise<unknown> = Promise.resolve();
  const untilResumed = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        ac.signal.removeEventListener('abort', done);
        wake = null;
        resolve();
      };
      wake = done;
      ac.signal.addEventListener('abort', done, { once: true });
    });

  // Fill until full, wait, top up again; a latched health failure stops it until the operator resumes
  // (`onepad hrng fill --resume`), and the home screen says HRNG FAILED meanwhile.
  const filling = (async () => {
    while (!ac.signal.aborted) {
      if (stopped) {
        await untilResumed();
        continue;
      }
      const signal = AbortSignal.any([ac.signal, paused.signal]);
      if (pool.latch() !== null) {
        o.log?.('hrng: latched after a health failure; resume with onepad hrng fill --resume');
        return;
      }
      if (pool.free() > 0) {
        const filler = new Filler({
          sources: createSources(config.hrng, { simulated: o.simulated, ...(o.binding ? { binding: o.binding } : {}) }),
          pool,
          events,
          ...fillerSettings(config.hrng),
        });
        const run = filler.run({
          signal,
          onOpened: () => {
            absent = [];
            setNotice(null);
          },
          knownAbsent: absent,
          onProgress: (p) => o.screen.showFillProgress(p),
        });
        fillRun = run.catch(() => undefined);
        const r = await run;
        // Stopping: the engine (and its ledger) may already be closed; touch nothing more.
        if (ac.signal.aborted) return;
        o.screen.showFillProgress(null);
        if (stopped) continue;
        if (r.state === 'failed') {
          const n = r.error ? sourceNotice(r.error) : null;
          absent = n && r.error?.code === 'HRNG_SOURCE_UNAVAILABLE' ? [String(r.error.details.source ?? '')] : [];
          if (n !== notice) o.log?.(`hrng: filling stopped: ${r.error?.code ?? 'failed'}${n ? ` (${n})` : ''}`);
          setNotice(n);
          if (pool.latch() === null) await sleepUnlessAborted(o.refillIdleMs ?? 5000, signal);
          continue;
        }
      }
      await sleepUnlessAborted(o.refillIdleMs ?? 5000, signal);
    }
  })().catch((e: unknown) => {
    // After a stop began, a failure is the engine's ledger closing under the filler: nothing to report.
    if (!ac.signal.aborted) o.log?.(`hrng: filling stopped: ${(e as { code?: string }).code ?? 'failed'}`);
  });

  let stopping: Promise<void> = Promise.resolve();
  o.screen.onJobsControl((action) => {
    if (action === 'stop') {
      stopped = true;
      paused.abort();
      // Once the step in progress is done, home shows where the burn really stopped (not where it was at the tap).
      stopping = o.engine.stopBurning().then(
        () => o.screen.refreshHome(),
        () => {},
      );
      o.log?.('background jobs stopped by the owner');
    } else {
      stopped = false;
      paused = new AbortController();
      wake?.();
      o.engine.resumeBurning();
      o.log?.('background jobs resumed by the owner');
    }
  });

  let pairing: Promise<unknown> = Promise.resolve();
  const mode = o.pairingMode ?? pairingModeFor(config.pairing);
  if (o.pairing !== false)
    o.screen.onPairRequest((role, signal) => {
      const combined = AbortSignal.any([signal, ac.signal]);
      // Pairing mode for exactly as long as this pairing runs: the firewall opens the cable to the other device
      // (and closes it to the laptop) while asked, and closes it again when asked or when its window runs out.
      pairing = (async () => {
        mode.open();
        try {
          return await pairOverLink({
            config,
            role,
            approver: o.screen.pairApprover,
            onProgress: (p) => {
              if (p.phase === 'transfer') o.screen.showPairingProgress(p.peer, p);
            },
            signal: combined,
            open: { ledger, events, pool },
          });
        } finally {
          mode.close();
        }
      })().then(
        (r) => o.log?.(`paired with ${r.contact}: pad ${r.padId}, ${r.size} bytes`),
        (e: unknown) => {
          const code = (e as { code?: string }).code ?? 'failed';
          events.record('PAIRING_FAILED', null, { code });
          o.log?.(`pairing failed: ${code}`);
          // A big partial pad was abandoned rather than burned in the error path: the engine's background burner
          // (one per data dir) burns it now.
          o.engine.startBurning();
        },
      );
      return pairing;
    });

  return {
    pool,
    hrngNotice: () => notice,
    async pairingSettled() {
      await pairing;
    },
    async jobsSettled() {
      await fillRun;
      await o.engine.burnSettled();
      await stopping;
    },
    async stop() {
      ac.abort();
      await filling;
      await pairing;
      pool.close();
    },
  };
}

/**
 * The home screen's line for a filler run that ended because a source is missing: "truerng absent, not filling"
 * (not found, no such file), "truerng unplugged, not filling" (lost while reading), "hwrng cannot be opened, not
 * filling" (permissions, busy); null for any other failure (a latched one is shown from the latch).
 */
export function sourceNotice(e: OnepadError): string | null {
  const source = String(e.details.source ?? 'HRNG').slice(0, 32);
  const reason = String(e.details.reason ?? '');
  if (e.code === 'HRNG_SOURCE_UNAVAILABLE') {
    const absent = reason === 'not found' || reason === 'ENOENT' || reason === 'ENODEV' || reason === 'ENXIO';
    return `${source} ${absent ? 'absent' : 'cannot be opened'}, not filling`;
  }
  if (e.code === 'HRNG_SOURCE_LOST') return `${source} unplugged, not filling`;
  return null;
}
