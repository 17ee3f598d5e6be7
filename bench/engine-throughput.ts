/**
 * The engine benchmark's throughput loop: A packages, B unpackages, timed apart, in slices interleaved with a raw
 * fdatasync loop in the same dir, counting syncs per call in-process (pad-file syncs + ledger commits).
 */
import { closeSync, fdatasyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceEngine } from '../device/engine.js';
import { padSyncCounter } from '../device/pad-file.js';
import { benchMessage, ledgerCommitCounter, makeBenchPair, openBenchEngine } from './engine-setup.js';

/** Upper bound of pairs in one throughput measurement. */
export const MAX_PAIRS = 20_000;
const WARMUP = 20;

const syncsNow = (): number => padSyncCounter.fdatasync + padSyncCounter.fsync + ledgerCommitCounter.commits;
const seconds = (t0: number): number => (performance.now() - t0) / 1000;

/** Count of 64-byte in-place writes each followed by fdatasync, in `dir`, for about `secs` seconds. */
export function rawSyncs(dir: string, secs: number): { n: number; secs: number } {
  const path = join(dir, 'raw-sync.bin');
  const fd = openSync(path, 'w', 0o600);
  const buf = new Uint8Array(4096);
  try {
    writeSync(fd, buf, 0, buf.length, 0);
    fdatasyncSync(fd);
    let n = 0;
    const t0 = performance.now();
    while (seconds(t0) < secs) {
      writeSync(fd, buf, 0, 64, (n * 64) % buf.length);
      fdatasyncSync(fd);
      n++;
    }
    return { n, secs: seconds(t0) };
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
}

/** How a throughput run is sliced: engine slices, with a raw-sync slice before each and one after the last. */
export interface Slicing {
  readonly slices: number;
  readonly engineSeconds: number;
  /** 0: no raw slices. */
  readonly rawSeconds: number;
}

export interface Throughput {
  readonly pairs: number;
  readonly packagePerSecond: number;
  readonly unpackagePerSecond: number;
  readonly pairsPerSecond: number;
  /** In-process count (pad-file syncs + ledger commits) per call. */
  readonly packageSyncs: number;
  readonly unpackageSyncs: number;
  /** Raw fdatasync rate over all raw slices, and the slowest and fastest slice. */
  readonly raw: { readonly rate: number; readonly min: number; readonly max: number; readonly slices: number };
}

/**
 * A packages, B unpackages, for at most MAX_PAIRS pairs, in time slices interleaved with raw fdatasync slices
 * (the disk is shared, so the raw rate is measured under the same load); each side's time is summed apart.
 */
export async function throughput(work: string, burn: boolean, slicing: Slicing, length: number): Promise<Throughput> {
  const pair = makeBenchPair(work, 2 * (MAX_PAIRS + WARMUP) * (length + 32) + 1024, length);
  let a: DeviceEngine | undefined;
  let b: DeviceEngine | undefined;
  try {
    a = openBenchEngine(pair.dirA, 'alice', burn);
    b = openBenchEngine(pair.dirB, 'bob', burn);
    for (let i = 0; i < WARMUP; i++) await b.unpackage((await a.package('bob', benchMessage(length, i))).package);
    let pairs = 0;
    let packTime = 0;
    let unpackTime = 0;
    let packSyncs = 0;
    let unpackSyncs = 0;
    const raw = { n: 0, secs: 0, min: Number.POSITIVE_INFINITY, max: 0, slices: 0 };
    const rawSlice = () => {
      if (slicing.rawSeconds <= 0) return;
      const r = rawSyncs(work, slicing.rawSeconds);
      raw.n += r.n;
      raw.secs += r.secs;
      raw.slices++;
      raw.min = Math.min(raw.min, r.n / r.secs);
      raw.max = Math.max(raw.max, r.n / r.secs);
    };
    for (let slice = 0; slice < slicing.slices && pairs < MAX_PAIRS; slice++) {
      rawSlice();
      const start = performance.now();
      while (pairs < MAX_PAIRS && seconds(start) < slicing.engineSeconds) {
        const msg = benchMessage(length, pairs);
        const s0 = syncsNow();
        const t0 = performance.now();
        const pkg = (await a.package('bob', msg)).package;
        const t1 = performance.now();
        const s1 = syncsNow();
        await b.unpackage(pkg);
        const t2 = performance.now();
        packSyncs += s1 - s0;
        unpackSyncs += syncsNow() - s1;
        packTime += t1 - t0;
        unpackTime += t2 - t1;
        pairs++;
      }
    }
    rawSlice();
    return {
      pairs,
      packagePerSecond: pairs / (packTime / 1000),
      unpackagePerSecond: pairs / (unpackTime / 1000),
      pairsPerSecond: pairs / ((packTime + unpackTime) / 1000),
      packageSyncs: packSyncs / pairs,
      unpackageSyncs: unpackSyncs / pairs,
      raw: { rate: raw.secs > 0 ? raw.n / raw.secs : Number.NaN, min: raw.min, max: raw.max, slices: raw.slices },
    };
  } finally {
    a?.close();
    b?.close();
    pair.cleanup();
  }
}
