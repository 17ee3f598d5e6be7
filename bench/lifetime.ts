/**
 * Lifetime pads: how the long jobs grow with the pad's size, each next to a raw synced write of the same disk
 * measured in the same run. `ONEPAD_BENCH_LIFETIME_MB` (default 256; at most 4096) sets the pad size; run it at
 * 256, 1024 and 4096 to see the growth, and extrapolate to 1 TB from the per-byte figures.
 *
 * - raw synced write of min(size, 512 MiB) (fsync at the end): the baseline;
 * - `create-pair --seed` of the size: both copies written side by side (so 2 × size bytes reach the disk);
 * - start-up with an orphan pad of the size in the data dir (DeviceEngine.open), next to an open with none: the
 *   start-up work must not grow with the pad;
 * - burning the abandoned orphan in the background: min(size, 512 MiB) of it, then stopped (resumable).
 *
 * Bytes written per run: 2 × size + 2 × min(size, 512 MiB), under 10 GB at 4 GiB. ONEPAD_BENCH_DIR moves it.
 */
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../device/config/config.js';
import { prepareDataDir } from '../device/data-dir.js';
import { DeviceEngine } from '../device/engine.js';
import { burnAbandoned, listBurning } from '../device/pad-burner.js';
import { padFilePath } from '../device/pad-file.js';
import { createPadPairAsync } from '../device/pad-pair.js';
import { timeSyncedWrite } from './pairing-disk.js';
import type { Reporter } from './report.js';

const MB = 1e6;
const MIB = 1 << 20;

function sizeFromEnv(): number {
  const mib = Number(process.env.ONEPAD_BENCH_LIFETIME_MB ?? '256');
  if (!Number.isInteger(mib) || mib < 64 || mib > 4096) {
    throw new RangeError('ONEPAD_BENCH_LIFETIME_MB must be a whole number of MiB between 64 and 4096');
  }
  return mib * MIB;
}

function openEngine(dir: string): { engine: DeviceEngine; ms: number } {
  const t0 = performance.now();
  const engine = DeviceEngine.open({
    config: parseConfig({ dataDir: dir, device: { simulated: true } }),
    confirmer: { confirm: async () => 'approved' },
  });
  return { engine, ms: performance.now() - t0 };
}

/** Run the lifetime benchmark. */
export async function run(report: Reporter): Promise<void> {
  const size = sizeFromEnv();
  const part = Math.min(size, 512 * MIB);
  const root = mkdtempSync(join(process.env.ONEPAD_BENCH_DIR ?? tmpdir(), 'onepad-bench-life-'));
  const label = `${size / MIB} MiB`;
  try {
    report.info(`lifetime: ${label} pad; load average at start ${loadavg()[0]?.toFixed(2)} (the machine is shared)`);
    const raw = part / MB / timeSyncedWrite(root, part, false);
    report.figure({
      bench: 'lifetime',
      name: `raw synced write, ${part / MIB} MiB`,
      value: raw,
      unit: 'MB/s',
      note: '1 MiB writes, fsync at the end; the baseline',
    });
    const baseline = { name: 'raw synced write', value: raw, unit: 'MB/s' };

    // --- create-pair, both copies side by side -----------------------------------------------------------
    const a = join(root, 'a');
    const b = join(root, 'b');
    const t0 = performance.now();
    const { padId } = await createPadPairAsync({
      dirA: a,
      dirB: b,
      nameA: 'alice',
      nameB: 'bob',
      size,
      source: { kind: 'seeded', seed: 'lifetime bench' },
    });
    const seconds = (performance.now() - t0) / 1000;
    const diskRate = (2 * size) / MB / seconds;
    report.figure({
      bench: 'lifetime',
      name: `create-pair --seed ${label}: bytes reaching the disk (both copies)`,
      value: diskRate,
      unit: 'MB/s',
      baseline,
      ratio: diskRate / raw,
      note: `${seconds.toFixed(1)} s for the pair; pad rate ${(size / MB / seconds).toFixed(1)} MB/s; ${((seconds / size) * 1e12).toFixed(0)} s per TB of pad at this rate`,
    });
    rmSync(a, { recursive: true, force: true });

    // --- start-up with an orphan of this size ---------------------------------------------------------------
    const empty = join(root, 'empty');
    prepareDataDir(empty);
    const none = openEngine(empty);
    none.engine.close();
    const orphanDir = join(root, 'orphan');
    const orphanPads = prepareDataDir(orphanDir).pads;
    renameSync(padFilePath(join(b, 'pads'), padId), padFilePath(orphanPads, padId)); // no ledger row there
    const withOrphan = openEngine(orphanDir);
    withOrphan.engine.close(); // stops the background burn after its first step
    await withOrphan.engine.burnSettled();
    report.figure({
      bench: 'lifetime',
      name: `start-up (DeviceEngine.open) with a ${label} orphan pad`,
      value: withOrphan.ms,
      unit: 'ms',
      baseline: { name: 'open with no orphan', value: none.ms, unit: 'ms' },
      ratio: withOrphan.ms / none.ms,
      note: 'the orphan is renamed .burn (one rename), not overwritten: independent of its size',
    });

    // --- background burn of the orphan: part of it, then stopped (resumable) --------------------------------
    const left0 = listBurning(orphanPads)[0]?.left ?? 0;
    const ac = new AbortController();
    const b0 = performance.now();
    let burned = 0;
    let first = -1;
    await burnAbandoned(orphanPads, {
      signal: ac.signal,
      onProgress: (p) => {
        if (first < 0) first = p.bytes;
        burned = p.bytes - first;
        if (burned >= part) ac.abort();
      },
    });
    const burnRate = burned / MB / ((performance.now() - b0) / 1000);
    report.figure({
      bench: 'lifetime',
      name: `background burn of the ${label} orphan (${(burned / MIB).toFixed(0)} MiB of it)`,
      value: burnRate,
      unit: 'MB/s',
      baseline,
      ratio: burnRate / raw,
      note: `overwrite 64 MiB + fdatasync + truncate per step; ${left0 / MIB} MiB were left; ${(1e12 / MB / burnRate / 3600).toFixed(2)} h per TB at this rate`,
    });
    report.info(`lifetime: load average at end ${loadavg()[0]?.toFixed(2)}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
