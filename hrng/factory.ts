import type { BindingInterface } from '@serialport/bindings-cpp';
import { OnepadError } from '../device/errors.js';
import type { HrngConfig, HrngSourceConfig } from './config-section.js';
import type { FillerOptions } from './filler.js';
import { HwrngSource } from './hwrng-source.js';
import { PROFILES, SerialSource } from './serial-source.js';
import { SimSource } from './sim-source.js';
import type { RawSource } from './source.js';

/** What the factory needs from outside. */
export interface SourceDeps {
  /** The serialport binding (`autoDetect()` of @serialport/bindings-cpp on the device). */
  readonly binding?: BindingInterface;
  /**
   * The device runs simulated (config `device.simulated`): every configured source is replaced by a simulated
   * one with a seed derived from its own, so no hardware is touched. Its bytes are insecure.
   */
  readonly simulated: boolean;
}

/**
 * Build one source from its config.
 *
 * @throws OnepadError HRNG_SOURCE_UNAVAILABLE for a serial source when no binding was given
 */
export function createSource(cfg: HrngSourceConfig, deps: SourceDeps, index = 0): RawSource {
  const name = cfg.name || (deps.simulated && cfg.kind !== 'simulated' ? `sim-${cfg.kind}` : cfg.kind);
  const claimedH = cfg.claimedH > 0 ? cfg.claimedH : undefined;
  if (deps.simulated || cfg.kind === 'simulated') {
    return new SimSource({
      seed: cfg.kind === 'simulated' ? cfg.seed : `${cfg.seed}/${index}/${cfg.kind}`,
      name,
      ...(claimedH !== undefined ? { claimedH } : {}),
      bytesPerSecond: cfg.bytesPerSecond,
      minBytesPerSecond: cfg.minBytesPerSecond,
    });
  }
  if (cfg.kind === 'hwrng') {
    return new HwrngSource({
      name,
      ...(cfg.path ? { path: cfg.path } : {}),
      ...(claimedH !== undefined ? { claimedH } : {}),
      minBytesPerSecond: cfg.minBytesPerSecond,
    });
  }
  if (!deps.binding) {
    throw new OnepadError('HRNG_SOURCE_UNAVAILABLE', { source: name, reason: 'no serial binding' });
  }
  return new SerialSource(deps.binding, {
    profile: cfg.kind,
    name,
    ...(cfg.path ? { path: cfg.path } : {}),
    ...(cfg.usbId ? { usbId: cfg.usbId } : {}),
    ...(claimedH !== undefined ? { claimedH } : {}),
    minBytesPerSecond: cfg.minBytesPerSecond || Math.floor(PROFILES[cfg.kind].nominalBytesPerSecond / 10),
    onerngMode: cfg.onerngMode,
    baudRate: cfg.baudRate,
  });
}

/**
 * Build every configured source, in order.
 *
 * @throws OnepadError HRNG_SOURCE_UNAVAILABLE for a serial source when no binding was given
 */
export function createSources(cfg: HrngConfig, deps: SourceDeps): RawSource[] {
  return cfg.sources.map((s, i) => createSource(s, deps, i));
}

/** The filler settings the `hrng` config section gives. */
export function fillerSettings(
  cfg: HrngConfig,
): Pick<FillerOptions, 'alphaLog2' | 'chunkBytes' | 'stallTimeoutMs' | 'rateWindowMs'> {
  return {
    alphaLog2: cfg.alphaLog2,
    chunkBytes: cfg.chunkBytes,
    stallTimeoutMs: cfg.stallTimeoutMs,
    rateWindowMs: cfg.rateWindowMs,
  };
}

/** True when the configured sources need a serialport binding (a USB HRNG on real hardware). */
export function needsSerial(cfgs: readonly HrngSourceConfig[], simulated: boolean): boolean {
  return !simulated && cfgs.some((c) => c.kind === 'truerng' || c.kind === 'onerng');
}
